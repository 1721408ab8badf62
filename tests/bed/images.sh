#!/usr/bin/env bash
# Machine images for the test bed: build [all|bookworm|trixie|bookworm-docker|trixie-docker].
#
# No container registry is reachable, so images are made from Debian's archive:
#   dockyard/machine:SUITE         debootstrap + systemd + sshd, imported with `docker import`
#   dockyard/machine:SUITE-docker  the same with Debian's docker.io installed (for "Docker is
#                                  already there" creates), made with `docker commit`
# Every image carries the label dockyard.recipe, a hash of the recipe that made it (the package
# list and the bodies of the functions below that shape the image). A build is skipped when the
# image exists with the current hash, so editing a recipe function rebuilds exactly what it
# affects, while comments, progress lines and the archive's own updates do not.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bed/machines.sh
source "$HERE/machines.sh"

REPO=dockyard/machine
# Where debootstrap downloads from; the images' own apt sources always name deb.debian.org.
MIRROR=${DOCKYARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=systemd,systemd-sysv,dbus,openssh-server,python3,sudo,ca-certificates,curl,iproute2,procps
SUITES=(bookworm trixie)

T0=$SECONDS
say() { printf 'images: [%4ds] %s\n' "$((SECONDS - T0))" "$*"; }
die() { echo "images.sh: $*" >&2; exit 1; }

recipe_hash() {
    # What the image is made of; a change here must change the hash.
    case $1 in
        *-docker) printf '%s\n' "$(recipe_hash "${1%-docker}")"; declare -f install_docker ;;
        *) printf '%s\n' "$1" "$PACKAGES"; declare -f configure_rootfs write_apt_sources ;;
    esac | sha256sum | cut -c1-16
}

current() {
    local tag=$1 want=$2 have
    have=$(docker image inspect -f '{{index .Config.Labels "dockyard.recipe"}}' "$REPO:$tag" 2>/dev/null) || return 1
    [[ $have == "$want" ]]
}

write_apt_sources() {
    local root=$1 suite=$2
    rm -f "$root/etc/apt/sources.list"
    # deb822 style: the default from trixie on, and understood by bookworm's apt.
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

configure_rootfs() {
    local root=$1 suite=$2
    write_apt_sources "$root" "$suite"

    # Root logs in with a key and nothing else (the collection provisions as root, like the
    # original's generic driver). sshd takes the first value it reads, and the stock
    # sshd_config includes sshd_config.d/*.conf on its first line.
    cat >"$root/etc/ssh/sshd_config.d/dockyard.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF

    # Host keys are made on each machine's first boot, never baked into the image: every
    # machine must present its own, or host-key pinning tests prove nothing. Debian's
    # ssh.service only checks for keys (sshd -t); trixie has sshd-keygen.service, but only on a
    # "first boot", so one unit that runs whenever a key is missing serves both suites.
    rm -f "$root"/etc/ssh/ssh_host_*
    cat >"$root/etc/systemd/system/dockyard-ssh-hostkeys.service" <<'EOF'
[Unit]
Description=Generate this machine's SSH host keys
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
RequiredBy=ssh.service
EOF
    # `systemctl enable` is just this symlink; made by hand because trixie's systemctl complains
    # in a chroot without /proc.
    mkdir -p "$root/etc/systemd/system/ssh.service.requires"
    ln -sf ../dockyard-ssh-hostkeys.service "$root/etc/systemd/system/ssh.service.requires/"

    # Network sysctls writable, as on a VM. Docker leaves /proc/sys read-only in an unprivileged
    # container, and Docker 26 (trixie's) fails every container start when it cannot turn IPv6
    # off on the container's interface. Only /proc/sys/net is made writable: in the machine's
    # own network namespace those settings are the machine's, while the rest of /proc/sys
    # (kernel.core_pattern, ...) belongs to the host and stays read-only.
    cat >"$root/etc/systemd/system/dockyard-proc-sys-net.service" <<'EOF'
[Unit]
Description=Make this machine's network sysctls writable
DefaultDependencies=no
ConditionPathIsReadWrite=!/proc/sys/net
Before=sysinit.target systemd-sysctl.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/mount --bind /proc/sys/net /proc/sys/net
ExecStart=/bin/mount -o remount,bind,rw /proc/sys/net

[Install]
WantedBy=sysinit.target
EOF
    mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
    ln -sf ../dockyard-proc-sys-net.service "$root/etc/systemd/system/sysinit.target.wants/"

    # An empty machine-id: systemd makes a new one at each container's boot (so every machine
    # and its journal have their own), and D-Bus reads the same file.
    : >"$root/etc/machine-id"
    ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"
    echo dockyard-machine >"$root/etc/hostname"
    # Docker provides /etc/resolv.conf; debootstrap copied the build host's into the image.
    rm -f "$root/etc/resolv.conf"

    # Units that fail in a container (found with `systemctl --failed` after a boot): a
    # container cannot load kernel modules, and trixie's systemd-modules-load fails trying
    # ("Failed to initialize libkmod context"). Masking is this symlink.
    ln -sf /dev/null "$root/etc/systemd/system/systemd-modules-load.service"

    # Downloaded packages and stale package lists only make the image bigger. So any install on
    # a machine must run apt-get update first, which is what a provisioner does anyway.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
}

need_debootstrap() {
    command -v debootstrap >/dev/null && return
    say "installing debootstrap"
    # A fresh machine has no package lists yet.
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
}

build_base() {
    local suite=$1 hash root
    hash=$(recipe_hash "$suite")
    if current "$suite" "$hash"; then
        say "$REPO:$suite is current ($hash)"
        return
    fi
    need_debootstrap
    root=$(mktemp -d /var/tmp/dockyard-rootfs-"$suite".XXXXXX)
    # shellcheck disable=SC2064  # expand now: the trap must remove this build's folder
    trap "rm -rf '$root'" EXIT
    say "$suite: debootstrap from $MIRROR"
    local log=$root.log
    if ! debootstrap --variant=minbase --include="$PACKAGES" "$suite" "$root" "$MIRROR" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "$suite: debootstrap failed (log: $log)"
    fi
    rm -f "$log"
    say "$suite: configuring"
    configure_rootfs "$root" "$suite"
    say "$suite: importing ($(du -sh "$root" | cut -f1))"
    tar -C "$root" --numeric-owner -c . \
        | docker import -c 'CMD ["/sbin/init"]' -c "LABEL dockyard.recipe=$hash" - "$REPO:$suite" >/dev/null
    rm -rf "$root"
    trap - EXIT
    say "$REPO:$suite built ($hash)"
}

install_docker() {
    local container=$1 image=$2
    # The install runs in a plain container, not a booted machine: a boot would write this one
    # container's machine-id, SSH host keys and journal into the image, and every machine made
    # from it would share them. Nothing here needs systemd running: maintainer scripts enable
    # units offline and only reload or start them when systemd is PID 1. policy-rc.d is there
    # anyway so nothing is started (a started engine 20.10 writes its ID, /etc/docker/key.json).
    # No recommends (git, apparmor, needrestart are not needed to run an engine), except the
    # client: from trixie on it is its own package, docker-cli, which docker.io only recommends.
    docker run --name "$container" --network "$BED_NETWORK" "$image" sh -euc '
        printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        packages=docker.io
        if apt-cache show docker-cli >/dev/null 2>&1; then packages="$packages docker-cli"; fi
        apt-get install -y -q --no-install-recommends $packages
        rm -f /usr/sbin/policy-rc.d
        test -L /etc/systemd/system/multi-user.target.wants/docker.service
        command -v docker
        apt-get clean
        rm -rf /var/lib/apt/lists/*
        test ! -s /etc/machine-id
        ! ls /etc/ssh/ssh_host_* 2>/dev/null'
}

build_docker() {
    local suite=$1 tag=$1-docker hash container
    build_base "$suite"
    hash=$(recipe_hash "$tag")
    if current "$tag" "$hash"; then
        say "$REPO:$tag is current ($hash)"
        return
    fi
    container=dockyard-build-$tag
    docker rm -f "$container" >/dev/null 2>&1 || true
    bed_network
    # shellcheck disable=SC2064  # expand now
    trap "docker rm -f -v '$container' >/dev/null 2>&1 || true" EXIT
    say "$tag: apt-get install docker.io"
    local log
    log=$(mktemp /var/tmp/dockyard-"$tag".XXXXXX.log)
    if ! install_docker "$container" "$REPO:$suite" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "$tag: installing docker.io failed (log: $log)"
    fi
    rm -f "$log"
    say "$tag: committing"
    # The run's command is replaced by the machine's /sbin/init. Docker's bind mounts
    # (/etc/hostname, /etc/hosts, /etc/resolv.conf) are not part of the container's layer.
    docker commit -c 'CMD ["/sbin/init"]' -c "LABEL dockyard.recipe=$hash" "$container" "$REPO:$tag" >/dev/null
    docker rm -f -v "$container" >/dev/null
    trap - EXIT
    say "$REPO:$tag built ($hash)"
}

build() {
    case $1 in
        bookworm | trixie) build_base "$1" ;;
        bookworm-docker | trixie-docker) build_docker "${1%-docker}" ;;
        *) die "unknown image $1 (all, ${SUITES[*]}, bookworm-docker, trixie-docker)" ;;
    esac
}

build_all() {
    # The two suites are independent: build them side by side (about half the wall time; the
    # work is mostly waiting for downloads and dpkg).
    local suite pids=() failed=0
    # Installed once up front: two parallel apt-get runs would fight over dpkg's lock.
    for suite in "${SUITES[@]}"; do
        current "$suite" "$(recipe_hash "$suite")" || need_debootstrap
    done
    for suite in "${SUITES[@]}"; do
        build "$suite-docker" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    ((failed == 0)) || die "some images failed to build"
    say "all images ready"
}

case ${1:-} in
    build)
        docker info >/dev/null 2>&1 || die "no Docker engine (bash tests/bed/engine.sh start)"
        # One build at a time on this engine (test processes call this in parallel): a second
        # build would remove the first one's build container. It waits, then finds the images
        # current.
        exec 9>>/var/tmp/dockyard-bed-images.lock
        if ! flock -n 9; then
            say "waiting for another images.sh build"
            flock -w 1800 9 || die "another images.sh build held the lock for 30 minutes"
        fi
        target=${2:-all}
        if [[ $target == all ]]; then build_all; else build "$target"; fi
        # Images a changed recipe replaced are left untagged; only ours carry dockyard.recipe.
        docker image prune -f --filter label=dockyard.recipe >/dev/null ;;
    *) echo "usage: $0 build [all|bookworm|trixie|bookworm-docker|trixie-docker]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Machine containers for the test bed: start | stop | rm-all | ip | restart-on | exec.
#
# A "machine" is a systemd container (DESIGN §9) that the host reaches on its own loopback address,
# like a cloud VM on its public IP: SSH on IP:22, the Docker engine (once the collection sets it
# up) on IP:2376.
#
# Each machine is two containers on the user-defined network "dockyard-bed":
#   dockyard-NAME        the machine itself; it publishes no port.
#   dockyard-NAME-relay  a byte relay (python3 from the machine's own image) that publishes IP:22
#                        and IP:2376 and forwards each connection to dockyard-NAME on the same port.
# Why the relay: Docker cannot change a container's published ports, and the tests need "the same
# machine comes back on another address" (a stopped-and-started cloud VM). With the relay,
# restart-on replaces only the relay: the machine keeps its filesystem, its /var/lib/docker
# volume, its host keys and its running processes, and only the address the host sees changes.
# The alternatives were worse: a netns-holder container that the machine joins with
# --network container:X breaks because Docker records the holder's ID, so a new holder cannot be
# joined; `docker commit` plus a new container copies the whole machine and loses running state;
# host iptables DNAT leaves rules outside Docker's bookkeeping that a crashed run never removes.
# The relay adds one hop, which is what docker-proxy already does for every loopback-published
# port, and a connection before the machine's service listens is accepted then closed, which is
# also what docker-proxy does.
#
# Why a user-defined network and not the default bridge: a second dockerd started with
# `--bridge none` deletes the host's docker0 interface, which breaks every container on the
# default bridge; user-defined bridges (br-*) are not touched. It also gives the relay
# Docker's DNS, so it can reach the machine by container name.
#
# This file is also sourced by images.sh (for the same run flags and readiness wait); the
# command dispatch at the bottom runs only when it is executed.
set -euo pipefail

BED_NETWORK=dockyard-bed
BED_LABEL=dockyard.bed=1
BED_WAIT=${DOCKYARD_BED_WAIT:-60}

# DESIGN §9: --privileged fails on the build machines (the sandbox lacks CAP_SYS_RESOURCE), so
# the machine gets every other capability systemd and Docker-in-Docker need.
BED_CAPS=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
    NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT
    SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE
    AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ)
BED_MACHINE_FLAGS=()
for _cap in "${BED_CAPS[@]}"; do BED_MACHINE_FLAGS+=(--cap-add "$_cap"); done
unset _cap
# The anonymous volume on /var/lib/docker lets Docker-in-Docker use overlay2 (DESIGN §9).
# SIGRTMIN+3 is systemd's "halt": with Docker's default SIGTERM, systemd re-executes itself and
# `docker stop` waits its full timeout before killing it. (`docker import` cannot set STOPSIGNAL
# in the image on engine 20.10, so it is a run flag.)
BED_MACHINE_FLAGS+=(--security-opt seccomp=unconfined --security-opt apparmor=unconfined
    --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw -v /var/lib/docker
    --tmpfs /run --tmpfs /run/lock --stop-signal SIGRTMIN+3)

# The relay, run as `python3 -c RELAY TARGET PORT...`. Half-closes are passed on (write_eof), not
# turned into closes: `docker exec`/`attach` over TLS and `ssh` with a closed stdin rely on them.
# shellcheck disable=SC2016  # Python source, not shell: nothing here is meant to expand
BED_RELAY='
import asyncio, functools, sys

TARGET = sys.argv[1]


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()


async def handle(port, client_reader, client_writer):
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(TARGET, port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))
    upstream_writer.close()
    client_writer.close()


async def main():
    servers = [await asyncio.start_server(functools.partial(handle, int(port)), "0.0.0.0", int(port))
               for port in sys.argv[2:]]
    print("relay ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


asyncio.run(main())
'

die() { echo "machines.sh: $*" >&2; exit 1; }

machine_container() { echo "dockyard-$1"; }
relay_container() { echo "dockyard-$1-relay"; }

exists() { docker container inspect "$1" >/dev/null 2>&1; }

bed_network() {
    # Docker lets two networks share a name, and then refuses to use either ("ambiguous"): builds and
    # starts that run side by side create it under one lock.
    (
        flock -w 120 8 || die "another process held $BED_NETWORK's lock for 2 minutes"
        docker network inspect "$BED_NETWORK" >/dev/null 2>&1 \
            || docker network create --label "$BED_LABEL" "$BED_NETWORK" >/dev/null
    ) 8>"${TMPDIR:-/tmp}/dockyard-bed-network.lock"
}

check_ip() {
    # The test network rule: nothing but 127.0.0.0/8. The whole /8 is local on Linux (lo carries
    # 127.0.0.1/8), so Docker can publish on any 127.x address without `ip addr add`.
    [[ $1 =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || die "not a 127.0.0.0/8 address: $1"
    local part
    for part in "${BASH_REMATCH[@]:1}"; do ((part <= 255)) || die "not an IPv4 address: $1"; done
}

# Wait until systemd in CONTAINER has finished booting (running, or degraded: some unit failed)
# or DEADLINE (a $SECONDS value) passes. Prints the final state.
bed_wait_system() {
    local container=$1 deadline=$2 state=
    while :; do
        state=$(docker exec "$container" systemctl is-system-running 2>/dev/null || true)
        case $state in
            running | degraded) echo "$state"; return 0 ;;
        esac
        if ((SECONDS >= deadline)); then
            echo "machines.sh: $container: systemd still '${state:-unreachable}' after ${BED_WAIT}s" >&2
            return 1
        fi
        sleep 0.5
    done
}

ssh_login() {
    local ip=$1 key=$2
    ssh -i "$key" -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=5 -o LogLevel=ERROR \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "root@$ip" true </dev/null 2>/dev/null
}

ssh_banner() {
    # Without a private key to log in with, an SSH identification string is the best sign of life.
    local banner
    # shellcheck disable=SC2016  # $0 is expanded by the inner bash, which gets the address as $0
    banner=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/22" && head -c 4 <&3' "$1" 2>/dev/null) || return 1
    [[ $banner == SSH- ]]
}

# Wait for sshd on IP: a key login when the private half of PUBKEY exists, else a banner.
wait_ssh() {
    local name=$1 ip=$2 pubkey=$3 deadline=$4 private=${3%.pub}
    while :; do
        if [[ -n $pubkey && $private != "$pubkey" && -f $private ]]; then
            ssh_login "$ip" "$private" && return 0
        else
            ssh_banner "$ip" && return 0
        fi
        if ((SECONDS >= deadline)); then
            echo "machines.sh: $name: no SSH login on $ip:22 after ${BED_WAIT}s" >&2
            return 1
        fi
        sleep 0.5
    done
}

diagnose() {
    local container=$1
    exists "$container" || return 0
    {
        echo "--- $container: failed units"
        docker exec "$container" systemctl --failed --no-pager 2>&1 || true
        echo "--- $container: last journal lines"
        docker exec "$container" journalctl -b --no-pager -n 30 2>&1 || true
        echo "--- $container: docker logs"
        docker logs --tail 20 "$container" 2>&1 || true
    } >&2
}

# Ports relayed besides 22 and 2376 (start --port, kept by restart-on), for services the machine runs.
run_relay() {
    local name=$1 image=$2 ip=$3 relayed=(22 2376) extra=() port publish=()
    read -r -a extra <<<"${4:-}"
    relayed+=("${extra[@]}")
    for port in "${relayed[@]}"; do publish+=(-p "$ip:$port:$port"); done
    docker run -d --name "$(relay_container "$name")" --label "$BED_LABEL" --label dockyard.bed.role=relay \
        --label "dockyard.bed.machine=$name" --label "dockyard.bed.ports=${4:-}" --network "$BED_NETWORK" \
        "${publish[@]}" --entrypoint python3 "$image" -c "$BED_RELAY" "$(machine_container "$name")" "${relayed[@]}" >/dev/null
}

# Failed units on a degraded machine, for the final line: a hint, not an error.
failed_units() {
    docker exec "$1" systemctl list-units --failed --plain --no-legend 2>/dev/null | awk '{print $1}' | paste -sd, -
}

ready_line() {
    local name=$1 ip=$2 state=$3 started=$4 note=
    [[ $state == degraded ]] && note=" (degraded: $(failed_units "$(machine_container "$name")"))"
    echo "machine $name: ssh root@$ip ready in $((SECONDS - started))s$note"
}

STARTING=''
abandon_start() {
    [[ -n $STARTING ]] || return 0
    diagnose "$(machine_container "$STARTING")"
    [[ ${DOCKYARD_BED_KEEP:-} == 1 ]] || cmd_stop "$STARTING"
}

cmd_start() {
    local name='' image='' ip='' pubkey='' ports=''
    while (($#)); do
        case $1 in
            --key) pubkey=${2:?--key needs a file}; shift 2 ;;
            --port)
                [[ ${2:-} =~ ^[0-9]{1,5}$ && $2 -gt 0 && $2 -lt 65536 ]] || die "--port needs a TCP port"
                ports="${ports:+$ports }$2"; shift 2 ;;
            -*) die "unknown option $1" ;;
            *)
                if [[ -z $name ]]; then name=$1
                elif [[ -z $image ]]; then image=$1
                elif [[ -z $ip ]]; then ip=$1
                else die "too many arguments"; fi
                shift ;;
        esac
    done
    [[ -n $ip ]] || die "usage: start NAME IMAGE IP [--key PUBKEY_FILE] [--port PORT]..."
    [[ $name =~ ^[a-zA-Z0-9][a-zA-Z0-9.-]*$ && $name != *-relay ]] || die "bad machine name: $name"
    check_ip "$ip"
    if [[ -n $pubkey ]]; then
        [[ -f $pubkey ]] || die "no such key file: $pubkey"
        pubkey=$(realpath "$pubkey")
    fi
    local machine started=$SECONDS
    machine=$(machine_container "$name")
    exists "$machine" && die "$machine already exists (machines.sh stop $name)"
    docker image inspect "$image" >/dev/null 2>&1 || die "no image $image (images.sh build)"
    bed_network

    # From here on a failure removes what was made, after saying why (unless DOCKYARD_BED_KEEP=1).
    # An EXIT trap, not ERR: set -e exits from inside functions, where an ERR trap does not reach.
    STARTING=$name
    trap abandon_start EXIT
    docker run -d --name "$machine" --hostname "$name" --label "$BED_LABEL" --label dockyard.bed.role=machine \
        --label "dockyard.bed.key=$pubkey" --network "$BED_NETWORK" \
        "${BED_MACHINE_FLAGS[@]}" "$image" >/dev/null
    if [[ -n $pubkey ]]; then
        docker exec -i "$machine" sh -c 'umask 077 && mkdir -p /root/.ssh &&
            cat >/root/.ssh/authorized_keys && chmod 700 /root/.ssh && chmod 600 /root/.ssh/authorized_keys' <"$pubkey"
    fi
    run_relay "$name" "$image" "$ip" "$ports"
    local deadline=$((SECONDS + BED_WAIT)) state
    state=$(bed_wait_system "$machine" "$deadline")
    wait_ssh "$name" "$ip" "$pubkey" "$deadline"
    STARTING=''
    trap - EXIT
    ready_line "$name" "$ip" "$state" "$started"
}

cmd_stop() {
    local name=${1:?usage: stop NAME}
    # -v: the machine's anonymous /var/lib/docker volume goes with it.
    docker rm -f -v "$(machine_container "$name")" "$(relay_container "$name")" >/dev/null 2>&1 || true
}

cmd_rm_all() {
    local ids
    ids=$(docker ps -aq --filter "label=$BED_LABEL")
    [[ -z $ids ]] && return 0
    # shellcheck disable=SC2086  # one container ID per word
    docker rm -f -v $ids >/dev/null
    echo "removed $(wc -w <<<"$ids") test bed container(s)"
}

cmd_ip() {
    local name=${1:?usage: ip NAME} relay
    relay=$(relay_container "$name")
    exists "$relay" || die "no machine $name"
    docker container inspect -f '{{(index (index .HostConfig.PortBindings "22/tcp") 0).HostIp}}' "$relay"
}

cmd_restart_on() {
    local name=${1:?usage: restart-on NAME NEWIP} ip=${2:?usage: restart-on NAME NEWIP}
    check_ip "$ip"
    local machine relay image pubkey ports started=$SECONDS
    machine=$(machine_container "$name")
    relay=$(relay_container "$name")
    exists "$machine" || die "no machine $name"
    image=$(docker container inspect -f '{{.Config.Image}}' "$machine")
    pubkey=$(docker container inspect -f '{{index .Config.Labels "dockyard.bed.key"}}' "$machine")
    ports=$(docker container inspect -f '{{index .Config.Labels "dockyard.bed.ports"}}' "$relay" 2>/dev/null || true)
    # The old address stops answering before the new one exists, as with a VM that got a new IP.
    docker rm -f "$relay" >/dev/null 2>&1 || true
    run_relay "$name" "$image" "$ip" "$ports"
    local deadline=$((SECONDS + BED_WAIT)) state
    state=$(bed_wait_system "$machine" "$deadline") || { diagnose "$machine"; exit 1; }
    wait_ssh "$name" "$ip" "$pubkey" "$deadline" || { diagnose "$machine"; exit 1; }
    ready_line "$name" "$ip" "$state" "$started"
}

cmd_exec() {
    local name=${1:?usage: exec NAME CMD...}
    shift
    (($#)) || die "usage: exec NAME CMD..."
    exec docker exec -i "$(machine_container "$name")" "$@"
}

usage() {
    cat >&2 <<'EOF'
usage: machines.sh start NAME IMAGE IP [--key PUBKEY_FILE] [--port PORT]...
       machines.sh stop NAME
       machines.sh rm-all    (every test bed container on this engine, other runs' too)
       machines.sh ip NAME
       machines.sh restart-on NAME NEWIP
       machines.sh exec NAME CMD...
EOF
    exit 2
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    command=${1:-}
    (($#)) && shift
    case $command in
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        rm-all) cmd_rm_all ;;
        ip) cmd_ip "$@" ;;
        restart-on) cmd_restart_on "$@" ;;
        exec) cmd_exec "$@" ;;
        *) usage ;;
    esac
fi

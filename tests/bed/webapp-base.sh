#!/usr/bin/env bash
# webapp-base.sh IMAGE: a tiny base image for web apps (Debian's busybox-static: httpd, wget, sh),
# made with `docker import` on the local engine, since no registry is reachable. The demo and the
# compose_stack role's tests ship it to machines (docker save/load) and build their app on it there.
# Nothing happens when IMAGE exists.
set -euo pipefail
image=${1:?usage: webapp-base.sh IMAGE}
docker image inspect "$image" >/dev/null 2>&1 && exit 0
work=$(mktemp -d /var/tmp/dockyard-webapp-base.XXXXXX)
# shellcheck disable=SC2064  # expand now: the trap must remove this build's folder
trap "rm -rf '$work'" EXIT
cd "$work"
# apt-get download needs package lists; a fresh machine has none.
apt-get download busybox-static >/dev/null 2>&1 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && apt-get download busybox-static >/dev/null 2>&1; }
dpkg-deb -x busybox-static_*.deb deb
mkdir -p root/bin root/www root/tmp
for candidate in deb/bin/busybox deb/usr/bin/busybox; do [[ -x $candidate ]] && cp "$candidate" root/bin/busybox && break; done
[[ -x root/bin/busybox ]] || { echo "webapp-base.sh: no busybox in the package" >&2; exit 1; }
# sh and the applets the apps use, as links (httpd and wget for health checks).
for applet in sh httpd wget cat ls; do ln -s busybox "root/bin/$applet"; done
tar -C root --numeric-owner -c . \
    | docker import -c 'CMD ["/bin/httpd", "-f", "-v", "-p", "8080", "-h", "/www"]' -c 'LABEL dockyard.webapp-base=1' - "$image" >/dev/null
echo "webapp-base: $image built ($(docker image inspect -f '{{.Size}}' "$image") bytes)"

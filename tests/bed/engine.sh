#!/usr/bin/env bash
# Local Docker engine for the test bed: start | stop | status.
# PID 1 is not systemd on the build machines, so dockerd runs as a plain background process.
# overlay2 works here without extra flags (checked on the build machine), so none are passed.
set -euo pipefail

LOG=${DOCKYARD_DOCKERD_LOG:-/var/log/dockyard-dockerd.log}
PIDFILE=/var/run/docker.pid   # dockerd writes it itself
WAIT=60

running() { docker info >/dev/null 2>&1; }

install_engine() {
    command -v dockerd >/dev/null && return
    echo "engine: installing docker.io"
    # Fresh machines have no package lists yet.
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io
}

start() {
    if running; then
        echo "engine: already running"
        return
    fi
    install_engine
    echo "engine: starting dockerd (log: $LOG)"
    # setsid: keep dockerd alive after the calling shell (make, CI step) exits.
    setsid dockerd >>"$LOG" 2>&1 </dev/null &
    for _ in $(seq "$WAIT"); do
        if running; then
            echo "engine: ready ($(docker info --format '{{.ServerVersion}} {{.Driver}}'))"
            return
        fi
        sleep 1
    done
    echo "engine: dockerd not ready after ${WAIT}s; last log lines:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
}

stop() {
    if [[ ! -s $PIDFILE ]]; then
        echo "engine: not running"
        return
    fi
    local pid
    pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq "$WAIT"); do
        kill -0 "$pid" 2>/dev/null || { echo "engine: stopped"; return; }
        sleep 1
    done
    echo "engine: dockerd (pid $pid) did not stop" >&2
    exit 1
}

status() {
    if running; then
        docker info --format 'engine: running {{.ServerVersion}} {{.Driver}}'
    else
        echo "engine: not running"
        return 3
    fi
}

case ${1:-} in
    start | stop | status) "$1" ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

#!/bin/sh
# The docker CLI and its Compose v2 plugin in the execution environment, from the base image's own package
# manager: Debian 13 has them as docker-cli and docker-compose; on the RHEL family (AWX's EE images) they come
# from Docker's repository (docker-ce-cli, docker-compose-plugin).
set -eu
if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends docker-cli docker-compose
    apt-get clean
    rm -rf /var/lib/apt/lists/*
else
    pkgmgr=$(command -v dnf || command -v microdnf)
    cat >/etc/yum.repos.d/docker-ce.repo <<'REPO'
[docker-ce-stable]
name=Docker CE Stable
baseurl=https://download.docker.com/linux/rhel/$releasever/$basearch/stable
enabled=1
gpgcheck=1
gpgkey=https://download.docker.com/linux/rhel/gpg
REPO
    "$pkgmgr" install -y docker-ce-cli docker-compose-plugin
    "$pkgmgr" clean all
fi
docker --version
docker compose version

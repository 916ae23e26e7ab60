#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what building and testing sbs needs on a Debian 12 host, as root.
# Idempotent: does nothing when every package is present. Called by the Makefile
# (stamp build/.host-setup) so a fresh machine needs only `make demo` / `make check`.
set -eu
# One at a time: `make -j` reaches this from more than one rule.
if [ -z "${SBS_SETUP_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	SBS_SETUP_LOCKED=1 exec flock /tmp/sbs-setup-host.lock "$0" "$@"
fi

# build: compilers, the s390x cross toolchain, Debian source tooling
# tests: independent judges and real peers (openssl, curl, python3 ssl, jq,
#   cryptsetup, git http-backend behind lighttpd, sshd, docker-registry,
#   skopeo, umoci), qemu for s390x binaries and the appliance; it_s3: node + npm
#   (s3rver is npm-installed under build/ by the test) and python3-botocore
#   (the independent SigV4 judge)
# appliance: kernel build from linux-source, cpio
# bench: nginx as the peer
need_pkgs="make gcc musl-tools musl-dev dpkg-dev curl openssl ca-certificates \
  clang libclang-rt-14-dev qemu-user-static gcc-s390x-linux-gnu libc6-dev-s390x-cross \
  nginx-light python3 jq file procps iproute2 autoconf automake libtool pkg-config \
  cryptsetup-bin e2fsprogs git lighttpd lighttpd-mod-openssl openssh-server openssh-client \
  docker-registry skopeo umoci apache2-utils qemu-system-misc cpio \
  linux-source-6.1 bc flex bison libelf-dev libssl-dev xz-utils busybox-static python3-botocore"
# node and npm: Debian's unless some node is there already (NodeSource's
# nodejs ships npm itself and conflicts with Debian's npm package)
command -v npm >/dev/null 2>&1 || need_pkgs="$need_pkgs nodejs npm"
need_s390x="musl-dev:s390x"

missing=""
for p in $need_pkgs $need_s390x; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
srcs_ok=1
grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ 2>/dev/null || \
	grep -qs '^deb-src' /etc/apt/sources.list 2>/dev/null || srcs_ok=0
arch_ok=1
dpkg --print-foreign-architectures | grep -qx s390x || arch_ok=0

if [ -z "$missing" ] && [ $srcs_ok = 1 ] && [ $arch_ok = 1 ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "setup-host: missing packages:$missing" >&2
	echo "setup-host: run 'make setup' as root (apt-get install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ $srcs_ok = 0 ]; then
	echo "setup-host: enabling deb-src lines (apt-get source needs them)"
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
	else
		sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/sbs-src.list
	fi
fi
[ $arch_ok = 1 ] || dpkg --add-architecture s390x
echo "setup-host: apt-get update"
apt-get update -qq
echo "setup-host: installing$missing"
apt-get install -y -qq --no-install-recommends $need_pkgs >/dev/null
apt-get install -y -qq --no-install-recommends $need_s390x >/dev/null
# nginx, lighttpd, sshd and the registry are started by tests on loopback
# ports of their own: never leave the distro's services running.
for s in nginx lighttpd ssh docker-registry; do
	systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
done
pkill -x nginx 2>/dev/null || true
echo "setup-host: done"

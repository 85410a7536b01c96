#!/usr/bin/env bash
# Install every Debian package that building, testing and running the demo
# of ocserv-agent need. Idempotent: does nothing when all are installed.
# Debian 12 or later, as root.
set -euo pipefail

pkgs=(
	# build
	build-essential pkg-config meson ninja-build
	libmicrohttpd-dev libgnutls28-dev libjansson-dev libsystemd-dev libcrypt-dev libseccomp-dev
	libprotobuf-c-dev protobuf-c-compiler
	# tests and demo: a real ocserv, real clients, the lab's tools
	libcmocka-dev python3 python3-pytest python3-yaml curl gnutls-bin
	ocserv openconnect iproute2 procps sudo less
)

[ "$(id -u)" = 0 ] || { echo "install-deps.sh: run as root" >&2; exit 1; }

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the ocserv package from starting a system-wide ocserv on
# port 443 where an init system is running: the tests start their own.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

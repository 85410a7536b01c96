#!/usr/bin/env bash
# Install every Debian package that building, testing and running the demo
# of ocserv-agent need, and the system user "ocservagent" that the agent's
# unprivileged api process runs as (the integration tests start the agent as
# root, privilege-separated). Idempotent: installs only what is missing.
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
# AGENT_USER's default; dist/install.sh creates the same user on real installs.
readonly AGENT_USER=ocservagent

[ "$(id -u)" = 0 ] || { echo "install-deps.sh: run as root" >&2; exit 1; }

install_packages() {
	local missing=() p policy created_policy=0
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0

	echo "install-deps.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# policy-rc.d keeps the ocserv package from starting a system-wide ocserv
	# on port 443 where an init system is running: the tests start their own.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || {
		[ "$created_policy" = 0 ] || rm -f "$policy"
		return 1
	}
	[ "$created_policy" = 0 ] || rm -f "$policy"
}

# The api process's user: a system user with no home and no login shell, in
# a group of its own (made here unless it exists already).
ensure_agent_user() {
	local group=(--user-group)
	getent passwd "$AGENT_USER" >/dev/null && return 0
	! getent group "$AGENT_USER" >/dev/null || group=(--gid "$AGENT_USER")
	echo "install-deps.sh: creating system user $AGENT_USER" >&2
	useradd --system "${group[@]}" --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "ocserv-agent" "$AGENT_USER"
}

install_packages
ensure_agent_user

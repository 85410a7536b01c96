#!/usr/bin/env bash
# The demo (README): install what is needed, build, start a real ocserv in its own network
# namespace with two demo users (alice, bob) connected by real openconnect clients, start the
# agent, and show the API working with curl: health, sessions, a disconnect. Everything
# (clients, agent, ocserv, the namespace, the temp dir) is removed on exit, Ctrl-C included.
# As root on Debian 12+. The lab itself is tests/integration/lab.py (the tests use it too).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (network namespaces, ocserv, tun)" >&2; exit 1; }
py=/usr/bin/python3

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Installing dependencies and building"
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build

state=$(mktemp -d /tmp/oa-demo.XXXXXX)
chmod 755 "$state" # ocserv's workers run as nobody and must reach the socket in here
cleanup() {
	trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
	trap - EXIT
	step "Cleaning up: clients, agent, ocserv, network namespace, $state"
	"$py" tests/integration/lab.py down --state "$state" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM # exit runs the EXIT trap

step "Starting ocserv in a private network namespace, connecting alice and bob, starting the agent"
OA_AGENT_BIN=$root/build/ocserv-agent "$py" tests/integration/lab.py up --state "$state" --agent
# NS, OCCTL_SOCKET, AGENT_PORT, AGENT_TOKEN, AGENT_LOG
# shellcheck disable=SC1091
. "$state/lab.env"
base=http://127.0.0.1:$AGENT_PORT

# api METHOD PATH [JSON]: one authenticated call, shown as the command and its pretty JSON.
api() {
	local args=(-sS -X "$1" -H "Authorization: Bearer $AGENT_TOKEN")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data "$3")
	echo "\$ curl -X $1 -H 'Authorization: Bearer ***' $base$2${3:+ -d '$3'}"
	ip netns exec "$NS" curl "${args[@]}" "$base$2" | "$py" -m json.tool
}

step "What occtl itself sees"
ip netns exec "$NS" occtl -s "$OCCTL_SOCKET" show users

step "GET /ocserv/health"
api GET /ocserv/health

step "GET /ocserv/sessions"
api GET /ocserv/sessions

step "GET /ocserv/session?username=bob"
api GET '/ocserv/session?username=bob'

bob_id=$(ip netns exec "$NS" curl -sS -H "Authorization: Bearer $AGENT_TOKEN" "$base/ocserv/session?username=bob" |
	"$py" -c 'import json, sys; print(json.load(sys.stdin)["session"]["vpnSessionId"])')

step "POST /ocserv/disconnect bob's session (id $bob_id)"
api POST /ocserv/disconnect "{\"vpnSessionId\": $bob_id}"

step "GET /ocserv/sessions (bob is gone)"
sleep 0.5
api GET /ocserv/sessions

step "An error: no token"
echo "\$ curl -i $base/ocserv/sessions"
ip netns exec "$NS" curl -sS -i "$base/ocserv/sessions"
echo

step "The agent's log (one line per request; no token in it)"
tail -n 8 "$AGENT_LOG"

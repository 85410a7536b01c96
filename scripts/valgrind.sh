#!/usr/bin/env bash
# Run integration tests with every agent process under valgrind (memcheck):
#   scripts/valgrind.sh [pytest args...]      (default: the whole suite)
# Each agent process (root and api, one-process mode too) writes its report
# to build/valgrind/PID.log; the run fails when any report shows an error or
# a definitely/indirectly lost block. The api process's seccomp filter is
# off under valgrind (AGENT_SECCOMP=false): valgrind's own system calls are
# not the agent's. Expect the suite to take 10-30 times as long.
# test_privsep.py is left out: it checks the processes' names, seccomp state
# and a non-root start, which valgrind changes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build
out=$PWD/build/valgrind
rm -rf "$out"; mkdir -p "$out"; chmod 1777 "$out"
wrapper=$out/ocserv-agent
cat >"$wrapper" <<WRAP
#!/bin/sh
export AGENT_SECCOMP=false
exec valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --track-fds=no --child-silent-after-fork=no \
	--log-file=$out/%p.log $PWD/build/ocserv-agent "\$@"
WRAP
chmod 755 "$wrapper"
rc=0
OA_AGENT_BIN=$wrapper OA_AGENT_START_TIMEOUT=60 /usr/bin/python3 -m pytest -p no:cacheprovider -q \
	--deselect tests/integration/test_privsep.py "${@:-tests/integration}" || rc=$?
bad=$(grep -lE "ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]" "$out"/*.log || true)
n=$(ls "$out"/*.log 2>/dev/null | wc -l)
echo "valgrind: $n process reports in $out"
if [ -n "$bad" ]; then
	echo "valgrind found errors or leaks in:" $bad
	exit 1
fi
exit $rc

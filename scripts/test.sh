#!/usr/bin/env bash
# The project's test command (README, .ci/run): install what is needed,
# build plainly and with ASan+UBSan, run the cmocka unit tests under both and
# the pytest integration suite against a real ocserv with real openconnect
# clients in a private network namespace. Ends with "N passed, N failed".
# As root on Debian 12+. Extra arguments go to pytest (e.g. -k disconnect).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (the tests create network namespaces)" >&2; exit 1; }

scripts/install-deps.sh

setup() { # setup DIR [meson options...]
	local dir=$1; shift
	if [ -f "$dir/build.ninja" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null
	else meson setup "$dir" "$@" >/dev/null; fi
	ninja -C "$dir"
}
setup build
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false

passed=0 failed=0
# cmocka prints "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" per program.
count() { # count PASSED|FAILED LOG
	{ grep -ho "\[  $1  \] [0-9]* test" "$2" || true; } | awk '{s+=$4} END {print s+0}'
}
unit() { # unit BUILDDIR
	local rc=0 p f
	meson test -C "$1" --suite unit --print-errorlogs || rc=$?
	p=$(count PASSED "$1/meson-logs/testlog.txt")
	f=$(count FAILED "$1/meson-logs/testlog.txt")
	# A program that crashed before its summary still counts as a failure, and
	# so does a build without unit tests (cmocka missing).
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	if [ "$p" = 0 ]; then echo "no unit test ran in $1" >&2; f=$((f + 1)); fi
	echo "unit tests ($1): $p passed, $f failed"
	passed=$((passed + p)); failed=$((failed + f))
}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
unit build
unit build-asan

# Fuzz corpus regression: every saved input through every parser, under ASan+UBSan.
# Their log lines go to a file, shown only when a target fails.
for t in occtl api env radius ocserv_conf local ocpasswd userconf ctl events conf_edit diff conf_schema priv_wire priv_ops priv_codec; do
	log=$(mktemp /tmp/oa-fuzz.XXXXXX)
	if build-asan/tests/fuzz/fuzz_$t tests/fuzz/corpus/$t/* >"$log" 2>&1; then
		echo "fuzz corpus regression: fuzz_$t $(tail -n 1 "$log")"
		passed=$((passed + 1))
	else
		cat "$log" >&2
		echo "fuzz corpus regression FAILED: fuzz_$t" >&2; failed=$((failed + 1))
	fi
	rm -f "$log"
done

# integration LABEL AGENT_BINARY [pytest args...]   (OA_TESTS: which tests, default all)
integration() {
	local label=$1 bin=$2 junit rc=0 p f
	shift 2
	junit=$(mktemp /tmp/oa-junit.XXXXXX.xml)
	# shellcheck disable=SC2086 # OA_TESTS is a list of paths
	OA_AGENT_BIN=$bin /usr/bin/python3 -m pytest -p no:cacheprovider -q \
		--junitxml="$junit" ${OA_TESTS:-tests/integration} "$@" || rc=$?
	read -r p f < <(/usr/bin/python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]).getroot()
suites = [t] if t.tag == "testsuite" else list(t)
n = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skip = sum(int(s.get("skipped", 0)) for s in suites)
print(n - bad - skip, bad)
PY
)
	rm -f "$junit"
	# pytest exits 5 when it collected nothing: that is a failure here.
	if [ "$rc" = 5 ]; then f=$((f + 1)); fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	echo "integration tests ($label): $p passed, $f failed"
	passed=$((passed + p)); failed=$((failed + f))
}
integration plain "$PWD/build/ocserv-agent" "$@"
# The same suite against the ASan+UBSan agent: a sanitizer report aborts it
# (abort_on_error) or makes its exit code non-zero, and the tests see both.
OA_AGENT_SANITIZED=1 integration asan "$PWD/build-asan/ocserv-agent" "$@"
# The default backend is the control socket (the tests run as root); the suites
# that read or change sessions, cookies, bans and iroutes again on occtl exec,
# the backend of an agent that is not root.
occtl_suites="test_sessions test_users_sessions test_cookies test_bans test_iroutes
	test_disconnect test_terminate test_capabilities test_health test_status"
OA_TESTS=$(for t in $occtl_suites; do [ -f "tests/integration/$t.py" ] && echo "tests/integration/$t.py"; done) \
	OA_BACKEND=occtl integration "backend occtl" "$PWD/build/ocserv-agent" "$@"

# Opt-in, e.g. OA_LAB_VERSIONS="1.3.0 1.5.0": the suite again (plain agent) against each of these
# ocserv versions, run from a Debian chroot (tests/integration/lab_chroot.py) that
# scripts/ocserv-root.sh builds once (about a minute and 270 MB each) and reuses afterwards.
for v in ${OA_LAB_VERSIONS:-}; do
	case $v in
	1.1.6) echo "OA_LAB_VERSIONS: 1.1.6 is the host's ocserv, already tested above"; continue ;;
	1.3.0) suite=trixie root=/var/tmp/ocserv-trixie ;;
	1.5.0) suite=sid root=/var/tmp/ocserv-sid ;;
	*) echo "OA_LAB_VERSIONS: unknown ocserv version '$v' (known: 1.3.0 1.5.0)" >&2
	   failed=$((failed + 1)); continue ;;
	esac
	if ! built=$(scripts/ocserv-root.sh "$suite" "$root"); then
		echo "scripts/ocserv-root.sh $suite $root failed" >&2; failed=$((failed + 1)); continue
	fi
	echo "ocserv $built in $root"
	OA_OCSERV_VERSION=$v integration "ocserv $v" "$PWD/build/ocserv-agent" "$@"
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

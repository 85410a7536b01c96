#!/usr/bin/env bash
# Fuzz every parser of untrusted bytes with libFuzzer (clang, ASan+UBSan).
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 600 s, all targets)
# New interesting inputs are merged into tests/fuzz/corpus/<target>/; a crash
# leaves crash-* files in build-fuzz/ and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(occtl api env radius ocserv_conf local ocpasswd userconf ctl events conf_edit diff conf_schema priv_wire priv_ops priv_codec)

if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev >/dev/null
fi
[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzzing=true \
	-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-fuzz

rc=0
for t in "${targets[@]}"; do
	work=build-fuzz/corpus-$t; mkdir -p "$work"
	echo "== fuzz_$t for $secs s"
	(cd build-fuzz && ./tests/fuzz/fuzz_"$t" -max_total_time="$secs" -max_len=65536 \
		-print_final_stats=1 "corpus-$t" "../tests/fuzz/corpus/$t") || rc=1
	# Keep the corpus small: only inputs that add coverage.
	build-fuzz/tests/fuzz/fuzz_"$t" -merge=1 "tests/fuzz/corpus/$t" "$work" >/dev/null 2>&1 || true
done
exit $rc

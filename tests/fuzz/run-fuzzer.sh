#!/bin/sh
# Runs the safetensors/bundle fuzzer for SECONDS on a scratch copy of the seed corpus (the
# valid and hostile fixtures, plus the build's test bundle). Exits non-zero on any finding and
# leaves the crashing inputs in BUILD_DIR/fuzz-findings/.
#
# Usage: tests/fuzz/run-fuzzer.sh BUILD_DIR [SECONDS]
# where BUILD_DIR was configured with
#   CC=clang CXX=clang++ meson setup BUILD_DIR -Dfuzzing=true -Db_sanitize=address,undefined \
#     -Db_lundef=false -Dgui=disabled -Dcuda=disabled
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "Usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$here/../fixtures
fuzzer=$build/tests/fuzz/fuzz-safetensors

if [ ! -x "$fuzzer" ]; then
  echo "run-fuzzer: $fuzzer is not built (configure BUILD_DIR with -Dfuzzing=true and build it)" >&2
  exit 2
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/jd-fuzz-XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
mkdir "$scratch/corpus" "$scratch/artifacts"
cp "$fixtures"/valid/*.safetensors "$fixtures"/hostile/*.safetensors "$scratch/corpus/"
if [ -f "$build/tests/test-bundle.safetensors" ]; then
  cp "$build/tests/test-bundle.safetensors" "$scratch/corpus/"
fi

status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
  "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -dict="$here/safetensors.dict" -artifact_prefix="$scratch/artifacts/" \
    -print_final_stats=1 "$scratch/corpus" || status=$?

if [ "$status" -ne 0 ] || [ -n "$(ls -A "$scratch/artifacts")" ]; then
  mkdir -p "$build/fuzz-findings"
  cp "$scratch"/artifacts/* "$build/fuzz-findings/" 2>/dev/null || true
  echo "run-fuzzer: FINDING (exit status $status); inputs kept in $build/fuzz-findings/" >&2
  exit 1
fi
echo "run-fuzzer: no finding in $seconds s"

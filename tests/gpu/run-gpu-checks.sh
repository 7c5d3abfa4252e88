#!/bin/sh
# tests/gpu/run-gpu-checks.sh OUTDIR — everything the CUDA backend needs checked on a GPU, in one
# run of at most ~6 minutes: configure and build build-cuda/ for the card that is present, run
# the GPU tests (op parity, Philox, the whole model), compute-sanitizer memcheck on them when it
# is installed, `jointdit bench gpu`, and the PyTorch reference bench when PyTorch sees the GPU.
# Every result goes to OUTDIR (summary.txt first); the exit status is 1 if a check failed.
#
# Needs: an NVIDIA driver new enough for the toolkit (CUDA 13 needs driver >= 580), nvcc,
# cuBLASLt, cuDNN 9, and the project's build dependencies (tools/install-dependencies). Without
# nvcc, an already built build-cuda/ (carried over) is used as it is.
set -u
if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
# NVIDIA's installers put nvcc and compute-sanitizer here without adding it to PATH.
for dir in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do
  [ -d "$dir" ] && PATH="$PATH:$dir"
done
export PATH
cd "$root"
start=$(date +%s)
status=0
summary="$out/summary.txt"
: >"$summary"
note () { echo "[$(( $(date +%s) - start )) s] $*" | tee -a "$summary"; }
# run NAME SECONDS COMMAND…: output to OUTDIR/NAME.txt, result to the summary.
run () {
  name=$1; limit=$2; shift 2
  if timeout "$limit" "$@" >"$out/$name.txt" 2>&1; then
    note "$name: ok"
  else
    rc=$?
    case $rc in
      77) note "$name: skipped (exit 77: $(head -c 300 "$out/$name.txt" | tr '\n' ' '))" ;;
      124) note "$name: TIMED OUT after $limit s"; status=1 ;;
      *) note "$name: FAILED (exit $rc; see $name.txt)"; status=1 ;;
    esac
  fi
}

note "run-gpu-checks on $(hostname), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || note "nvidia-smi failed (no driver?)"
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
note "GPU: ${gpu:-none found}; compute capability ${cap:-?}"

jobs=$(nproc 2>/dev/null || echo 4)
if command -v nvcc >/dev/null 2>&1; then
  # Only the present card's architecture: a third of the compile time of all four.
  # (No card found: the configured or default architectures.)
  archs=${cap:+-Dgpu_archs=$cap}
  if [ -f build-cuda/build.ninja ]; then
    setup="meson setup --reconfigure build-cuda -Dcuda=enabled -Dgui=disabled $archs"
  else
    setup="meson setup build-cuda -Dcuda=enabled -Dgui=disabled $archs"
  fi
  run configure 120 $setup
  run build 300 nice -n 15 meson compile -C build-cuda -j "$jobs"
else
  note "no nvcc: using the build-cuda/ that is already there"
fi
if [ ! -x build-cuda/tests/gpu/test-cuda-ops ]; then
  note "build-cuda/ has no GPU tests; nothing more to run"
  exit 1
fi

# The GPU tests through meson (without a GPU they report "skipped"). (their logs land in build-cuda/meson-logs/testlog.txt).
run gpu-tests 240 meson test -C build-cuda --suite gpu --no-rebuild --print-errorlogs -v \
  --timeout-multiplier 2
cp build-cuda/meson-logs/testlog.txt "$out/gpu-testlog.txt" 2>/dev/null || true

# compute-sanitizer memcheck: the op and Philox tests whole, the model on one F32 case.
if command -v compute-sanitizer >/dev/null 2>&1; then
  export G_TEST_SRCDIR="$root/tests" G_TEST_BUILDDIR="$root/build-cuda/tests"
  cs="compute-sanitizer --tool memcheck --error-exitcode 9 --leak-check no"
  run memcheck-ops 150 $cs build-cuda/tests/gpu/test-cuda-ops
  run memcheck-philox 60 $cs build-cuda/tests/gpu/test-cuda-philox
  run memcheck-denoiser 120 $cs build-cuda/tests/gpu/test-cuda-denoiser \
    -p /cuda/jointdit/f32/cond/full -p /cuda/jointdit/bf16/cond/block_diagonal
else
  note "compute-sanitizer not found: memcheck not run"
fi

if [ -z "$cap" ]; then
  note "no GPU: the GPU tests were skipped and nothing more can run here (exit 77)"
  exit 77
fi

# The benchmark: size (b) first (quick), then (a).
run bench-gpu-b 120 build-cuda/app/jointdit bench gpu --size b --seconds 3
run bench-gpu-a 180 build-cuda/app/jointdit bench gpu --size a --seconds 3

# The PyTorch reference on the same card, with the engine's FLOP counts for TFLOP/s.
flops_of () { awk -v s="$1" '$0 ~ "guided step" && index($0, s) == 1 { print $(NF-3) }' "$2"; }
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  fa=$(flops_of "(a)" "$out/bench-gpu-a.txt"); fb=$(flops_of "(b)" "$out/bench-gpu-b.txt")
  run bench-pytorch 240 python3 tools/reference/bench_gpu_reference.py --seconds 3 \
    ${fa:+--flops-a "$fa"} ${fb:+--flops-b "$fb"}
else
  note "PyTorch with CUDA not available: the reference bench not run"
fi

note "done in $(( $(date +%s) - start )) s; status $status"
{ echo; echo "=== jointdit bench gpu"; cat "$out/bench-gpu-b.txt" "$out/bench-gpu-a.txt" 2>/dev/null
  [ -f "$out/bench-pytorch.txt" ] && { echo; echo "=== PyTorch reference"; cat "$out/bench-pytorch.txt"; }
} >>"$summary"
exit $status

#!/bin/sh
# tests/gpu/run-gpu-checks.sh OUTDIR — everything the CUDA backend needs checked on a GPU, in one
# run of at most ~6 minutes: configure and build build-cuda/ for the card that is present, run
# the GPU tests (op parity, the short-sequence attention kernel, Philox, the whole model,
# the CUDA graphs of the denoiser step, the opt-in BF16 NHWC convolutions), compute-sanitizer
# memcheck on them when it is installed, `jointdit bench gpu` (size (b) also with
# JD_CUDA_SHORT_ATTENTION=0, temporal attention on the tiled kernels, with JD_CUDA_GRAPHS=1 and
# with JD_CUDA_CONV_NHWC=1, to compare; size (a) also with JD_CUDA_CONV_NHWC=1), and the PyTorch
# reference bench when PyTorch sees the GPU.
# Every result goes to OUTDIR (summary.txt first); the exit status is 1 if a check failed, 77
# when there is no GPU (the tests then skip; nothing is measured). Order: build, GPU tests,
# benchmarks, then memcheck in whatever is left of JD_GPU_CHECK_BUDGET (default 360 s).
# With a build-cuda/ carried over from another machine (no nvcc there), only the test binaries
# and app/jointdit are needed — carry build-cuda/tests/gpu, build-cuda/app/jointdit and the CUDA
# module build-cuda/kernels/jointdit-cuda.so (the only one linked against the CUDA libraries;
# built for sm_80/86/89/90); they still need the CUDA 13 runtime, cuBLASLt, cuDNN 9 and the
# Debian libraries (GLib, json-glib, oneDNN, FFmpeg) on that machine.
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

# The GPU tests, run directly (so carried binaries work without meson's build state);
# --verbose prints every op's measured error. Without a GPU they exit 77 (skipped).
# JD_CUDA_MODULE: the uninstalled programs open the CUDA backend module from the build tree.
export G_TEST_SRCDIR="$root/tests" G_TEST_BUILDDIR="$root/build-cuda/tests" \
  OMP_WAIT_POLICY=passive JD_TEST_THREADS=8 JD_CUDA_MODULE="$root/build-cuda/kernels/jointdit-cuda.so"
if [ ! -f "$JD_CUDA_MODULE" ]; then
  note "build-cuda/ has no CUDA module (kernels/jointdit-cuda.so); nothing more to run"
  exit 1
fi
# JD_CUDA_SYNC=1: each op waits for the GPU, so a kernel fault names its own op.
run test-cuda-philox 60 env JD_CUDA_SYNC=1 build-cuda/tests/gpu/test-cuda-philox --verbose
run test-cuda-ops 120 env JD_CUDA_SYNC=1 build-cuda/tests/gpu/test-cuda-ops --verbose
run test-cuda-attention-short 60 env JD_CUDA_SYNC=1 \
  build-cuda/tests/gpu/test-cuda-attention-short --verbose
run test-cuda-denoiser 150 env JD_CUDA_SYNC=1 build-cuda/tests/gpu/test-cuda-denoiser --verbose
run test-cuda-graph 120 build-cuda/tests/gpu/test-cuda-graph --verbose
# BF16 convolutions on NHWC copies (off unless JD_CUDA_CONV_NHWC=1 until this passes): every
# convolution op shape, then a BF16 forward and a 4-step BF16 sampling with them.
run test-cuda-conv-nhwc 90 env JD_CUDA_SYNC=1 JD_CUDA_CONV_NHWC=1 \
  build-cuda/tests/gpu/test-cuda-ops --verbose -p /cuda/op/conv2d/3x3 -p /cuda/op/conv2d/down \
  -p /cuda/op/conv2d/1x1 -p /cuda/op/conv-temporal -p /cuda/op/conv1d/dilated \
  -p /cuda/op/conv1d/strided
run test-cuda-denoiser-conv-nhwc 120 env JD_CUDA_SYNC=1 JD_CUDA_CONV_NHWC=1 \
  build-cuda/tests/gpu/test-cuda-denoiser --verbose -p /cuda/jointdit/bf16/cond/full \
  -p /cuda/engine/sampling-4-steps/bf16
grep -h "err = " "$out"/test-cuda-*.txt >"$out/parity-errors.txt" 2>/dev/null || true

if [ -z "$cap" ]; then
  note "no GPU: the GPU tests were skipped and nothing more can run here (exit 77)"
  exit 77
fi

# What is left of the 6-minute budget (at least 30 s per step, so each step says something).
left () { l=$(( ${JD_GPU_CHECK_BUDGET:-360} - ($(date +%s) - start) )); [ "$l" -lt 30 ] && l=30; echo "$l"; }

# The benchmark: size (b) first (quick), then (a).
run bench-gpu-b 90 build-cuda/app/jointdit bench gpu --size b --seconds 2
# The same with the short-sequence attention kernel off: what it saves on temporal attention.
run bench-gpu-b-tiled-attention 90 env JD_CUDA_SHORT_ATTENTION=0 \
  build-cuda/app/jointdit bench gpu --size b --seconds 2
# And with the denoiser step replayed as a CUDA graph (off by default until this is measured).
run bench-gpu-b-graphs 90 env JD_CUDA_GRAPHS=1 \
  build-cuda/app/jointdit bench gpu --size b --seconds 2
# And with the BF16 NHWC convolutions (off by default until this is measured).
run bench-gpu-b-conv-nhwc 90 env JD_CUDA_CONV_NHWC=1 \
  build-cuda/app/jointdit bench gpu --size b --seconds 2
run bench-gpu-a "$(left)" build-cuda/app/jointdit bench gpu --size a --seconds 2
run bench-gpu-a-conv-nhwc "$(left)" env JD_CUDA_CONV_NHWC=1 \
  build-cuda/app/jointdit bench gpu --size a --seconds 2

# The PyTorch reference on the same card, with the engine's FLOP counts for TFLOP/s.
flops_of () { awk -v s="$1" '$0 ~ "guided step" && index($0, s) == 1 { print $(NF-3) }' "$2"; }
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  fa=$(flops_of "(a)" "$out/bench-gpu-a.txt"); fb=$(flops_of "(b)" "$out/bench-gpu-b.txt")
  run bench-pytorch "$(left)" python3 tools/reference/bench_gpu_reference.py --seconds 2 \
    --size b a ${fa:+--flops-a "$fa"} ${fb:+--flops-b "$fb"}
else
  note "PyTorch with CUDA not available: the reference bench not run"
fi

# compute-sanitizer memcheck last, in what time is left: Philox, a cross-section of the ops
# (every kernel family in both precisions), one model forward per precision.
if command -v compute-sanitizer >/dev/null 2>&1; then
  cs="compute-sanitizer --tool memcheck --error-exitcode 9 --leak-check no"
  run memcheck-philox 60 $cs build-cuda/tests/gpu/test-cuda-philox -p /cuda/philox/1
  run memcheck-attention-short 60 $cs build-cuda/tests/gpu/test-cuda-attention-short \
    -p /cuda/attention-short/lq-lk-dqk-dv-differ -p /cuda/attention-short/tiny-heads
  run memcheck-ops "$(left)" $cs build-cuda/tests/gpu/test-cuda-ops \
    -p /cuda/op/linear/unaligned-view -p /cuda/op/conv2d/down -p /cuda/op/conv-temporal \
    -p /cuda/op/conv-transpose1d/odd -p /cuda/op/group-norm/silu -p /cuda/op/layer-norm/odd \
    -p /cuda/op/axpby/broadcast -p /cuda/op/upsample/odd -p /cuda/op/concat/axis1 \
    -p /cuda/op/slice -p /cuda/op/permute/3120 -p /cuda/op/rope/3-axes \
    -p /cuda/op/rope/in-place -p /cuda/op/timestep/odd -p /cuda/op/attention/d48 \
    -p /cuda/op/attention/d80 -p /cuda/op/attention/d512 -p /cuda/op/attention/one-key \
    -p /cuda/op/attention/block-diagonal -p /cuda/op/attention/dv-differs
  run memcheck-denoiser "$(left)" $cs build-cuda/tests/gpu/test-cuda-denoiser \
    -p /cuda/jointdit/f32/cond/full -p /cuda/jointdit/bf16/null/block_diagonal
else
  note "compute-sanitizer not found: memcheck not run"
fi

note "done in $(( $(date +%s) - start )) s; status $status"
{ echo; echo "=== jointdit bench gpu"; cat "$out/bench-gpu-b.txt" "$out/bench-gpu-a.txt" 2>/dev/null
  echo; echo "=== jointdit bench gpu, JD_CUDA_SHORT_ATTENTION=0 (tiled temporal attention)"
  cat "$out/bench-gpu-b-tiled-attention.txt" 2>/dev/null
  echo; echo "=== jointdit bench gpu, JD_CUDA_GRAPHS=1 (the denoiser step as a CUDA graph)"
  cat "$out/bench-gpu-b-graphs.txt" 2>/dev/null
  echo; echo "=== jointdit bench gpu, JD_CUDA_CONV_NHWC=1 (BF16 NHWC convolutions)"
  cat "$out/bench-gpu-b-conv-nhwc.txt" "$out/bench-gpu-a-conv-nhwc.txt" 2>/dev/null
  [ -f "$out/bench-pytorch.txt" ] && { echo; echo "=== PyTorch reference"; cat "$out/bench-pytorch.txt"; }
} >>"$summary"
exit $status

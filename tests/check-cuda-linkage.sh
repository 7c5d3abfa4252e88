#!/bin/sh
# tests/check-cuda-linkage.sh MODULE PROGRAM… — the CUDA libraries are linked into the CUDA
# module only (kernels/meson.build): no program names libcudart, libcublas(Lt), libcudnn or
# libcuda in its DT_NEEDED entries, the module does, the module exports nothing but its table,
# and every engine symbol the module leaves undefined is exported by each program (they link
# with -rdynamic), so that loading it cannot fail for a missing symbol later, at the first call.
# A TAP plan of 0 (skipped) when the build has no CUDA backend (MODULE is "").
set -u
module=$1; shift
if [ -z "$module" ]; then
  echo "1..0 # SKIP this build has no CUDA backend"
  exit 0
fi
n=0
status=0
ok () { n=$((n + 1)); echo "ok $n - $*"; }
not_ok () { n=$((n + 1)); echo "not ok $n - $*"; status=1; }

needed () { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

for program in "$@"; do
  cuda=$(needed "$program" | grep -E '^lib(cudart|cublas|cublasLt|cudnn|cuda)[._]' || true)
  if [ -z "$cuda" ]; then
    ok "$(basename "$program") needs no CUDA library"
  else
    not_ok "$(basename "$program") needs $(echo $cuda)"
  fi
done

if needed "$module" | grep -q '^libcudart\.so'; then
  ok "the module needs libcudart"
else
  not_ok "the module does not name libcudart: $(needed "$module" | tr '\n' ' ')"
fi

exports=$(nm -D --defined-only "$module" | awk '$2 ~ /^[TDRBVW]$/ { print $3 }' | sort -u)
if [ "$exports" = "jd_cuda_module_get_table" ]; then
  ok "the module exports only jd_cuda_module_get_table"
else
  not_ok "the module exports more than its table: $(echo $exports | head -c 400)"
fi

# The engine's symbols the module expects from the program that loads it.
wanted=$(nm -D --undefined-only "$module" | awk '{ print $NF }' | grep '^jd_' | sort -u)
if [ -z "$wanted" ]; then
  not_ok "the module uses no engine symbol (nm failed?)"
fi
for program in "$@"; do
  have=$(nm -D --defined-only "$program" | awk '{ print $NF }' | grep '^jd_' | sort -u)
  missing=$(printf '%s\n' "$wanted" | while read -r s; do
              printf '%s\n' "$have" | grep -qx "$s" || echo "$s"; done)
  if [ -z "$missing" ]; then
    ok "$(basename "$program") exports the $(echo "$wanted" | wc -l) engine symbols the module uses"
  else
    not_ok "$(basename "$program") does not export: $(echo $missing)"
  fi
done
echo "1..$n"
exit $status

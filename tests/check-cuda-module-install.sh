#!/bin/sh
# tests/check-cuda-module-install.sh BUILDDIR LIBDIR — `meson install --destdir` puts the CUDA
# module where the engine looks for it (LIBDIR/jointdit/jointdit-cuda.so under the prefix, as
# configured into jd-build-config.h), and the installed `jointdit` finds it: pointed at it, it
# reports what the CUDA runtime says rather than a load failure. Skipped without CUDA.
set -u
build=$1; libdir=$2
if ! grep -qx '#define JD_HAVE_CUDA' "$build/jd-build-config.h"; then
  echo "1..0 # SKIP this build has no CUDA backend"
  exit 0
fi
dest=$(mktemp -d "${TMPDIR:-/tmp}/jd-install-XXXXXX")
trap 'rm -rf "$dest"' EXIT
echo "1..3"
if meson install -C "$build" --no-rebuild --quiet --destdir "$dest" --tags runtime \
     >"$dest.log" 2>&1; then
  echo "ok 1 - meson install --destdir"
else
  sed 's/^/# /' "$dest.log"; rm -f "$dest.log"; echo "not ok 1 - meson install --destdir"; exit 1
fi
rm -f "$dest.log"
configured=$(sed -n 's/^#define JD_CUDA_MODULE_PATH "\(.*\)"$/\1/p' "$build/jd-build-config.h")
case $configured in
  */"$libdir"/jointdit/jointdit-cuda.so) ;;
  *) echo "not ok 2 - the configured module path $configured is not under $libdir/jointdit"; exit 1 ;;
esac
if [ -f "$dest$configured" ]; then
  echo "ok 2 - the module is installed at $configured"
else
  echo "not ok 2 - nothing installed at $configured:"; find "$dest" -name '*.so' | sed 's/^/# /'
  exit 1
fi
prefix=${configured%/"$libdir"/jointdit/jointdit-cuda.so}
# The backend opens before the model is read: a missing model fails after the module has loaded.
out=$(JD_CUDA_MODULE="$dest$configured" "$dest$prefix/bin/jointdit" generate --device cuda \
        --model /nonexistent/model.safetensors -o x.wav /nonexistent/picture.png 2>&1)
echo "$out" | sed 's/^/# /'
if echo "$out" | grep -q "could not be loaded"; then
  echo "not ok 3 - the installed jointdit could not load the installed module"; exit 1
fi
echo "ok 3 - the installed jointdit loads the installed module"

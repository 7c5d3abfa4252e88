"""Which BLAS library PyTorch's CPU matrix products run on.

Debian's torch is built against the generic libblas.so.3, so the alternative installed decides:
the reference BLAS ran the default model's products at ~3.6 GFLOP/s on this project's 2-core
machine, OpenBLAS at 80-100 (a training step 5x faster, a reference denoiser call 4x). Training
logs and benchmark tables name it, so numbers from different BLAS are never compared unawares.
"""
import functools
import os

import torch


@functools.lru_cache(maxsize=None)
def blas_library() -> str:
    """The BLAS shared library mapped into this process ("built into torch" when none is, as
    with MKL linked statically); the path with symbolic links resolved. Found out once per
    process (the training run asks for its warning and again for the provenance)."""
    torch.ones(64, 64) @ torch.ones(64, 64)          # make sure the library is loaded
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
    except OSError:
        return "unknown"
    for path in sorted(paths):
        if "mkl" in path or "openblas" in path or "blis" in path:
            return os.path.realpath(path)
    return os.path.realpath(sorted(paths)[0]) if paths else "built into torch"


def is_reference_blas(path: str) -> bool:
    """True for Debian's reference (netlib) BLAS, the slow fallback."""
    return path.endswith("/blas/libblas.so.3")

/* jd-cuda-grid.cuh — launch geometry shared by the elementwise kernels: grid-stride loops over
 * int64_t indices with a grid capped so launches stay cheap for any size. */
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#define JD_CUDA_THREADS 256

static inline unsigned
jd_cuda_grid_for (int64_t n)
{
  int64_t blocks = (n + JD_CUDA_THREADS - 1) / JD_CUDA_THREADS;
  if (blocks < 1)
    blocks = 1;
  /* Enough blocks to fill any current GPU several times over; the loops stride the rest. */
  if (blocks > 65536)
    blocks = 65536;
  return (unsigned) blocks;
}

#define JD_CUDA_GRID_STRIDE_LOOP(i, n)                                                   \
  for (int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x; i < (n);              \
       i += (int64_t) gridDim.x * blockDim.x)

/* Small helpers: F32 → BF16 conversion (weights and GEMM inputs), per-channel bias (after
 * cuDNN convolutions), fills. */
#include <cuda_bf16.h>

#include "jd-cuda-grid.cuh"
#include "jd-cuda-kernels.h"

static __global__ void
f32_to_bf16_kernel (const float *src, __nv_bfloat16 *dst, int64_t n)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    dst[i] = __float2bfloat16_rn (src[i]);
}

static __global__ void
add_channel_bias_kernel (float *dst, const float *bias, int64_t total, int64_t c, int64_t inner)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, total)
    dst[i] += bias[(i / inner) % c];
}

static __global__ void
fill_kernel (float *dst, float value, int64_t n)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    dst[i] = value;
}

extern "C" cudaError_t
jd_cuda_launch_f32_to_bf16 (const float *src, void *dst, int64_t n, cudaStream_t stream)
{
  if (n <= 0)
    return cudaSuccess;
  f32_to_bf16_kernel<<<jd_cuda_grid_for (n), JD_CUDA_THREADS, 0, stream>>> (
    src, (__nv_bfloat16 *) dst, n);
  return cudaGetLastError ();
}

extern "C" cudaError_t
jd_cuda_launch_add_channel_bias (float *dst, const float *bias, int64_t n, int64_t c,
                                 int64_t inner, cudaStream_t stream)
{
  int64_t total = n * c * inner;
  if (total <= 0)
    return cudaSuccess;
  add_channel_bias_kernel<<<jd_cuda_grid_for (total), JD_CUDA_THREADS, 0, stream>>> (
    dst, bias, total, c, inner);
  return cudaGetLastError ();
}

extern "C" cudaError_t
jd_cuda_launch_fill (float *dst, float value, int64_t n, cudaStream_t stream)
{
  if (n <= 0)
    return cudaSuccess;
  fill_kernel<<<jd_cuda_grid_for (n), JD_CUDA_THREADS, 0, stream>>> (dst, value, n);
  return cudaGetLastError ();
}

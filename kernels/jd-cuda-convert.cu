/* Small helpers: F32 → BF16 conversion (weights and GEMM inputs), NCHW F32 ⇄ NHWC BF16 (the
 * BF16 convolutions), per-channel bias (after cuDNN convolutions), fills. */
#include <cuda_bf16.h>

#include "jd-cuda-grid.cuh"
#include "jd-cuda-kernels.h"

static __global__ void
f32_to_bf16_kernel (const float *src, __nv_bfloat16 *dst, int64_t n)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    dst[i] = __float2bfloat16_rn (src[i]);
}

/* One thread per destination element, so the writes are contiguous. */
static __global__ void
nchw_f32_to_nhwc_bf16_kernel (const float *src, __nv_bfloat16 *dst, int64_t c, int64_t inner,
                              int64_t total)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, total)
    {
      int64_t ch = i % c, rest = i / c, p = rest % inner, n = rest / inner;
      dst[i] = __float2bfloat16_rn (src[(n * c + ch) * inner + p]);
    }
}

static __global__ void
nhwc_bf16_to_nchw_f32_kernel (const __nv_bfloat16 *src, float *dst, int64_t c, int64_t inner,
                              int64_t total)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, total)
    {
      int64_t p = i % inner, rest = i / inner, ch = rest % c, n = rest / c;
      dst[i] = __bfloat162float (src[(n * inner + p) * c + ch]);
    }
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
jd_cuda_launch_nchw_f32_to_nhwc_bf16 (const float *src, void *dst, int64_t n, int64_t c,
                                      int64_t inner, cudaStream_t stream)
{
  int64_t total = n * c * inner;
  if (total <= 0)
    return cudaSuccess;
  nchw_f32_to_nhwc_bf16_kernel<<<jd_cuda_grid_for (total), JD_CUDA_THREADS, 0, stream>>> (
    src, (__nv_bfloat16 *) dst, c, inner, total);
  return cudaGetLastError ();
}

extern "C" cudaError_t
jd_cuda_launch_nhwc_bf16_to_nchw_f32 (const void *src, float *dst, int64_t n, int64_t c,
                                      int64_t inner, cudaStream_t stream)
{
  int64_t total = n * c * inner;
  if (total <= 0)
    return cudaSuccess;
  nhwc_bf16_to_nchw_f32_kernel<<<jd_cuda_grid_for (total), JD_CUDA_THREADS, 0, stream>>> (
    (const __nv_bfloat16 *) src, dst, c, inner, total);
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

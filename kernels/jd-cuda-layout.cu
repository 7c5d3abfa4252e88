/* Ops that only move data: column-block copies (concat, slice), permute, nearest upsampling. */
#include "jd-cuda-grid.cuh"
#include "jd-cuda-kernels.h"

static __global__ void
copy_columns_kernel (const float *src, int64_t src_cols, int64_t src_offset, float *dst,
                     int64_t dst_cols, int64_t dst_offset, int64_t total, int64_t cols)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, total)
    {
      const int64_t row = i / cols, col = i % cols;
      dst[row * dst_cols + dst_offset + col] = src[row * src_cols + src_offset + col];
    }
}

extern "C" cudaError_t
jd_cuda_launch_copy_columns (const float *src, int64_t src_cols, int64_t src_offset, float *dst,
                             int64_t dst_cols, int64_t dst_offset, int64_t outer, int64_t cols,
                             cudaStream_t stream)
{
  const int64_t total = outer * cols;
  if (total <= 0)
    return cudaSuccess;
  copy_columns_kernel<<<jd_cuda_grid_for (total), JD_CUDA_THREADS, 0, stream>>> (
    src, src_cols, src_offset, dst, dst_cols, dst_offset, total, cols);
  return cudaGetLastError ();
}

static __global__ void
permute_kernel (const float *src, float *dst, int64_t n, JdCudaPermute p)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    {
      int64_t rest = i, from = 0;
      for (int d = p.ndim - 1; d >= 0; d--)
        {
          from += (rest % p.dst_shape[d]) * p.src_strides[d];
          rest /= p.dst_shape[d];
        }
      dst[i] = src[from];
    }
}

extern "C" cudaError_t
jd_cuda_launch_permute (const float *src, float *dst, const JdCudaPermute *p,
                        cudaStream_t stream)
{
  int64_t n = 1;
  for (int d = 0; d < p->ndim; d++)
    n *= p->dst_shape[d];
  if (n <= 0)
    return cudaSuccess;
  permute_kernel<<<jd_cuda_grid_for (n), JD_CUDA_THREADS, 0, stream>>> (src, dst, n, *p);
  return cudaGetLastError ();
}

/* PyTorch's source index for mode='nearest' (see jd-cpu-layout.c): identity, exact halving, or
 * min(floor(o · (float) in / out), in − 1) with the product rounded in float. */
static __device__ __forceinline__ int64_t
nearest_source_index (int64_t o, int64_t in, int64_t out)
{
  if (in == out)
    return o;
  if (out == 2 * in)
    return o / 2;
  const float scale = __fdiv_rn ((float) in, (float) out);
  const int64_t src = (int64_t) floorf (__fmul_rn ((float) o, scale));
  return src < in - 1 ? src : in - 1;
}

static __global__ void
upsample_nearest_kernel (const float *x, float *y, int64_t n, int64_t h_in, int64_t w_in,
                         int64_t h_out, int64_t w_out)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    {
      const int64_t wo = i % w_out;
      const int64_t ho = (i / w_out) % h_out;
      const int64_t plane = i / (w_out * h_out);
      const int64_t hi = nearest_source_index (ho, h_in, h_out);
      const int64_t wi = nearest_source_index (wo, w_in, w_out);
      y[i] = x[(plane * h_in + hi) * w_in + wi];
    }
}

extern "C" cudaError_t
jd_cuda_launch_upsample_nearest (const float *x, float *y, int64_t planes, int64_t h_in,
                                 int64_t w_in, int64_t h_out, int64_t w_out, cudaStream_t stream)
{
  const int64_t n = planes * h_out * w_out;
  if (n <= 0)
    return cudaSuccess;
  upsample_nearest_kernel<<<jd_cuda_grid_for (n), JD_CUDA_THREADS, 0, stream>>> (
    x, y, n, h_in, w_in, h_out, w_out);
  return cudaGetLastError ();
}

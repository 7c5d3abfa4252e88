/* Unary functions and broadcasting binary ops (add with coefficients, multiply, broadcast). */
#include "jd-cuda-activation.cuh"
#include "jd-cuda-grid.cuh"
#include "jd-cuda-kernels.h"

static __global__ void
unary_kernel (const float *x, float *y, int64_t n, int kind, float alpha, float beta)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    y[i] = jd_cuda_unary (kind, x[i], alpha, beta);
}

extern "C" cudaError_t
jd_cuda_launch_unary (const float *x, float *y, int64_t n, int kind, float alpha, float beta,
                      cudaStream_t stream)
{
  if (n <= 0)
    return cudaSuccess;
  unary_kernel<<<jd_cuda_grid_for (n), JD_CUDA_THREADS, 0, stream>>> (x, y, n, kind, alpha,
                                                                      beta);
  return cudaGetLastError ();
}

static __device__ __forceinline__ float
combine (int kind, float a, float b, float alpha, float beta)
{
  return kind == 1 ? a * b : alpha * a + beta * b;
}

/* Same shapes (or b a single element): no index arithmetic. */
static __global__ void
binary_flat_kernel (const float *a, const float *b, float *y, int64_t n, int b_scalar,
                    int kind, float alpha, float beta)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    y[i] = combine (kind, a[i], b[b_scalar ? 0 : i], alpha, beta);
}

/* General broadcasting: the flat dst index is decomposed over the (padded) dims. */
static __global__ void
binary_broadcast_kernel (const float *a, const float *b, float *y, int64_t n,
                         JdCudaBroadcast s, int kind, float alpha, float beta)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    {
      int64_t rest = i, ia = 0, ib = 0;
      for (int d = s.ndim - 1; d >= 0; d--)
        {
          int64_t coord = rest % s.shape[d];
          rest /= s.shape[d];
          ia += coord * s.a_strides[d];
          ib += coord * s.b_strides[d];
        }
      y[i] = b == NULL ? a[ia] : combine (kind, a[ia], b[ib], alpha, beta);
    }
}

extern "C" cudaError_t
jd_cuda_launch_binary (const float *a, const float *b, float *y, const JdCudaBroadcast *s,
                       int kind, float alpha, float beta, cudaStream_t stream)
{
  int64_t n = 1;
  int a_full = 1, b_full = 1, b_scalar = 1;
  int64_t stride = 1;
  for (int d = s->ndim - 1; d >= 0; d--)
    {
      n *= s->shape[d];
      if (s->shape[d] != 1)
        {
          a_full = a_full && s->a_strides[d] == stride;
          b_full = b_full && s->b_strides[d] == stride;
          b_scalar = b_scalar && s->b_strides[d] == 0;
        }
      stride *= s->shape[d];
    }
  if (n <= 0)
    return cudaSuccess;
  if (a_full && b != NULL && (b_full || b_scalar))
    binary_flat_kernel<<<jd_cuda_grid_for (n), JD_CUDA_THREADS, 0, stream>>> (
      a, b, y, n, b_full ? 0 : 1, kind, alpha, beta);
  else
    binary_broadcast_kernel<<<jd_cuda_grid_for (n), JD_CUDA_THREADS, 0, stream>>> (
      a, b, y, n, *s, kind, alpha, beta);
  return cudaGetLastError ();
}

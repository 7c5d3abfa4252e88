/* Group norm (with SiLU fused after the affine transform) and layer norm.
 *
 * One block per normalised group or row. Statistics in two passes (mean, then the mean of the
 * squared deviations) with float partial sums reduced as a tree: as exact as the CPU's, and
 * never the cancellation of E[x²] − E[x]².
 */
#include "jd-cuda-activation.cuh"
#include "jd-cuda-kernels.h"

#define NORM_THREADS 512

/* Sum of v over the block; every thread gets the result. shared: NORM_THREADS / 32 floats. */
static __device__ float
block_sum (float v, float *shared)
{
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync (0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads ();  /* shared may still be read from a previous call */
  if (lane == 0)
    shared[warp] = v;
  __syncthreads ();
  float total = 0.0f;
  for (int w = 0; w < (int) (blockDim.x / 32); w++)
    total += shared[w];
  return total;
}

/* Block n · groups + g: channels [g·cpg, (g+1)·cpg) of sample n, each `inner` elements. */
static __global__ void
group_norm_kernel (const float *x, const float *gamma, const float *beta, float *y, int64_t c,
                   int64_t inner, int groups, float eps, int silu)
{
  __shared__ float shared[NORM_THREADS / 32];
  const int64_t cpg = c / groups;
  const int64_t count = cpg * inner;
  const int64_t sample = blockIdx.x / groups, group = blockIdx.x % groups;
  const int64_t base = (sample * c + group * cpg) * inner;
  const float *xs = x + base;
  float *ys = y + base;

  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
    sum += xs[i];
  const float mean = block_sum (sum, shared) / (float) count;
  float sq = 0.0f;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
    {
      float d = xs[i] - mean;
      sq += d * d;
    }
  const float var = block_sum (sq, shared) / (float) count;
  const float rstd = rsqrtf (var + eps);
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
    {
      const int64_t ch = group * cpg + i / inner;
      float v = (xs[i] - mean) * rstd;
      if (gamma != NULL)
        v *= gamma[ch];
      if (beta != NULL)
        v += beta[ch];
      ys[i] = silu ? jd_cuda_unary (JD_CUDA_UNARY_SILU, v, 0.0f, 0.0f) : v;
    }
}

extern "C" cudaError_t
jd_cuda_launch_group_norm (const float *x, const float *gamma, const float *beta, float *y,
                           int64_t n, int64_t c, int64_t inner, int groups, float eps, int silu,
                           cudaStream_t stream)
{
  if (n <= 0 || c <= 0 || inner <= 0)
    return cudaSuccess;
  if (groups <= 0 || n * groups > 2147483647LL)
    return cudaErrorInvalidValue;
  group_norm_kernel<<<(unsigned) (n * groups), NORM_THREADS, 0, stream>>> (x, gamma, beta, y, c, inner, groups,
                                                        eps, silu);
  return cudaGetLastError ();
}

#define LN_THREADS 256

static __global__ void
layer_norm_kernel (const float *x, const float *gamma, const float *beta, float *y, int64_t rows,
                   int64_t c, float eps)
{
  __shared__ float shared[LN_THREADS / 32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x)
    {
      const float *xs = x + row * c;
      float *ys = y + row * c;
      float sum = 0.0f;
      for (int64_t i = threadIdx.x; i < c; i += blockDim.x)
        sum += xs[i];
      const float mean = block_sum (sum, shared) / (float) c;
      float sq = 0.0f;
      for (int64_t i = threadIdx.x; i < c; i += blockDim.x)
        {
          float d = xs[i] - mean;
          sq += d * d;
        }
      const float rstd = rsqrtf (block_sum (sq, shared) / (float) c + eps);
      for (int64_t i = threadIdx.x; i < c; i += blockDim.x)
        {
          float v = (xs[i] - mean) * rstd;
          if (gamma != NULL)
            v *= gamma[i];
          if (beta != NULL)
            v += beta[i];
          ys[i] = v;
        }
    }
}

extern "C" cudaError_t
jd_cuda_launch_layer_norm (const float *x, const float *gamma, const float *beta, float *y,
                           int64_t rows, int64_t c, float eps, cudaStream_t stream)
{
  if (rows <= 0 || c <= 0)
    return cudaSuccess;
  unsigned blocks = (unsigned) (rows < 1048576 ? rows : 1048576);
  layer_norm_kernel<<<blocks, LN_THREADS, 0, stream>>> (x, gamma, beta, y, rows, c, eps);
  return cudaGetLastError ();
}

/* Rotary position embedding and sinusoidal timestep embedding. Angles are formed and turned
 * into sines and cosines in double, as on the CPU (jd-cpu-position.c): positions reach ~1000 and
 * a float angle of that size is off by ~1e-4 radian. */
#include "jd-cuda-grid.cuh"
#include "jd-cuda-kernels.h"

/* table[l · n_pairs + p] = (cos, sin) of position l's angle for pair p: computed once per
 * position, not once per batch entry and head. */
static __global__ void
rope_table_kernel (const float *positions, float2 *table, int64_t length, JdCudaRope rope)
{
  const int64_t n = length * rope.n_pairs;
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    {
      const int64_t l = i / rope.n_pairs;
      const int p = (int) (i % rope.n_pairs);
      const double angle = (double) positions[l * rope.n_axes + rope.axis_of_pair[p]]
                           * rope.inv_freq[p];
      table[i] = make_float2 ((float) cos (angle), (float) sin (angle));
    }
}

/* Out of place, one thread per element of x: pairs (2p, 2p+1) below 2·n_pairs turn, the rest is copied. */
static __global__ void
rope_apply_kernel (const float *x, float *y, const float2 *table, int64_t n, int64_t length,
                   int heads, int64_t head_dim, int n_pairs)
{
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    {
      const int64_t d = i % head_dim;
      const int64_t l = (i / ((int64_t) heads * head_dim)) % length;
      if (d >= 2 * (int64_t) n_pairs)
        {
          y[i] = x[i];
          continue;
        }
      const float2 cs = table[l * n_pairs + d / 2];
      const int64_t pair = i - (d & 1);
      const float x0 = x[pair], x1 = x[pair + 1];
      /* x and y are distinct here (in place goes through rope_apply_pairs_kernel), so
       * reading the partner element cannot race with its write. */
      y[i] = (d & 1) == 0 ? __fsub_rn (__fmul_rn (x0, cs.x), __fmul_rn (x1, cs.y))
                          : __fadd_rn (__fmul_rn (x0, cs.y), __fmul_rn (x1, cs.x));
    }
}

/* In-place variant: one thread per pair, reads both then writes both. */
static __global__ void
rope_apply_pairs_kernel (float *y, const float2 *table, int64_t n_rows, int64_t length,
                         int heads, int64_t head_dim, int n_pairs)
{
  const int64_t n = n_rows * heads * (int64_t) n_pairs;
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    {
      const int p = (int) (i % n_pairs);
      const int64_t head_row = i / n_pairs;          /* (b, l, h) */
      const int64_t l = (head_row / heads) % length;
      float *pair = y + head_row * head_dim + 2 * p;
      const float2 cs = table[l * n_pairs + p];
      const float x0 = pair[0], x1 = pair[1];
      pair[0] = __fsub_rn (__fmul_rn (x0, cs.x), __fmul_rn (x1, cs.y));
      pair[1] = __fadd_rn (__fmul_rn (x0, cs.y), __fmul_rn (x1, cs.x));
    }
}

extern "C" cudaError_t
jd_cuda_launch_rope (const float *x, float *y, const float *positions, void *table,
                     int64_t batch, int64_t length, int heads, int64_t head_dim,
                     const JdCudaRope *rope, cudaStream_t stream)
{
  const int64_t n = batch * length * heads * head_dim;
  if (n <= 0)
    return cudaSuccess;
  if (rope->n_pairs > 0)
    {
      const int64_t table_n = length * rope->n_pairs;
      rope_table_kernel<<<jd_cuda_grid_for (table_n), JD_CUDA_THREADS, 0, stream>>> (
        positions, (float2 *) table, length, *rope);
    }
  if (x == y)
    {
      if (rope->n_pairs > 0)
        rope_apply_pairs_kernel<<<jd_cuda_grid_for (batch * length * heads * rope->n_pairs),
                                  JD_CUDA_THREADS, 0, stream>>> (
          y, (const float2 *) table, batch * length, length, heads, head_dim, rope->n_pairs);
    }
  else
    rope_apply_kernel<<<jd_cuda_grid_for (n), JD_CUDA_THREADS, 0, stream>>> (
      x, y, (const float2 *) table, n, length, heads, head_dim, rope->n_pairs);
  return cudaGetLastError ();
}

static __global__ void
timestep_kernel (const float *timesteps, float *y, int64_t n, int dim, int flip,
                 float downscale_freq_shift, float scale, float max_period)
{
  const int half = dim / 2;
  const int64_t total = n * (int64_t) dim;
  const double log_period = log ((double) max_period);
  JD_CUDA_GRID_STRIDE_LOOP (idx, total)
    {
      const int64_t row = idx / dim;
      const int col = (int) (idx % dim);
      if (col >= 2 * half)
        {
          y[idx] = 0.0f;  /* the odd last column */
          continue;
        }
      /* Column col is the sine or the cosine of frequency i. */
      const int first_half = col < half;
      const int i = first_half ? col : col - half;
      const int is_sin = flip ? !first_half : first_half;
      const double freq = exp (-log_period * i / ((double) half - (double) downscale_freq_shift));
      const double arg = (double) scale * ((double) timesteps[row] * freq);
      y[idx] = (float) (is_sin ? sin (arg) : cos (arg));
    }
}

extern "C" cudaError_t
jd_cuda_launch_timestep_embedding (const float *timesteps, float *y, int64_t n, int dim,
                                   int flip_sin_to_cos, float downscale_freq_shift, float scale,
                                   float max_period, cudaStream_t stream)
{
  const int64_t total = n * (int64_t) dim;
  if (total <= 0)
    return cudaSuccess;
  timestep_kernel<<<jd_cuda_grid_for (total), JD_CUDA_THREADS, 0, stream>>> (
    timesteps, y, n, dim, flip_sin_to_cos, downscale_freq_shift, scale, max_period);
  return cudaGetLastError ();
}

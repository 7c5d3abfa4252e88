/* Philox 4x32-10 Gaussian noise, bit-identical to engine/core/jd-philox.c.
 *
 * The CPU computes the Box–Muller mapping in double with its own ln and cos made of +, −, ×, ÷
 * and sqrt only, each correctly rounded, without fused multiply-adds. Here every such operation
 * is written with an explicit round-to-nearest intrinsic (__dadd_rn, __dmul_rn, __ddiv_rn,
 * __dsqrt_rn), which nvcc never contracts into an FMA, so both sides round identically.
 */
#include "jd-cuda-grid.cuh"
#include "jd-cuda-kernels.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define SQRT_HALF 0.70710678118654752440
#define HALF_PI 1.57079632679489661923

static __device__ __forceinline__ void
philox4x32_10 (uint32_t c[4], uint32_t key0, uint32_t key1)
{
  for (int round = 0; round < 10; round++)
    {
      const uint32_t hi0 = __umulhi (PHILOX_M0, c[0]), lo0 = PHILOX_M0 * c[0];
      const uint32_t hi1 = __umulhi (PHILOX_M1, c[2]), lo1 = PHILOX_M1 * c[2];
      const uint32_t n0 = hi1 ^ c[1] ^ key0;
      const uint32_t n2 = hi0 ^ c[3] ^ key1;
      c[0] = n0;
      c[1] = lo1;
      c[2] = n2;
      c[3] = lo0;
      key0 += PHILOX_W0;
      key1 += PHILOX_W1;
    }
}

/* jd_philox_log, operation for operation. */
static __device__ double
philox_log (double x)
{
  int k;
  double m = frexp (x, &k);
  if (m < SQRT_HALF)
    {
      m = __dmul_rn (m, 2.0);
      k = k - 1;
    }
  const double s = __ddiv_rn (__dadd_rn (m, -1.0), __dadd_rn (m, 1.0));
  const double s2 = __dmul_rn (s, s);
  double sum = 0.0;
  for (int n = 27; n >= 3; n -= 2)
    sum = __dmul_rn (__dadd_rn (sum, __ddiv_rn (1.0, (double) n)), s2);
  const double ln_m = __dadd_rn (__dmul_rn (2.0, s), __dmul_rn (__dmul_rn (2.0, s), sum));
  return __dadd_rn (__dmul_rn ((double) k, LN2_HI),
                    __dadd_rn (__dmul_rn ((double) k, LN2_LO), ln_m));
}

static __device__ void
sincos_quadrant (double theta, double *sin_out, double *cos_out)
{
  const double t2 = __dmul_rn (theta, theta);
  double s = 0.0, c = 0.0;
  for (int n = 25; n >= 3; n -= 2)
    s = __dmul_rn (__dadd_rn (s, 1.0), __ddiv_rn (-t2, __dmul_rn ((double) n, (double) (n - 1))));
  s = __dadd_rn (theta, __dmul_rn (theta, s));
  for (int n = 24; n >= 2; n -= 2)
    c = __dmul_rn (__dadd_rn (c, 1.0), __ddiv_rn (-t2, __dmul_rn ((double) n, (double) (n - 1))));
  c = __dadd_rn (1.0, c);
  *sin_out = s;
  *cos_out = c;
}

static __device__ double
philox_cos2pi (double u)
{
  const double q = __dmul_rn (u, 4.0);
  const double quadrant = floor (q);
  const double fraction = __dadd_rn (q, -quadrant);
  double s, c;
  sincos_quadrant (__dmul_rn (fraction, HALF_PI), &s, &c);
  switch ((int) quadrant & 3)
    {
    case 0: return c;
    case 1: return -s;
    case 2: return -c;
    default: return s;
    }
}

static __global__ void
normal_noise_kernel (float *dst, int64_t n, uint64_t seed, uint64_t offset)
{
  const double inv_2_32 = 1.0 / 4294967296.0;
  JD_CUDA_GRID_STRIDE_LOOP (i, n)
    {
      const uint64_t index = offset + (uint64_t) i;
      uint32_t c[4] = { (uint32_t) index, (uint32_t) (index >> 32), 0u, 0u };
      philox4x32_10 (c, (uint32_t) seed, (uint32_t) (seed >> 32));
      const double u1 = __dmul_rn (__dadd_rn ((double) c[0], 0.5), inv_2_32);
      const double u2 = __dmul_rn (__dadd_rn ((double) c[1], 0.5), inv_2_32);
      const double radius = __dsqrt_rn (__dmul_rn (-2.0, philox_log (u1)));
      dst[i] = __double2float_rn (__dmul_rn (radius, philox_cos2pi (u2)));
    }
}

extern "C" cudaError_t
jd_cuda_launch_normal_noise (float *dst, int64_t n, uint64_t seed, uint64_t offset,
                             cudaStream_t stream)
{
  if (n <= 0)
    return cudaSuccess;
  normal_noise_kernel<<<jd_cuda_grid_for (n), JD_CUDA_THREADS, 0, stream>>> (dst, n, seed,
                                                                             offset);
  return cudaGetLastError ();
}

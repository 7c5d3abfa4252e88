/* Compiled with -ffp-contract=off (see engine/meson.build): the Gaussian mapping must round
 * after every operation for the noise to be identical across backends. */
#include "jd-philox.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

JdPhilox4x32
jd_philox4x32_10 (JdPhilox4x32 counter,
                  uint32_t     key0,
                  uint32_t     key1)
{
  uint32_t c0 = counter.v[0], c1 = counter.v[1], c2 = counter.v[2], c3 = counter.v[3];
  for (int round = 0; round < 10; round++)
    {
      uint64_t p0 = (uint64_t) PHILOX_M0 * c0;
      uint64_t p1 = (uint64_t) PHILOX_M1 * c2;
      uint32_t hi0 = (uint32_t) (p0 >> 32), lo0 = (uint32_t) p0;
      uint32_t hi1 = (uint32_t) (p1 >> 32), lo1 = (uint32_t) p1;
      c0 = hi1 ^ c1 ^ key0;
      c1 = lo1;
      c2 = hi0 ^ c3 ^ key1;
      c3 = lo0;
      key0 += PHILOX_W0;
      key1 += PHILOX_W1;
    }
  return (JdPhilox4x32) { { c0, c1, c2, c3 } };
}

/* ln 2 split so that k · LN2_HI is exact for |k| < 2^11. */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define SQRT_HALF 0.70710678118654752440

double
jd_philox_log (double x)
{
  /* x = m · 2^k with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s), s = (m − 1)/(m + 1),
   * |s| < 0.1716, summed to s^27 (the next term is below 1e-21 of the result). */
  int k;
  double m = frexp (x, &k); /* m in [0.5, 1) */
  if (m < SQRT_HALF)
    {
      m = m * 2.0;
      k = k - 1;
    }
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double sum = 0.0;
  for (int n = 27; n >= 3; n -= 2)
    sum = (sum + 1.0 / (double) n) * s2;
  double ln_m = 2.0 * s + 2.0 * s * sum;
  return (double) k * LN2_HI + ((double) k * LN2_LO + ln_m);
}

#define HALF_PI 1.57079632679489661923

/* sin and cos of θ in [0, π/2] by Taylor series to θ^25 (error below 1e-18). */
static void
sincos_quadrant (double theta, double *sin_out, double *cos_out)
{
  double t2 = theta * theta;
  double s = 0.0, c = 0.0;
  for (int n = 25; n >= 3; n -= 2)
    s = (s + 1.0) * (-t2 / ((double) n * (double) (n - 1)));
  s = theta + theta * s;
  for (int n = 24; n >= 2; n -= 2)
    c = (c + 1.0) * (-t2 / ((double) n * (double) (n - 1)));
  c = 1.0 + c;
  *sin_out = s;
  *cos_out = c;
}

double
jd_philox_cos2pi (double u)
{
  /* u · 4 = quadrant + fraction, both exact for u a 33-bit fraction as produced here. */
  double q = u * 4.0;
  double quadrant = floor (q);
  double fraction = q - quadrant;
  double s, c;
  sincos_quadrant (fraction * HALF_PI, &s, &c);
  switch ((int) quadrant & 3)
    {
    case 0: return c;
    case 1: return -s;
    case 2: return -c;
    default: return s;
    }
}

static inline float
normal_from_words (uint32_t w0, uint32_t w1)
{
  const double inv_2_32 = 1.0 / 4294967296.0;
  double u1 = ((double) w0 + 0.5) * inv_2_32;
  double u2 = ((double) w1 + 0.5) * inv_2_32;
  double radius = sqrt (-2.0 * jd_philox_log (u1));
  return (float) (radius * jd_philox_cos2pi (u2));
}

float
jd_philox_normal (uint64_t seed,
                  uint64_t index)
{
  JdPhilox4x32 counter = { { (uint32_t) index, (uint32_t) (index >> 32), 0, 0 } };
  JdPhilox4x32 out = jd_philox4x32_10 (counter, (uint32_t) seed, (uint32_t) (seed >> 32));
  return normal_from_words (out.v[0], out.v[1]);
}

void
jd_philox_fill_normal (uint64_t seed,
                       uint64_t offset,
                       float   *out,
                       gsize    n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = jd_philox_normal (seed, offset + i);
}

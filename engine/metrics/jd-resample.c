/* jd-resample.c — windowed-sinc resampling. */
#include "jd-resample.h"

#include <math.h>

#include "jd-error.h"

#define ZERO_CROSSINGS 32
#define KAISER_BETA 8.6
#define CUTOFF 0.97

/* The modified Bessel function I0 by its power series (converges fast for β ≤ 20). */
static double
bessel_i0 (double x)
{
  double sum = 1, term = 1;
  for (int k = 1; k < 60; k++)
    {
      term *= (x / (2 * k)) * (x / (2 * k));
      sum += term;
      if (term < sum * 1e-17)
        break;
    }
  return sum;
}

float *
jd_resample (const float *in, gsize n_in, int rate_in, int rate_out, gsize *n_out,
             GError **error)
{
  if (rate_in <= 0 || rate_out <= 0 || n_in == 0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "resampling: %" G_GSIZE_FORMAT " samples from %d Hz to %d Hz is not possible "
                   "(need samples and positive rates)", n_in, rate_in, rate_out);
      return NULL;
    }
  gsize n = (gsize) ceil ((double) n_in * rate_out / rate_in);
  float *out = g_new (float, n);
  /* In units of input samples: the filter's cut-off (cycles per input sample × 2) and reach. */
  double cutoff = CUTOFF * MIN (1.0, (double) rate_out / rate_in);
  double reach = ZERO_CROSSINGS / cutoff;
  /* The Kaiser window tabulated over |u| ∈ [0, 1] (linear interpolation between entries is
   * far below the window's own stop-band level). */
  enum { TABLE = 4096 };
  double norm = bessel_i0 (KAISER_BETA);
  g_autofree double *table = g_new (double, TABLE + 2);
  for (int k = 0; k <= TABLE + 1; k++)
    {
      double u = MIN (1.0, (double) k / TABLE);
      table[k] = bessel_i0 (KAISER_BETA * sqrt (MAX (0.0, 1 - u * u))) / norm;
    }
  for (gsize i = 0; i < n; i++)
    {
      double t = (double) i * rate_in / rate_out;
      long first = (long) ceil (t - reach), last = (long) floor (t + reach);
      double sum = 0;
      for (long j = MAX (first, 0); j <= last && j < (long) n_in; j++)
        {
          double d = j - t, u = fabs (d) / reach * TABLE;
          int k = (int) u;
          double window = k >= TABLE ? 0.0 : table[k] + (u - k) * (table[k + 1] - table[k]);
          double x = G_PI * cutoff * d;
          double sinc = fabs (x) < 1e-12 ? 1.0 : sin (x) / x;
          sum += in[j] * cutoff * sinc * window;
        }
      out[i] = (float) sum;
    }
  *n_out = n;
  return out;
}

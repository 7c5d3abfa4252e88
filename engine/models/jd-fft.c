/* jd-fft.c — recursive mixed-radix FFT. */
#include "jd-fft.h"

#include <math.h>

#include "jd-error.h"

struct _JdFft {
  int             n;
  double complex *roots;  /* roots[j] = e^(−2πi·j/n) */
};

JdFft *
jd_fft_new (int n, GError **error)
{
  if (n < 1)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "FFT: the length must be at least 1, not %d", n);
      return NULL;
    }
  JdFft *self = g_new0 (JdFft, 1);
  self->n = n;
  self->roots = g_new (double complex, n);
  for (int j = 0; j < n; j++)
    {
      /* Each root from its own angle, so errors do not accumulate along the table. */
      double angle = -2.0 * G_PI * (double) j / n;
      self->roots[j] = cos (angle) + I * sin (angle);
    }
  return self;
}

void
jd_fft_free (JdFft *self)
{
  if (self == NULL)
    return;
  g_free (self->roots);
  g_free (self);
}

int
jd_fft_size (const JdFft *self)
{
  return self->n;
}

static int
smallest_factor (int n)
{
  if (n % 2 == 0)
    return 2;
  for (int p = 3; p * p <= n; p += 2)
    if (n % p == 0)
      return p;
  return n;
}

/* Plain complex product: C's `*` on complex values calls a NaN-checking library routine
 * (__muldc3) that costs several times the arithmetic, and no NaN reaches here. */
static inline double complex
mul (double complex a, double complex b)
{
  double ar = creal (a), ai = cimag (a), br = creal (b), bi = cimag (b);
  return CMPLX (ar * br - ai * bi, ar * bi + ai * br);
}

/* W_n^e with the sign of the transform (conjugated roots for the inverse). */
static inline double complex
twiddle (const JdFft *self, int n, long e, gboolean inverse)
{
  double complex w = self->roots[(e % n) * (self->n / n)];
  return inverse ? conj (w) : w;
}

/* out[0..n) = DFT of in[0], in[stride], …; scratch holds at least the largest prime factor. */
static void
transform (const JdFft *self, const double complex *in, gsize stride, double complex *out, int n,
           double complex *scratch, gboolean inverse)
{
  if (n == 1)
    {
      out[0] = in[0];
      return;
    }
  int p = smallest_factor (n), m = n / p;
  for (int r = 0; r < p; r++)
    transform (self, in + r * stride, stride * p, out + r * m, m, scratch, inverse);
  /* out[r·m + k] = Y_r[k]; X[k + q·m] = Σ_r W_n^(r·k) Y_r[k] · W_p^(r·q). Each k reads and
   * writes the same p slots, so it can be done in place through scratch. */
  if (p == 2)
    {
      for (int k = 0; k < m; k++)
        {
          double complex a = out[k], b = mul (out[k + m], twiddle (self, n, k, inverse));
          out[k] = a + b;
          out[k + m] = a - b;
        }
      return;
    }
  for (int k = 0; k < m; k++)
    {
      for (int r = 0; r < p; r++)
        scratch[r] = mul (out[r * m + k], twiddle (self, n, (long) r * k, inverse));
      for (int q = 0; q < p; q++)
        {
          double complex sum = 0;
          for (int r = 0; r < p; r++)
            sum += mul (scratch[r], twiddle (self, p, (long) r * q, inverse));
          out[k + q * m] = sum;
        }
    }
}

void
jd_fft_forward (const JdFft *self, const double complex *in, double complex *out,
                double complex *scratch)
{
  transform (self, in, 1, out, self->n, scratch, FALSE);
}

void
jd_fft_inverse (const JdFft *self, const double complex *in, double complex *out,
                double complex *scratch)
{
  transform (self, in, 1, out, self->n, scratch, TRUE);
  double scale = 1.0 / self->n;
  for (int t = 0; t < self->n; t++)
    out[t] *= scale;
}

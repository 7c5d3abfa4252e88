/* jd-fft.c — recursive mixed-radix FFT. */
#include "jd-fft.h"

#include <math.h>

#include "jd-error.h"

struct _JdFft {
  int             n;
  double complex *roots;      /* roots[j] = e^(−2πi·j/n) */
  /* Powers of two: the bit-reversal permutation, and per stage of length L the twiddles
   * e^(∓2πi·j/L), j < L/2, stored from offset L/2 − 1 (forward and inverse signs). */
  int            *bitrev;
  double complex *stage_forward;
  double complex *stage_inverse;
  /* Even n: the plan of n / 2 for real signals. */
  JdFft          *half;
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
  if ((n & (n - 1)) == 0 && n > 1)
    {
      int bits = 0;
      while ((1 << bits) < n)
        bits++;
      self->bitrev = g_new (int, n);
      for (int i = 0; i < n; i++)
        {
          int r = 0;
          for (int b = 0; b < bits; b++)
            r |= ((i >> b) & 1) << (bits - 1 - b);
          self->bitrev[i] = r;
        }
      self->stage_forward = g_new (double complex, n);
      self->stage_inverse = g_new (double complex, n);
      for (int len = 2; len <= n; len <<= 1)
        for (int j = 0; j < len / 2; j++)
          {
            double complex w = self->roots[j * (n / len)];
            self->stage_forward[len / 2 - 1 + j] = w;
            self->stage_inverse[len / 2 - 1 + j] = conj (w);
          }
    }
  if (n % 2 == 0)
    self->half = jd_fft_new (n / 2, NULL);
  return self;
}

void
jd_fft_free (JdFft *self)
{
  if (self == NULL)
    return;
  g_free (self->roots);
  g_free (self->bitrev);
  g_free (self->stage_forward);
  g_free (self->stage_inverse);
  jd_fft_free (self->half);
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

/* re + i·im without C11's CMPLX, which clang's headers lack; fine for finite values. */
static inline double complex
complex_of (double re, double im)
{
  return re + im * I;
}

/* Plain complex product: C's `*` on complex values calls a NaN-checking library routine
 * (__muldc3) that costs several times the arithmetic, and no NaN reaches here. */
static inline double complex
mul (double complex a, double complex b)
{
  double ar = creal (a), ai = cimag (a), br = creal (b), bi = cimag (b);
  return complex_of (ar * br - ai * bi, ar * bi + ai * br);
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

static void
transform_pow2 (const JdFft *self, const double complex *in, double complex *out,
                gboolean inverse)
{
  const int n = self->n;
  for (int i = 0; i < n; i++)
    out[self->bitrev[i]] = in[i];
  const double complex *table = inverse ? self->stage_inverse : self->stage_forward;
  for (int len = 2; len <= n; len <<= 1)
    {
      const int half = len / 2;
      const double complex *tw = table + half - 1;
      for (int i = 0; i < n; i += len)
        for (int j = 0; j < half; j++)
          {
            double complex a = out[i + j], b = mul (out[i + j + half], tw[j]);
            out[i + j] = a + b;
            out[i + j + half] = a - b;
          }
    }
}

static void
run (const JdFft *self, const double complex *in, double complex *out, double complex *scratch,
     gboolean inverse)
{
  if (self->bitrev != NULL)
    transform_pow2 (self, in, out, inverse);
  else
    transform (self, in, 1, out, self->n, scratch, inverse);
}

void
jd_fft_forward (const JdFft *self, const double complex *in, double complex *out,
                double complex *scratch)
{
  run (self, in, out, scratch, FALSE);
}

void
jd_fft_inverse (const JdFft *self, const double complex *in, double complex *out,
                double complex *scratch)
{
  run (self, in, out, scratch, TRUE);
  double scale = 1.0 / self->n;
  for (int t = 0; t < self->n; t++)
    out[t] *= scale;
}

void
jd_fft_forward_real (const JdFft *self, const double *in, double complex *out,
                     double complex *scratch)
{
  const int n = self->n;
  if (self->half == NULL)
    {
      /* Odd n: a complex transform of the real signal. */
      double complex *z = scratch, *full = scratch + n, *work = scratch + 2 * n;
      for (int t = 0; t < n; t++)
        z[t] = in[t];
      run (self, z, full, work, FALSE);
      for (int k = 0; k <= n / 2; k++)
        out[k] = full[k];
      return;
    }
  /* Pack even samples as real parts and odd ones as imaginary parts, transform at n/2 and
   * separate: X[k] = E[k] + W_n^k O[k] with E, O the halves' spectra. */
  const int m = n / 2;
  double complex *z = scratch, *spectrum = scratch + m, *work = scratch + 2 * m;
  for (int t = 0; t < m; t++)
    z[t] = complex_of (in[2 * t], in[2 * t + 1]);
  run (self->half, z, spectrum, work, FALSE);
  for (int k = 0; k <= m; k++)
    {
      double complex zk = spectrum[k % m], zc = conj (spectrum[(m - k) % m]);
      double complex even = 0.5 * (zk + zc), odd = -0.5 * I * (zk - zc);
      out[k] = even + mul (self->roots[k % n], odd);
    }
}

void
jd_fft_inverse_real (const JdFft *self, const double complex *in, double *out,
                     double complex *scratch)
{
  const int n = self->n;
  if (self->half == NULL)
    {
      double complex *full = scratch, *signal = scratch + n, *work = scratch + 2 * n;
      full[0] = creal (in[0]);
      for (int k = 1; k <= n / 2; k++)
        {
          full[k] = in[k];
          full[n - k] = conj (in[k]);
        }
      run (self, full, signal, work, TRUE);   /* unscaled */
      for (int t = 0; t < n; t++)
        out[t] = creal (signal[t]) / n;
      return;
    }
  const int m = n / 2;
  double complex *spectrum = scratch, *z = scratch + m, *work = scratch + 2 * m;
  for (int k = 0; k < m; k++)
    {
      /* Bins 0 and m stand for real values. */
      double complex xk = k == 0 ? creal (in[0]) : in[k];
      double complex xc = k == 0 ? creal (in[m]) : conj (in[m - k]);
      double complex even = 0.5 * (xk + xc);
      double complex odd = mul (0.5 * (xk - xc), conj (self->roots[k]));
      spectrum[k] = even + I * odd;
    }
  run (self->half, spectrum, z, work, TRUE);   /* unscaled: m·(e + i·o) */
  const double scale = 1.0 / m;
  for (int t = 0; t < m; t++)
    {
      out[2 * t] = creal (z[t]) * scale;
      out[2 * t + 1] = cimag (z[t]) * scale;
    }
}

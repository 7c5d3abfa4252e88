/* jd-mel.c — Slaney mel filters, log-mel and the filters' pseudo-inverse. */
#include "jd-mel.h"

#include <math.h>

#include "jd-error.h"

struct _JdMel {
  JdMelConfig  config;
  int          bins;
  double      *filters;  /* n_mels × bins */
  double      *inverse;  /* bins × n_mels: Fᵀ (F Fᵀ)⁻¹ */
};

/* The Slaney scale: linear to 1 kHz (15 mels), then 27 mels per factor 6.4 in frequency. */
#define HZ_PER_MEL   (200.0 / 3.0)
#define BREAK_HZ     1000.0
#define BREAK_MEL    (BREAK_HZ / HZ_PER_MEL)
#define LOG_STEP     (log (6.4) / 27.0)

JdMelConfig
jd_mel_config_audioldm (void)
{
  return (JdMelConfig) { .sample_rate = 16000, .n_fft = 1024, .n_mels = 64, .fmin = 0.0,
                         .fmax = 8000.0 };
}

double
jd_mel_from_hz (double hz)
{
  if (hz < BREAK_HZ)
    return hz / HZ_PER_MEL;
  return BREAK_MEL + log (hz / BREAK_HZ) / LOG_STEP;
}

double
jd_mel_to_hz (double mel)
{
  if (mel < BREAK_MEL)
    return mel * HZ_PER_MEL;
  return BREAK_HZ * exp (LOG_STEP * (mel - BREAK_MEL));
}

/* Solves the n × n symmetric positive definite system a·x = b in place (b has m columns,
 * row-major n × m) by Cholesky; FALSE when a is not positive definite. */
static gboolean
cholesky_solve (double *a, int n, double *b, int m)
{
  for (int j = 0; j < n; j++)
    {
      double d = a[j * n + j];
      for (int k = 0; k < j; k++)
        d -= a[j * n + k] * a[j * n + k];
      if (!(d > 0.0))
        return FALSE;
      a[j * n + j] = sqrt (d);
      for (int i = j + 1; i < n; i++)
        {
          double s = a[i * n + j];
          for (int k = 0; k < j; k++)
            s -= a[i * n + k] * a[j * n + k];
          a[i * n + j] = s / a[j * n + j];
        }
    }
  for (int c = 0; c < m; c++)
    {
      for (int i = 0; i < n; i++)
        {
          double s = b[i * m + c];
          for (int k = 0; k < i; k++)
            s -= a[i * n + k] * b[k * m + c];
          b[i * m + c] = s / a[i * n + i];
        }
      for (int i = n - 1; i >= 0; i--)
        {
          double s = b[i * m + c];
          for (int k = i + 1; k < n; k++)
            s -= a[k * n + i] * b[k * m + c];
          b[i * m + c] = s / a[i * n + i];
        }
    }
  return TRUE;
}

JdMel *
jd_mel_new (const JdMelConfig *config, GError **error)
{
  const JdMelConfig *c = config;
  if (c->sample_rate < 1 || c->n_fft < 2 || c->n_mels < 1 || !(c->fmin >= 0.0)
      || !(c->fmax > c->fmin) || c->fmax > c->sample_rate / 2.0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "mel filters: %d Hz, n_fft %d, %d mels from %g to %g Hz do not fit together "
                   "(need 0 ≤ fmin < fmax ≤ Nyquist)", c->sample_rate, c->n_fft, c->n_mels,
                   c->fmin, c->fmax);
      return NULL;
    }
  g_autoptr (JdMel) self = g_new0 (JdMel, 1);
  self->config = *c;
  const int bins = self->bins = c->n_fft / 2 + 1, n_mels = c->n_mels;
  self->filters = g_new0 (double, (gsize) n_mels * bins);

  g_autofree double *edges = g_new (double, n_mels + 2);
  double lo = jd_mel_from_hz (c->fmin), hi = jd_mel_from_hz (c->fmax);
  for (int i = 0; i < n_mels + 2; i++)
    edges[i] = jd_mel_to_hz (lo + (hi - lo) * i / (n_mels + 1));
  for (int m = 0; m < n_mels; m++)
    {
      double left = edges[m], centre = edges[m + 1], right = edges[m + 2];
      double height = 2.0 / (right - left);
      gboolean any = FALSE;
      for (int k = 0; k < bins; k++)
        {
          double f = (double) k * c->sample_rate / c->n_fft;
          double rise = (f - left) / (centre - left), fall = (right - f) / (right - centre);
          double w = MAX (0.0, MIN (rise, fall));
          self->filters[(gsize) m * bins + k] = w * height;
          any |= w > 0.0;
        }
      if (!any)
        {
          g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                       "mel filters: filter %d (%.1f–%.1f Hz) covers no FFT bin at n_fft %d; use "
                       "fewer mels or a larger n_fft", m, left, right, c->n_fft);
          return NULL;
        }
    }

  /* Pseudo-inverse Fᵀ (F Fᵀ)⁻¹: solve (F Fᵀ) X = F for X (n_mels × bins), then transpose. */
  g_autofree double *gram = g_new (double, (gsize) n_mels * n_mels);
  g_autofree double *x = g_memdup2 (self->filters, sizeof (double) * (gsize) n_mels * bins);
  for (int i = 0; i < n_mels; i++)
    for (int j = 0; j < n_mels; j++)
      {
        double s = 0.0;
        for (int k = 0; k < bins; k++)
          s += self->filters[(gsize) i * bins + k] * self->filters[(gsize) j * bins + k];
        gram[i * n_mels + j] = s;
      }
  if (!cholesky_solve (gram, n_mels, x, bins))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "mel filters: %d mels at n_fft %d overlap too much to be inverted", n_mels,
                   c->n_fft);
      return NULL;
    }
  self->inverse = g_new (double, (gsize) bins * n_mels);
  for (int m = 0; m < n_mels; m++)
    for (int k = 0; k < bins; k++)
      self->inverse[(gsize) k * n_mels + m] = x[(gsize) m * bins + k];
  return g_steal_pointer (&self);
}

void
jd_mel_free (JdMel *self)
{
  if (self == NULL)
    return;
  g_free (self->filters);
  g_free (self->inverse);
  g_free (self);
}

const JdMelConfig *
jd_mel_get_config (const JdMel *self)
{
  return &self->config;
}

int
jd_mel_bins (const JdMel *self)
{
  return self->bins;
}

const double *
jd_mel_filterbank (const JdMel *self)
{
  return self->filters;
}

void
jd_mel_from_magnitude (const JdMel *self, const double *magnitude, int64_t frames, float *log_mel)
{
  const int bins = self->bins, n_mels = self->config.n_mels;
#pragma omp parallel for schedule(static)
  for (int64_t f = 0; f < frames; f++)
    for (int m = 0; m < n_mels; m++)
      {
        const double *w = self->filters + (gsize) m * bins, *s = magnitude + f * bins;
        double sum = 0.0;
        for (int k = 0; k < bins; k++)
          sum += w[k] * s[k];
        log_mel[f * n_mels + m] = (float) log (MAX (sum, JD_MEL_LOG_FLOOR));
      }
}

gboolean
jd_mel_log_spectrogram (const JdMel *self, const JdStft *stft, const float *signal,
                        int64_t samples, float *log_mel, GError **error)
{
  if (jd_stft_get_config (stft)->n_fft != self->config.n_fft)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "log-mel: the STFT's n_fft %d differs from the mel filters' %d",
                   jd_stft_get_config (stft)->n_fft, self->config.n_fft);
      return FALSE;
    }
  int64_t frames = jd_stft_frames (stft, samples);
  g_autofree double complex *spec = g_new (double complex, MAX (frames, 1) * self->bins);
  if (!jd_stft_forward (stft, signal, samples, spec, error))
    return FALSE;
  g_autofree double *magnitude = g_new (double, frames * self->bins);
  for (int64_t i = 0; i < frames * self->bins; i++)
    magnitude[i] = cabs (spec[i]);
  jd_mel_from_magnitude (self, magnitude, frames, log_mel);
  return TRUE;
}

void
jd_mel_to_magnitude (const JdMel *self, const float *log_mel, int64_t frames, double *magnitude)
{
  const int bins = self->bins, n_mels = self->config.n_mels;
#pragma omp parallel
  {
    double *mel = g_new (double, n_mels);
#pragma omp for schedule(static)
    for (int64_t f = 0; f < frames; f++)
      {
        for (int m = 0; m < n_mels; m++)
          mel[m] = exp (log_mel[f * n_mels + m]);
        for (int k = 0; k < bins; k++)
          {
            const double *row = self->inverse + (gsize) k * n_mels;
            double sum = 0.0;
            for (int m = 0; m < n_mels; m++)
              sum += row[m] * mel[m];
            magnitude[f * bins + k] = MAX (sum, 0.0);
          }
      }
    g_free (mel);
  }
}

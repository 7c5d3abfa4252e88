/* jd-stft.c — STFT and inverse STFT over jd-fft. */
#include "jd-stft.h"

#include <math.h>

#include "jd-error.h"
#include "jd-fft.h"

struct _JdStft {
  JdStftConfig  config;
  JdFft        *fft;
  double       *window;
};

JdStftConfig
jd_stft_config_audioldm (void)
{
  return (JdStftConfig) { .n_fft = 1024, .hop = 160, .win_length = 1024, .pad = (1024 - 160) / 2 };
}

JdStft *
jd_stft_new (const JdStftConfig *config, GError **error)
{
  if (config->n_fft < 2 || config->hop < 1 || config->win_length < 1
      || config->win_length > config->n_fft || config->pad < 0 || config->n_fft > (1 << 24))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "STFT: n_fft %d, hop %d, window %d and pad %d do not fit together (need "
                   "n_fft ≥ 2, hop ≥ 1, 1 ≤ window ≤ n_fft, pad ≥ 0)", config->n_fft, config->hop,
                   config->win_length, config->pad);
      return NULL;
    }
  g_autoptr (JdFft) fft = jd_fft_new (config->n_fft, error);
  if (fft == NULL)
    return NULL;
  JdStft *self = g_new0 (JdStft, 1);
  self->config = *config;
  self->fft = g_steal_pointer (&fft);
  self->window = g_new0 (double, config->n_fft);
  int offset = (config->n_fft - config->win_length) / 2;
  for (int i = 0; i < config->win_length; i++)
    self->window[offset + i] = 0.5 - 0.5 * cos (2.0 * G_PI * i / config->win_length);
  return self;
}

void
jd_stft_free (JdStft *self)
{
  if (self == NULL)
    return;
  jd_fft_free (self->fft);
  g_free (self->window);
  g_free (self);
}

const JdStftConfig *
jd_stft_get_config (const JdStft *self)
{
  return &self->config;
}

int
jd_stft_bins (const JdStft *self)
{
  return self->config.n_fft / 2 + 1;
}

const double *
jd_stft_window (const JdStft *self)
{
  return self->window;
}

int64_t
jd_stft_frames (const JdStft *self, int64_t samples)
{
  int64_t padded = samples + 2 * (int64_t) self->config.pad;
  if (samples < 1 || padded < self->config.n_fft)
    return 0;
  return 1 + (padded - self->config.n_fft) / self->config.hop;
}

/* Sample i of the reflect-padded signal (i in padded coordinates). */
static inline float
padded_sample (const float *signal, int64_t samples, int64_t pad, int64_t i)
{
  int64_t j = i - pad;
  if (j < 0)
    j = -j;
  else if (j >= samples)
    j = 2 * (samples - 1) - j;
  return signal[j];
}

gboolean
jd_stft_forward (const JdStft *self, const float *signal, int64_t samples, double complex *spec,
                 GError **error)
{
  const JdStftConfig *c = &self->config;
  int64_t frames = jd_stft_frames (self, samples);
  if (frames < 1 || samples <= c->pad)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "STFT: a signal of %" G_GINT64_FORMAT " samples is too short for n_fft %d "
                   "with a reflect pad of %d", samples, c->n_fft, c->pad);
      return FALSE;
    }
  const int n = c->n_fft, bins = jd_stft_bins (self);
#pragma omp parallel
  {
    double *in = g_new (double, n);
    double complex *scratch = g_new (double complex, 3 * (gsize) n);
#pragma omp for schedule(static)
    for (int64_t f = 0; f < frames; f++)
      {
        for (int t = 0; t < n; t++)
          in[t] = self->window[t] * padded_sample (signal, samples, c->pad, f * c->hop + t);
        jd_fft_forward_real (self->fft, in, spec + f * bins, scratch);
      }
    g_free (in);
    g_free (scratch);
  }
  return TRUE;
}

void
jd_stft_inverse (const JdStft *self, const double complex *spec, int64_t frames, float *signal,
                 int64_t samples)
{
  const JdStftConfig *c = &self->config;
  const int n = c->n_fft, bins = jd_stft_bins (self);
  int64_t length = (int64_t) n + (frames - 1) * c->hop;
  g_autofree double *sum = g_new0 (double, length);
  g_autofree double *weight = g_new0 (double, length);
  g_autofree double *frames_out = g_new (double, (gsize) frames * n);
#pragma omp parallel
  {
    double complex *scratch = g_new (double complex, 3 * (gsize) n);
#pragma omp for schedule(static)
    for (int64_t f = 0; f < frames; f++)
      {
        /* The imaginary parts of the DC and Nyquist bins cannot belong to a real frame and are
         * dropped, as irfft does. */
        double *out = frames_out + f * n;
        jd_fft_inverse_real (self->fft, spec + f * bins, out, scratch);
        for (int t = 0; t < n; t++)
          out[t] *= self->window[t];
      }
    g_free (scratch);
  }
  /* Overlap-add serially: neighbouring frames share samples. */
  for (int64_t f = 0; f < frames; f++)
    for (int t = 0; t < n; t++)
      {
        sum[f * c->hop + t] += frames_out[f * n + t];
        weight[f * c->hop + t] += self->window[t] * self->window[t];
      }
  for (int64_t i = 0; i < samples; i++)
    {
      int64_t j = i + c->pad;
      double value = 0.0;
      if (j < length && weight[j] > 1e-11)
        value = sum[j] / weight[j];
      signal[i] = (float) value;
    }
}

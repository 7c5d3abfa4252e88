/* jd-onset-strength.c — librosa's onset strength envelope and peak picker. */
#include "jd-onset-strength.h"

#include <math.h>
#include <string.h>

#include "jd-error.h"
#include "jd-fft.h"
#include "jd-mel.h"

#define POWER_FLOOR 1e-10
#define TOP_DB 80.0

JdOnsetStrengthConfig
jd_onset_strength_config_librosa (void)
{
  return (JdOnsetStrengthConfig) { .sample_rate = 22050, .n_fft = 2048, .hop = 512, .n_mels = 128 };
}

JdPeakPickConfig
jd_peak_pick_config_librosa (void)
{
  /* librosa derives these from 30 ms / 100 ms at 22,050 Hz and hop 512. */
  return (JdPeakPickConfig) { .pre_max = 1, .post_max = 1, .pre_avg = 4, .post_avg = 5,
                              .wait = 1, .delta = 0.07 };
}

double *
jd_onset_strength (const float *signal, gsize samples, const JdOnsetStrengthConfig *config,
                   gsize *n_frames, GError **error)
{
  if (samples == 0 || config->n_fft < 4 || config->n_fft % 2 || config->hop < 1
      || config->n_mels < 1 || config->sample_rate < 1)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "onset strength: %" G_GSIZE_FORMAT " samples at %d Hz with n_fft %d, hop %d "
                   "and %d mel bands do not make sense", samples, config->sample_rate,
                   config->n_fft, config->hop, config->n_mels);
      return NULL;
    }
  const int n_fft = config->n_fft, bins = n_fft / 2 + 1;
  JdMelConfig mel_config = { .sample_rate = config->sample_rate, .n_fft = n_fft,
                             .n_mels = config->n_mels, .fmin = 0,
                             .fmax = config->sample_rate / 2.0 };
  g_autoptr (JdMel) mel = jd_mel_new (&mel_config, error);
  g_autoptr (JdFft) fft = jd_fft_new (n_fft, error);
  if (!mel || !fft)
    return NULL;
  const double *filters = jd_mel_filterbank (mel);

  gsize frames = 1 + samples / config->hop;
  g_autofree double *window = g_new (double, n_fft);
  for (int i = 0; i < n_fft; i++)
    window[i] = 0.5 - 0.5 * cos (2 * G_PI * i / n_fft);   /* periodic Hann */
  g_autofree double *frame = g_new (double, n_fft);
  g_autofree double complex *spectrum = g_new (double complex, bins);
  g_autofree double complex *scratch = g_new (double complex, 3 * n_fft);
  g_autofree double *power = g_new (double, bins);
  g_autofree double *db = g_new (double, frames * config->n_mels);
  double db_max = -INFINITY;

  for (gsize f = 0; f < frames; f++)
    {
      /* Frame f is centred on sample f·hop; the signal is zero outside (librosa's
       * pad_mode="constant"). */
      gint64 start = (gint64) (f * config->hop) - n_fft / 2;
      for (int i = 0; i < n_fft; i++)
        {
          gint64 s = start + i;
          frame[i] = (s >= 0 && s < (gint64) samples) ? signal[s] * window[i] : 0.0;
        }
      jd_fft_forward_real (fft, frame, spectrum, scratch);
      for (int k = 0; k < bins; k++)
        power[k] = creal (spectrum[k]) * creal (spectrum[k]) + cimag (spectrum[k]) * cimag (spectrum[k]);
      for (int m = 0; m < config->n_mels; m++)
        {
          const double *row = filters + (gsize) m * bins;
          double e = 0;
          for (int k = 0; k < bins; k++)
            e += row[k] * power[k];
          double v = 10.0 * log10 (MAX (POWER_FLOOR, e));
          db[f * config->n_mels + m] = v;
          db_max = MAX (db_max, v);
        }
    }
  for (gsize i = 0; i < frames * config->n_mels; i++)
    db[i] = MAX (db[i], db_max - TOP_DB);

  /* envelope[f] = mean_m max(0, db[f − 2] − db[f − 3]) for f ≥ 3: lag 1, plus the shift of
   * n_fft / (2·hop) frames that librosa applies to undo the centring. */
  gsize shift = 1 + n_fft / (2 * config->hop);
  double *envelope = g_new0 (double, frames);
  for (gsize f = shift; f < frames; f++)
    {
      gsize cur = f - shift + 1, prev = f - shift;
      double s = 0;
      for (int m = 0; m < config->n_mels; m++)
        s += MAX (0.0, db[cur * config->n_mels + m] - db[prev * config->n_mels + m]);
      envelope[f] = s / config->n_mels;
    }
  *n_frames = frames;
  return envelope;
}

static double
window_max (const double *x, gsize n, gint64 from, gint64 to)
{
  double m = -INFINITY;
  for (gint64 i = MAX (from, 0); i < MIN (to, (gint64) n); i++)
    m = MAX (m, x[i]);
  return m;
}

static double
window_mean (const double *x, gsize n, gint64 from, gint64 to)
{
  double s = 0;
  gint64 count = 0;
  for (gint64 i = MAX (from, 0); i < MIN (to, (gint64) n); i++, count++)
    s += x[i];
  return count ? s / count : 0;
}

gsize
jd_onset_peak_pick (const double *envelope, gsize n, const JdPeakPickConfig *c, gsize *peaks)
{
  if (n == 0)
    return 0;
  double lo = INFINITY, hi = -INFINITY;
  for (gsize i = 0; i < n; i++)
    lo = MIN (lo, envelope[i]), hi = MAX (hi, envelope[i]);
  g_autofree double *x = g_new (double, n);
  gboolean any = FALSE;
  for (gsize i = 0; i < n; i++)
    {
      x[i] = (envelope[i] - lo) / ((hi - lo) + 1e-300);
      any |= x[i] != 0;
    }
  if (!any)
    return 0;

  gsize count = 0;
  gint64 i = 0;
  /* Frame 0: only the windows ahead of it. */
  if (x[0] >= window_max (x, n, 0, c->post_max) && x[0] >= window_mean (x, n, 0, c->post_avg) + c->delta)
    {
      peaks[count++] = 0;
      i = c->wait + 1;
    }
  else
    i = 1;
  while (i < (gint64) n)
    {
      if (x[i] == window_max (x, n, i - c->pre_max, i + c->post_max)
          && x[i] >= window_mean (x, n, i - c->pre_avg, i + c->post_avg) + c->delta)
        {
          peaks[count++] = i;
          i += c->wait + 1;
        }
      else
        i++;
    }
  return count;
}

/* jd-griffin-lim.c — phase reconstruction by alternating projections. */
#include "jd-griffin-lim.h"

#include <math.h>

#include "jd-error.h"

JdGriffinLimConfig
jd_griffin_lim_config_default (void)
{
  return (JdGriffinLimConfig) { .iterations = 64, .momentum = 0.99, .seed = 1 };
}

gboolean
jd_griffin_lim (const JdStft *stft, const double *magnitude, int64_t frames,
                const JdGriffinLimConfig *config, float *signal, int64_t samples,
                GError **error)
{
  const JdStftConfig *sc = jd_stft_get_config (stft);
  if (config->iterations < 1 || !(config->momentum >= 0.0 && config->momentum < 1.0))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Griffin-Lim: %d iterations with momentum %g (need at least 1 iteration and "
                   "0 ≤ momentum < 1)", config->iterations, config->momentum);
      return FALSE;
    }
  if (frames < 1 || jd_stft_frames (stft, samples) != frames)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Griffin-Lim: %" G_GINT64_FORMAT " frames do not make %" G_GINT64_FORMAT
                   " samples at hop %d (those samples give %" G_GINT64_FORMAT " frames)", frames,
                   samples, sc->hop, jd_stft_frames (stft, samples));
      return FALSE;
    }
  const int64_t n = frames * jd_stft_bins (stft);
  g_autofree double complex *coeffs = g_new (double complex, n);
  g_autofree double complex *rebuilt = g_new (double complex, n);
  g_autofree double complex *previous = g_new0 (double complex, n);
  g_autoptr (GRand) rng = g_rand_new_with_seed (config->seed);
  for (int64_t i = 0; i < n; i++)
    {
      double angle = 2.0 * G_PI * g_rand_double (rng);
      coeffs[i] = cos (angle) + I * sin (angle);
    }
  const double blend = config->momentum / (1.0 + config->momentum);
  for (int it = 0; it < config->iterations; it++)
    {
      for (int64_t i = 0; i < n; i++)
        coeffs[i] *= magnitude[i];
      jd_stft_inverse (stft, coeffs, frames, signal, samples);
      if (!jd_stft_forward (stft, signal, samples, rebuilt, error))
        return FALSE;
      for (int64_t i = 0; i < n; i++)
        {
          double complex c = rebuilt[i] - blend * previous[i];
          double norm = cabs (c);
          /* A bin with no energy keeps phase zero rather than dividing by zero. */
          coeffs[i] = norm > 1e-16 ? c / norm : 1.0;
          previous[i] = rebuilt[i];
        }
    }
  for (int64_t i = 0; i < n; i++)
    coeffs[i] *= magnitude[i];
  jd_stft_inverse (stft, coeffs, frames, signal, samples);
  return TRUE;
}

gboolean
jd_griffin_lim_log_mel (const JdMel *mel, const JdStft *stft, const float *log_mel,
                        int64_t frames, const JdGriffinLimConfig *config, float *signal,
                        int64_t samples, GError **error)
{
  if (jd_stft_get_config (stft)->n_fft != jd_mel_get_config (mel)->n_fft)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Griffin-Lim: the STFT's n_fft %d differs from the mel filters' %d",
                   jd_stft_get_config (stft)->n_fft, jd_mel_get_config (mel)->n_fft);
      return FALSE;
    }
  g_autofree double *magnitude = g_new (double, MAX (frames, 1) * jd_mel_bins (mel));
  jd_mel_to_magnitude (mel, log_mel, frames, magnitude);
  return jd_griffin_lim (stft, magnitude, frames, config, signal, samples, error);
}

double
jd_spectral_convergence (const JdStft *stft, const float *signal, int64_t samples,
                         const double *magnitude, int64_t frames)
{
  const int64_t n = frames * jd_stft_bins (stft);
  g_autofree double complex *spec = g_new (double complex, n);
  if (jd_stft_frames (stft, samples) != frames || !jd_stft_forward (stft, signal, samples, spec,
                                                                    NULL))
    return INFINITY;
  double diff = 0.0, ref = 0.0;
  for (int64_t i = 0; i < n; i++)
    {
      double d = cabs (spec[i]) - magnitude[i];
      diff += d * d;
      ref += magnitude[i] * magnitude[i];
    }
  return sqrt (diff) / sqrt (ref);
}

/* jd-audio-onsets.c — spectral-flux onsets with sub-frame refinement. */
#include "jd-audio-onsets.h"

#include <math.h>
#include <stdlib.h>

#include "jd-error.h"
#include "jd-fft.h"

#define WINDOW_SECONDS 0.016
#define COMPRESSION 1000.0
#define PEAK_HALF_WIDTH 0.040   /* s: a peak is the largest flux within this distance */
#define MEDIAN_HALF_WIDTH 0.100 /* s: the local level a peak must rise above */
#define MIN_PEAK 0.10           /* fraction of the largest flux */
#define MIN_RISE 0.10           /* fraction of the largest flux above the local median */
/* The flux peak leads the start of a sound: the log compression saturates as soon as the sound
 * enters the window's rising half. Measured on 36 world clips (bounce, strike, flash: impacts of
 * every material, scratches, beeps) as 6 ms (median of onset − truth, spread ±0.5 ms); added
 * back here, which leaves a median |error| of 0.2 ms. */
#define FLUX_LEAD_SECONDS 0.006

double
jd_parabolic_vertex (double a, double b, double c)
{
  double denominator = a - 2 * b + c;
  if (!(denominator < 0))
    return 0;
  double x = 0.5 * (a - c) / denominator;
  return CLAMP (x, -0.5, 0.5);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

double *
jd_audio_onsets (const float *audio, gsize samples, int sample_rate, gsize *n_onsets,
                 GError **error)
{
  int window = 1;
  while (window * 2 <= (int) lrint (WINDOW_SECONDS * sample_rate * 1.414))
    window *= 2;
  if (sample_rate < 1000 || samples < (gsize) window)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "audio onsets: %" G_GSIZE_FORMAT " samples at %d Hz are too few to analyse "
                   "(need a rate of at least 1000 Hz and %d samples)", samples, sample_rate,
                   window);
      return NULL;
    }
  int hop = MAX (window / 8, 1), bins = window / 2 + 1;
  gsize frames = 1 + (samples - window) / hop;
  g_autoptr (JdFft) fft = jd_fft_new (window, error);
  JD_TRY_NULL (fft);
  g_autofree double *hann = g_new (double, window);
  for (int i = 0; i < window; i++)
    hann[i] = 0.5 - 0.5 * cos (2 * G_PI * i / window);
  g_autofree double *frame = g_new (double, window);
  g_autofree double complex *spectrum = g_new (double complex, bins);
  g_autofree double complex *scratch = g_new (double complex, 3 * window);
  g_autofree double *magnitude = g_new (double, frames * bins);
  double largest = 0;
  for (gsize f = 0; f < frames; f++)
    {
      for (int i = 0; i < window; i++)
        frame[i] = audio[f * hop + i] * hann[i];
      jd_fft_forward_real (fft, frame, spectrum, scratch);
      for (int k = 0; k < bins; k++)
        {
          double m = cabs (spectrum[k]);
          magnitude[f * bins + k] = m;
          largest = MAX (largest, m);
        }
    }
  *n_onsets = 0;
  if (frames < 3 || largest <= 0)
    return g_new (double, 1);

  /* flux[f] compares frames f and f + 1; its time is halfway between their centres. */
  gsize n = frames - 1;
  g_autofree double *flux = g_new (double, n);
  double flux_max = 0;
  for (gsize f = 0; f < n; f++)
    {
      double s = 0;
      for (int k = 0; k < bins; k++)
        {
          double a = log1p (COMPRESSION * magnitude[f * bins + k] / largest);
          double b = log1p (COMPRESSION * magnitude[(f + 1) * bins + k] / largest);
          s += MAX (0.0, b - a);
        }
      flux[f] = s;
      flux_max = MAX (flux_max, s);
    }
  if (flux_max <= 0)
    return g_new (double, 1);

  double seconds_per_step = (double) hop / sample_rate;
  double first_time = (window / 2.0 + hop / 2.0) / sample_rate;
  gsize peak_reach = MAX (1, (gsize) lrint (PEAK_HALF_WIDTH / seconds_per_step));
  gsize median_reach = MAX (1, (gsize) lrint (MEDIAN_HALF_WIDTH / seconds_per_step));
  g_autofree double *local = g_new (double, 2 * median_reach + 1);
  GArray *onsets = g_array_new (FALSE, FALSE, sizeof (double));
  for (gsize f = 1; f + 1 < n; f++)
    {
      if (flux[f] < MIN_PEAK * flux_max)
        continue;
      gboolean is_peak = TRUE;
      gsize lo = f > peak_reach ? f - peak_reach : 0, hi = MIN (n - 1, f + peak_reach);
      for (gsize j = lo; j <= hi && is_peak; j++)
        /* ties go to the earliest frame */
        if (flux[j] > flux[f] || (flux[j] == flux[f] && j < f))
          is_peak = FALSE;
      if (!is_peak)
        continue;
      lo = f > median_reach ? f - median_reach : 0;
      hi = MIN (n - 1, f + median_reach);
      gsize count = 0;
      for (gsize j = lo; j <= hi; j++)
        local[count++] = flux[j];
      qsort (local, count, sizeof (double), compare_doubles);
      if (flux[f] < local[count / 2] + MIN_RISE * flux_max)
        continue;
      double position = f + jd_parabolic_vertex (flux[f - 1], flux[f], flux[f + 1]);
      double t = first_time + position * seconds_per_step + FLUX_LEAD_SECONDS;
      g_array_append_val (onsets, t);
    }
  *n_onsets = onsets->len;
  if (onsets->len == 0)
    {
      g_array_free (onsets, TRUE);
      return g_new (double, 1);
    }
  return (double *) g_array_free (onsets, FALSE);
}

/* jd-av-align.c — AV-Align and the motion score. */
#include "jd-av-align.h"

#include <math.h>

#include "jd-error.h"
#include "jd-farneback.h"
#include "jd-onset-strength.h"
#include "jd-resample.h"

void
jd_rgb_to_grey (const guint8 *rgb, gsize n_pixels, float *grey)
{
  for (gsize i = 0; i < n_pixels; i++)
    {
      const guint8 *p = rgb + 3 * i;
      grey[i] = (float) ((4899 * p[0] + 9617 * p[1] + 1868 * p[2] + 8192) >> 14);
    }
}

void
jd_av_align_free (JdAvAlign *result)
{
  if (!result)
    return;
  g_free (result->video_peaks);
  g_free (result->audio_peaks);
  g_free (result->flow_trajectory);
  g_free (result);
}

static gboolean
pair_magnitude (const float *a, const float *b, int width, int height, double *magnitude,
                GError **error)
{
  JdFarnebackParams params = jd_farneback_params_default ();
  g_autofree float *flow = g_new (float, (gsize) width * height * 2);
  JD_TRY_FALSE (jd_farneback_flow (a, b, width, height, &params, flow, error));
  *magnitude = jd_flow_mean_magnitude (flow, width, height);
  return TRUE;
}

gboolean
jd_av_align_flow_trajectory (const float *grey, gsize n_frames, int width, int height,
                             double *trajectory, GError **error)
{
  if (n_frames < 2)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "AV-Align: a clip of %" G_GSIZE_FORMAT " frame(s) has no motion to measure; "
                   "it needs at least 2", n_frames);
      return FALSE;
    }
  gsize plane = (gsize) width * height;
  for (gsize i = 1; i < n_frames; i++)
    JD_TRY_FALSE (pair_magnitude (grey + (i - 1) * plane, grey + i * plane, width, height,
                                  &trajectory[i], error));
  trajectory[0] = trajectory[1];
  return TRUE;
}

gsize
jd_av_align_video_peaks (const double *m, gsize n, double fps, double *times)
{
  gsize count = 0;
  for (gsize i = 1; i + 1 < n; i++)
    if (m[i - 1] < m[i] && m[i] > m[i + 1] && m[i] >= 0.1)
      times[count++] = i / fps;
  return count;
}

double *
jd_av_align_audio_peaks (const float *audio, gsize samples, int sample_rate, gsize *n_peaks,
                         GError **error)
{
  JdOnsetStrengthConfig config = jd_onset_strength_config_librosa ();
  g_autofree float *resampled = NULL;
  const float *signal = audio;
  gsize n = samples;
  if (sample_rate != config.sample_rate)
    {
      resampled = jd_resample (audio, samples, sample_rate, config.sample_rate, &n, error);
      JD_TRY_NULL (resampled);
      signal = resampled;
    }
  gsize frames = 0;
  g_autofree double *envelope = jd_onset_strength (signal, n, &config, &frames, error);
  JD_TRY_NULL (envelope);
  g_autofree gsize *index = g_new (gsize, frames);
  JdPeakPickConfig pick = jd_peak_pick_config_librosa ();
  gsize count = jd_onset_peak_pick (envelope, frames, &pick, index);
  double *times = g_new (double, MAX (count, 1));
  for (gsize i = 0; i < count; i++)
    times[i] = (double) index[i] * config.hop / config.sample_rate;
  *n_peaks = count;
  return times;
}

double
jd_av_align_iou (const double *audio_peaks, gsize n_audio, const double *video_peaks,
                 gsize n_video, double fps, gsize *matched)
{
  g_autofree gboolean *used = g_new0 (gboolean, MAX (n_video, 1));
  gsize intersection = 0;
  for (gsize a = 0; a < n_audio; a++)
    for (gsize v = 0; v < n_video; v++)
      if (!used[v] && video_peaks[v] - 1 / fps < audio_peaks[a]
          && audio_peaks[a] < video_peaks[v] + 1 / fps)
        {
          intersection++;
          used[v] = TRUE;
          break;
        }
  if (matched)
    *matched = intersection;
  gsize union_size = n_audio + n_video - intersection;
  return union_size ? (double) intersection / union_size : 0.0;
}

JdAvAlign *
jd_av_align_compute (const float *grey, gsize n_frames, int width, int height, double fps,
                     const float *audio, gsize samples, int sample_rate, GError **error)
{
  if (!(fps > 0))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "AV-Align: the frame rate must be positive, not %g", fps);
      return NULL;
    }
  g_autoptr (JdAvAlign) r = g_new0 (JdAvAlign, 1);
  r->n_frames = n_frames;
  r->flow_trajectory = g_new (double, MAX (n_frames, 2));
  JD_TRY_NULL (jd_av_align_flow_trajectory (grey, n_frames, width, height, r->flow_trajectory,
                                            error));
  r->video_peaks = g_new (double, n_frames);
  r->n_video_peaks = jd_av_align_video_peaks (r->flow_trajectory, n_frames, fps, r->video_peaks);
  r->audio_peaks = jd_av_align_audio_peaks (audio, samples, sample_rate, &r->n_audio_peaks, error);
  JD_TRY_NULL (r->audio_peaks);
  r->score = jd_av_align_iou (r->audio_peaks, r->n_audio_peaks, r->video_peaks, r->n_video_peaks,
                              fps, &r->n_matched);
  return g_steal_pointer (&r);
}

gboolean
jd_motion_score (const float *grey, gsize n_frames, int width, int height, double fps,
                 double *score, double *pair_scores, gsize *n_pairs, GError **error)
{
  if (!(fps > 0))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "motion score: the frame rate must be positive, not %g", fps);
      return FALSE;
    }
  /* data-juicer: sampling step round(fps / sampling_fps), at least 1 (Python's round: half to
   * even, which lrint does in the default rounding mode). */
  gsize step = (gsize) MAX (1L, lrint (fps / 2.0));
  gsize plane = (gsize) width * height, pairs = 0;
  double sum = 0;
  for (gsize i = step; i < n_frames; i += step)
    {
      double m;
      JD_TRY_FALSE (pair_magnitude (grey + (i - step) * plane, grey + i * plane, width, height,
                                    &m, error));
      if (pair_scores)
        pair_scores[pairs] = m;
      sum += m;
      pairs++;
    }
  *score = pairs ? sum / pairs : 0.0;
  if (n_pairs)
    *n_pairs = pairs;
  return TRUE;
}

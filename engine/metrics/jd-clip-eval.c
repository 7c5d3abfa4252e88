/* jd-clip-eval.c — the metrics of one clip. */
#include "jd-clip-eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jd-audio-onsets.h"
#include "jd-error.h"

void
jd_eval_report_free (JdEvalReport *report)
{
  if (!report)
    return;
  g_free (report->visual);
  g_free (report->audio);
  jd_av_align_free (report->av_align);
  g_free (report->truth);
  g_free (report->truth_visual_error);
  g_free (report->truth_audio_error);
  g_free (report);
}

static int
compare_doubles (const void *x, const void *y)
{
  double p = *(const double *) x, q = *(const double *) y;
  return (p > q) - (p < q);
}

/* Signed errors of detected times against the truth (NAN where unmatched) and the median of
 * their magnitudes. */
static double
truth_errors (const double *truth, gsize n_truth, const double *found, gsize n_found,
              double *errors)
{
  g_autofree gssize *pair = g_new (gssize, MAX (n_truth, 1));
  jd_sync_pairs (truth, n_truth, found, n_found, 0, JD_SYNC_MATCH_SECONDS, pair);
  g_autofree double *magnitudes = g_new (double, MAX (n_truth, 1));
  gsize m = 0;
  for (gsize i = 0; i < n_truth; i++)
    {
      errors[i] = pair[i] >= 0 ? found[pair[i]] - truth[i] : NAN;
      if (pair[i] >= 0)
        magnitudes[m++] = fabs (errors[i]);
    }
  if (m == 0)
    return NAN;
  qsort (magnitudes, m, sizeof (double), compare_doubles);
  return m % 2 ? magnitudes[m / 2] : 0.5 * (magnitudes[m / 2 - 1] + magnitudes[m / 2]);
}

JdEvalReport *
jd_eval_clip (const JdEvalClip *clip, const double *truth, gsize n_truth, GError **error)
{
  g_autoptr (JdEvalReport) r = g_new0 (JdEvalReport, 1);
  r->visual = jd_visual_events (clip->rgb, clip->n_frames, clip->width, clip->height, clip->fps,
                                &r->n_visual, error);
  JD_TRY_NULL (r->visual);
  r->audio = jd_audio_onsets (clip->audio, clip->samples, clip->sample_rate, &r->n_audio, error);
  JD_TRY_NULL (r->audio);

  g_autofree double *visual_times = g_new (double, MAX (r->n_visual, 1));
  g_autofree double *visual_strength = g_new (double, MAX (r->n_visual, 1));
  for (gsize i = 0; i < r->n_visual; i++)
    visual_times[i] = r->visual[i].time, visual_strength[i] = r->visual[i].strength;
  jd_sync_match (visual_times, visual_strength, r->n_visual, r->audio, r->n_audio, &r->sync);

  gsize plane = (gsize) clip->width * clip->height;
  g_autofree float *grey = g_new (float, plane * clip->n_frames);
  for (gsize k = 0; k < clip->n_frames; k++)
    jd_rgb_to_grey (clip->rgb + k * plane * 3, plane, grey + k * plane);
  r->av_align = jd_av_align_compute (grey, clip->n_frames, clip->width, clip->height, clip->fps,
                                     clip->audio, clip->samples, clip->sample_rate, error);
  JD_TRY_NULL (r->av_align);
  JD_TRY_NULL (jd_motion_score (grey, clip->n_frames, clip->width, clip->height, clip->fps,
                                &r->motion_score, NULL, NULL, error) ? r : NULL);

  r->n_truth = n_truth;
  r->truth = g_new (double, MAX (n_truth, 1));
  if (n_truth)
    memcpy (r->truth, truth, n_truth * sizeof (double));
  r->truth_visual_error = g_new (double, MAX (n_truth, 1));
  r->truth_audio_error = g_new (double, MAX (n_truth, 1));
  r->truth_visual_median = truth_errors (truth, n_truth, visual_times, r->n_visual,
                                         r->truth_visual_error);
  r->truth_audio_median = truth_errors (truth, n_truth, r->audio, r->n_audio,
                                        r->truth_audio_error);
  return g_steal_pointer (&r);
}

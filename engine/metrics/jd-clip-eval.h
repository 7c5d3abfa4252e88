/* jd-clip-eval.h — every metric of `jointdit eval` for one clip held in memory.
 *
 * Synchronisation (jd-visual-events.h against jd-audio-onsets.h, matched by jd-sync-match.h),
 * AV-Align and the motion score (jd-av-align.h), and, when the true event times are known (a
 * world clip's truth.json), the error of each detected time against them. */
#pragma once

#include <glib.h>

#include "jd-av-align.h"
#include "jd-sync-match.h"
#include "jd-visual-events.h"

G_BEGIN_DECLS

typedef struct {
  const guint8 *rgb;          /* n_frames × height × width × 3 bytes */
  gsize         n_frames;
  int           width, height;
  double        fps;
  const float  *audio;        /* mono */
  gsize         samples;
  int           sample_rate;
} JdEvalClip;

typedef struct {
  JdVisualEvent *visual;
  gsize          n_visual;
  double        *audio;          /* onset times, s */
  gsize          n_audio;
  JdSyncMatch    sync;
  JdAvAlign     *av_align;
  double         motion_score;
  /* With truth (n_truth > 0): per true event, the signed error (detected − true, s) of the
   * closest visual event and audio onset matched one to one within JD_SYNC_MATCH_SECONDS, NAN
   * when none; and the medians of |error| over the matched ones (NAN when none). */
  gsize          n_truth;
  double        *truth;
  double        *truth_visual_error;
  double        *truth_audio_error;
  double         truth_visual_median;
  double         truth_audio_median;
} JdEvalReport;

JdEvalReport *jd_eval_clip (const JdEvalClip *clip, const double *truth, gsize n_truth,
                            GError **error);
void          jd_eval_report_free (JdEvalReport *report);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdEvalReport, jd_eval_report_free)

G_END_DECLS

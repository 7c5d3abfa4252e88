/* jd-av-align.h — AV-Align (TempoTokens' av_align.py, with its February 2025 fix) and the
 * data-juicer motion score, on frames and audio in memory.
 *
 * AV-Align: grey frames (OpenCV's BGR2GRAY), Farnebäck flow with AV-Align's settings, the mean
 * flow magnitude per frame pair as a trajectory [m(0,1), m(0,1), m(1,2), …, m(n−2,n−1)] (n values;
 * the reference repeats the first pair). Video peaks: index i (0 < i < n−1) with
 * m[i−1] < m[i] > m[i+1] and m[i] ≥ 0.1, at time i / fps. Audio peaks: the audio resampled to
 * 22,050 Hz, librosa's onset strength and onset_detect, at frame·512 / 22,050 s. Matching: each
 * audio peak in turn takes the first unused video peak v with v − 1/fps < a < v + 1/fps.
 * Score I / (|A| + |V| − I) (0 when there are no peaks at all).
 *
 * Motion score: frames sampled every round(fps / 2) frames (2 fps), the mean flow magnitude of
 * each consecutive sampled pair, averaged (0 with fewer than two sampled frames). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 8-bit grey from 8-bit RGB as OpenCV's cvtColor(BGR2GRAY) rounds it:
 * (4899·R + 9617·G + 1868·B + 8192) >> 14. rgb holds n_pixels × 3 bytes. */
void   jd_rgb_to_grey (const guint8 *rgb, gsize n_pixels, float *grey);

typedef struct {
  double  score;           /* the AV-Align IoU */
  gsize   n_video_peaks;
  gsize   n_audio_peaks;
  gsize   n_matched;
  double *video_peaks;     /* seconds, owned */
  double *audio_peaks;     /* seconds, owned */
  double *flow_trajectory; /* n_frames values (the reference's list), owned */
  gsize   n_frames;
} JdAvAlign;

void   jd_av_align_free (JdAvAlign *result);

/* The flow trajectory of grey frames (n_frames × height × width, 0…255): n_frames values, the
 * first pair counted twice as in the reference. n_frames ≥ 2. */
gboolean jd_av_align_flow_trajectory (const float *grey, gsize n_frames, int width, int height,
                                      double *trajectory, GError **error);

/* Video peak times from a trajectory; returns how many were written (room for n). */
gsize  jd_av_align_video_peaks (const double *trajectory, gsize n, double fps, double *times);

/* Audio peak times (seconds) of mono audio at any rate: a new array, count in *n_peaks. */
double *jd_av_align_audio_peaks (const float *audio, gsize samples, int sample_rate,
                                 gsize *n_peaks, GError **error);

/* The reference's IoU of the two peak lists; *matched receives I (may be NULL). */
double jd_av_align_iou (const double *audio_peaks, gsize n_audio, const double *video_peaks,
                        gsize n_video, double fps, gsize *matched);

/* Everything from grey frames and mono audio. */
JdAvAlign *jd_av_align_compute (const float *grey, gsize n_frames, int width, int height,
                                double fps, const float *audio, gsize samples, int sample_rate,
                                GError **error);

/* data-juicer's motion score (not divided by the diagonal); per-pair values go to pair_scores
 * when not NULL (room for n_frames values) and their count to *n_pairs. */
gboolean jd_motion_score (const float *grey, gsize n_frames, int width, int height, double fps,
                          double *score, double *pair_scores, gsize *n_pairs, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdAvAlign, jd_av_align_free)

G_END_DECLS

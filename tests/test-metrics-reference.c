/* test-metrics-reference.c — the C metrics against OpenCV and librosa on committed world clips
 * (tests/fixtures/metrics/reference.json, made by tools/metrics_reference/make_fixtures.py).
 *
 * Tolerances (why they are not 1e-4): OpenCV runs the same float arithmetic in a different
 * order (SIMD, running sums), and Farnebäck iterations amplify rounding where the normal
 * equations are nearly singular (flat texture), so single flow vectors may differ by more
 * than the mean; the librosa side loads audio through soxr's resampler, which we replace by a
 * windowed sinc of similar quality, so the onset envelopes differ by the resamplers' difference. */
#include <json-glib/json-glib.h>
#include <math.h>

#include "jd-av-align.h"
#include "jd-farneback.h"
#include "jd-image.h"
#include "jd-onset-strength.h"
#include "jd-resample.h"
#include "jd-wav.h"
#include "test-util.h"

/* Relative tolerances, about 3× the largest difference measured on these clips.
 * OpenCV's SIMD kernels fuse multiply-adds where this code rounds twice; on the bounce clip the
 * fields agree to 7e-7, on clips with flat texture or brightness changes (flash) the
 * iterations amplify the rounding differences up to 7.5e-3 (0.05 px at worst). */
#define FLOW_FIELD_TOLERANCE 2e-2     /* ‖Δflow‖ / ‖flow‖ over a whole field (measured ≤ 7.5e-3) */
#define TRAJECTORY_TOLERANCE 1e-2     /* ‖Δ‖ / ‖·‖ over a clip's mean magnitudes (≤ 2.2e-3) */
#define ENVELOPE_TOLERANCE 3e-2       /* onset strength after different resamplers (≤ 8.7e-3) */

typedef struct {
  int     width, height;
  gsize   n_frames;
  float  *grey;
  JdAudio *audio;
} Clip;

static JsonObject *
reference (void)
{
  static JsonParser *parser;
  if (!parser)
    {
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "metrics",
                                                     "reference.json", NULL);
      g_autoptr (GError) error = NULL;
      parser = json_parser_new ();
      if (!json_parser_load_from_file (parser, path, &error))
        g_error ("%s: %s", path, error->message);
    }
  return json_node_get_object (json_parser_get_root (parser));
}

static Clip *
load_clip (JsonObject *entry)
{
  const char *name = json_object_get_string_member (entry, "name");
  Clip *clip = g_new0 (Clip, 1);
  clip->width = json_object_get_int_member (entry, "width");
  clip->height = json_object_get_int_member (entry, "height");
  clip->n_frames = json_object_get_int_member (entry, "frames");
  gsize plane = (gsize) clip->width * clip->height;
  clip->grey = g_new (float, plane * clip->n_frames);
  for (gsize i = 0; i < clip->n_frames; i++)
    {
      g_autofree char *file = g_strdup_printf ("%05u.png", (unsigned) i);
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "metrics", name,
                                                     "frames", file, NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (JdImage) image = jd_image_load (path, 0, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (image->width, ==, clip->width);
      jd_rgb_to_grey (image->pixels, plane, clip->grey + i * plane);
    }
  g_autofree char *wav = g_test_build_filename (G_TEST_DIST, "fixtures", "metrics", name,
                                                "audio.wav", NULL);
  g_autoptr (GError) error = NULL;
  clip->audio = jd_wav_read (wav, &error);
  g_assert_no_error (error);
  return clip;
}

static void
clip_free (Clip *clip)
{
  g_free (clip->grey);
  jd_audio_free (clip->audio);
  g_free (clip);
}

static double *
doubles (JsonObject *entry, const char *member, gsize *n)
{
  JsonArray *array = json_object_get_array_member (entry, member);
  *n = json_array_get_length (array);
  double *values = g_new (double, MAX (*n, 1));
  for (gsize i = 0; i < *n; i++)
    values[i] = json_array_get_double_element (array, i);
  return values;
}

static double
rel_error_d (const double *a, const double *b, gsize n)
{
  double d = 0, r = 0;
  for (gsize i = 0; i < n; i++)
    d += (a[i] - b[i]) * (a[i] - b[i]), r += b[i] * b[i];
  return sqrt (d / r);
}

static void
test_flow_field (void)
{
  JsonArray *clips = json_object_get_array_member (reference (), "clips");
  for (guint c = 0; c < json_array_get_length (clips); c++)
    {
      JsonObject *entry = json_array_get_object_element (clips, c);
      Clip *clip = load_clip (entry);
      JsonArray *pair = json_object_get_array_member (entry, "flow_field_pair");
      gsize plane = (gsize) clip->width * clip->height, n = 0;
      g_autofree double *expected = doubles (entry, "flow_field", &n);
      g_assert_cmpuint (n, ==, plane * 2);
      g_autofree float *flow = g_new (float, plane * 2);
      JdFarnebackParams params = jd_farneback_params_default ();
      g_autoptr (GError) error = NULL;
      g_assert_true (jd_farneback_flow (clip->grey + json_array_get_int_element (pair, 0) * plane,
                                        clip->grey + json_array_get_int_element (pair, 1) * plane,
                                        clip->width, clip->height, &params, flow, &error));
      g_assert_no_error (error);
      double err = jd_test_rel_error (flow, expected, n), worst = 0;
      gsize at = 0;
      for (gsize i = 0; i < n; i++)
        if (fabs (flow[i] - expected[i]) > worst)
          worst = fabs (flow[i] - expected[i]), at = i;
      g_test_message ("%s: flow field err %.3g against OpenCV, largest difference %.3g px at "
                      "(%d, %d)", json_object_get_string_member (entry, "name"), err, worst,
                      (int) (at / 2 % clip->width), (int) (at / 2 / clip->width));
      g_assert_cmpfloat (err, <=, FLOW_FIELD_TOLERANCE);
      clip_free (clip);
    }
}

static void
test_av_align (void)
{
  JsonArray *clips = json_object_get_array_member (reference (), "clips");
  for (guint c = 0; c < json_array_get_length (clips); c++)
    {
      JsonObject *entry = json_array_get_object_element (clips, c);
      const char *name = json_object_get_string_member (entry, "name");
      Clip *clip = load_clip (entry);
      double fps = json_object_get_double_member (entry, "fps");
      g_autoptr (GError) error = NULL;
      g_autoptr (JdAvAlign) r = jd_av_align_compute (clip->grey, clip->n_frames, clip->width,
                                                     clip->height, fps, clip->audio->samples,
                                                     clip->audio->n_frames,
                                                     clip->audio->sample_rate, &error);
      g_assert_no_error (error);

      gsize n = 0;
      g_autofree double *trajectory = doubles (entry, "flow_trajectory", &n);
      g_assert_cmpuint (n, ==, r->n_frames);
      double err = rel_error_d (r->flow_trajectory, trajectory, n);
      g_test_message ("%s: flow trajectory err %.3g", name, err);
      g_assert_cmpfloat (err, <=, TRAJECTORY_TOLERANCE);

      g_autofree double *video = doubles (entry, "video_peaks", &n);
      g_assert_cmpuint (r->n_video_peaks, ==, n);
      for (gsize i = 0; i < n; i++)
        g_assert_cmpfloat (fabs (r->video_peaks[i] - video[i]), <, 1e-9);

      g_autofree double *audio = doubles (entry, "audio_peaks", &n);
      g_test_message ("%s: %" G_GSIZE_FORMAT " audio peaks (librosa %" G_GSIZE_FORMAT "), "
                      "AV-Align %.4f (reference %.4f)", name, r->n_audio_peaks, n, r->score,
                      json_object_get_double_member (entry, "av_align"));
      g_assert_cmpuint (r->n_audio_peaks, ==, n);
      for (gsize i = 0; i < n; i++)
        g_assert_cmpfloat (fabs (r->audio_peaks[i] - audio[i]), <, 1e-6);
      g_assert_cmpfloat (fabs (r->score - json_object_get_double_member (entry, "av_align")), <,
                         1e-12);

      double motion;
      g_assert_true (jd_motion_score (clip->grey, clip->n_frames, clip->width, clip->height, fps,
                                      &motion, NULL, NULL, &error));
      double expected_motion = json_object_get_double_member (entry, "motion_score");
      g_test_message ("%s: motion score %.5f (reference %.5f)", name, motion, expected_motion);
      g_assert_cmpfloat (fabs (motion - expected_motion), <=, TRAJECTORY_TOLERANCE * expected_motion);
      clip_free (clip);
    }
}

static void
test_onset_envelope (void)
{
  JsonArray *clips = json_object_get_array_member (reference (), "clips");
  for (guint c = 0; c < json_array_get_length (clips); c++)
    {
      JsonObject *entry = json_array_get_object_element (clips, c);
      Clip *clip = load_clip (entry);
      gsize n = 0, frames = 0;
      g_autofree double *expected = doubles (entry, "onset_envelope", &n);
      g_autoptr (GError) error = NULL;
      gsize resampled_n = 0;
      g_autofree float *resampled = jd_resample (clip->audio->samples, clip->audio->n_frames,
                                                 clip->audio->sample_rate, 22050, &resampled_n,
                                                 &error);
      JdOnsetStrengthConfig config = jd_onset_strength_config_librosa ();
      g_autofree double *envelope = jd_onset_strength (resampled, resampled_n, &config, &frames,
                                                       &error);
      g_assert_no_error (error);
      g_assert_cmpuint (frames, ==, n);
      double err = rel_error_d (envelope, expected, n);
      g_test_message ("%s: onset envelope err %.3g against librosa",
                      json_object_get_string_member (entry, "name"), err);
      g_assert_cmpfloat (err, <=, ENVELOPE_TOLERANCE);
      clip_free (clip);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics-reference/flow-field", test_flow_field);
  g_test_add_func ("/metrics-reference/onset-envelope", test_onset_envelope);
  g_test_add_func ("/metrics-reference/av-align", test_av_align);
  return g_test_run ();
}

/* The live preview maps (jd-preview.c) computed on the backend against a float64 reference on
 * random maps and latents: the bytes of every frame pixel and of the stretched mel image. */
#include <math.h>

#include "jd-engine-private.h"
#include "test-util.h"

enum { FRAMES = 5, VIDEO_C = 8, H = 6, W = 7, AUDIO_C = 8, T = 20, MEL = 16 };

static int
reference_byte (double unit)
{
  return (int) CLAMP (round (unit * 255.0), 0.0, 255.0);
}

static void
random_maps (GRand *rng, JdPreviewMaps *maps)
{
  *maps = (JdPreviewMaps) { .available = TRUE, .video_channels = VIDEO_C,
                            .audio_channels = AUDIO_C };
  for (int r = 0; r < 3; r++)
    {
      for (int k = 0; k < VIDEO_C; k++)
        maps->rgb_weight[r][k] = (float) g_rand_double_range (rng, -0.5, 0.5);
      maps->rgb_bias[r] = (float) g_rand_double_range (rng, -0.3, 0.3);
    }
  for (int k = 0; k < AUDIO_C; k++)
    maps->mel_weight[k] = (float) g_rand_double_range (rng, -1.0, 1.0);
  maps->mel_bias = (float) g_rand_double_range (rng, -1.0, 1.0);
}

/* |engine − reference| ≤ 1 per byte (float32 against float64 rounding at a .5 boundary), and
 * nearly all exact. */
static void
assert_bytes (const guint8 *got, const int *want, gsize n)
{
  gsize exact = 0;
  for (gsize i = 0; i < n; i++)
    {
      g_assert_cmpint (ABS ((int) got[i] - want[i]), <=, 1);
      exact += got[i] == want[i];
    }
  g_assert_cmpuint (exact, >=, n - n / 100);
}

static void
test_render_matches_reference (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  JdPreviewMaps maps;
  random_maps (rng, &maps);
  g_assert_true (jd_preview_maps_upload (&maps, be, &error));
  g_assert_no_error (error);
  g_autoptr (JdTensor) video = jd_test_tensor_random (rng, -1.5f, 1.5f, 4,
                                                      (int64_t[]) { FRAMES, VIDEO_C, H, W });
  g_autoptr (JdTensor) audio = jd_test_tensor_random (rng, -2.0f, 2.0f, 3,
                                                      (int64_t[]) { AUDIO_C, T, MEL });
  g_autofree guint8 *frames = NULL;
  g_autofree guint8 *mel = NULL;
  g_assert_true (jd_preview_render (&maps, be, video, audio, &frames, &mel, &error));
  g_assert_no_error (error);

  const float *v = video->data, *a = audio->data;
  gsize plane = H * W, n_px = FRAMES * plane;
  g_autofree int *want = g_new (int, n_px * 4);
  g_autofree guint8 *got_rgb = g_new (guint8, n_px * 4);
  gsize inside = 0;
  for (gsize f = 0; f < FRAMES; f++)
    for (gsize p = 0; p < plane; p++)
      for (int r = 0; r < 4; r++)
        {
          gsize i = (f * plane + p) * 4 + r;
          got_rgb[i] = frames[i];
          if (r == 3)
            {
              want[i] = 255;
              continue;
            }
          double acc = maps.rgb_bias[r];
          for (int k = 0; k < VIDEO_C; k++)
            acc += (double) maps.rgb_weight[r][k] * v[(f * VIDEO_C + k) * plane + p];
          want[i] = reference_byte ((acc + 1.0) * 0.5);
          inside += want[i] > 0 && want[i] < 255;
        }
  /* The inputs span the whole byte range, clamped ends and all. */
  g_assert_cmpuint (inside, >, n_px * 3 / 2);
  assert_bytes (got_rgb, want, n_px * 4);

  /* Mel: T wide, MEL high, lowest bin at the bottom, stretched to [lo, hi]. */
  double values[T * MEL], lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < T * MEL; i++)
    {
      double acc = maps.mel_bias;
      for (int k = 0; k < AUDIO_C; k++)
        acc += (double) maps.mel_weight[k] * a[k * T * MEL + i];
      values[i] = acc;
      lo = MIN (lo, acc);
      hi = MAX (hi, acc);
    }
  g_autofree int *want_mel = g_new (int, T * MEL * 4);
  for (int y = 0; y < MEL; y++)
    for (int x = 0; x < T; x++)
      {
        double u = (values[x * MEL + (MEL - 1 - y)] - lo) / (hi - lo);
        int *px = want_mel + (y * T + x) * 4;
        px[0] = reference_byte (u);
        px[1] = reference_byte (u * 0.9);
        px[2] = reference_byte (0.4 * (1.0 - u));
        px[3] = 255;
      }
  assert_bytes (mel, want_mel, T * MEL * 4);
  jd_preview_maps_clear (&maps);
  g_assert_null (maps.rgb_conv_weight);
}

static void
test_no_maps_uploads_nothing (void)
{
  g_autoptr (GError) error = NULL;
  JdPreviewMaps maps = { 0 };
  g_assert_true (jd_preview_maps_upload (&maps, jd_test_backend (), &error));
  g_assert_no_error (error);
  g_assert_null (maps.rgb_conv_weight);
  g_assert_null (maps.mel_conv_bias);
  jd_preview_maps_clear (&maps);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/preview/render-matches-reference", test_render_matches_reference);
  g_test_add_func ("/preview/no-maps-uploads-nothing", test_no_maps_uploads_nothing);
  return g_test_run ();
}

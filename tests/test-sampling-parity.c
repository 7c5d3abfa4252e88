/* The engine's whole generation against the PyTorch reference's (tools/reference/sample.py,
 * float64): same picture, seed, 4 steps, same Philox noise, for no guidance and for JointCFG*
 * (ω 1.5). The golden (tests/fixtures/reference/sampling-golden.safetensors) comes from
 * tools/reference/make_sampling_fixtures.py on the parity bundle.
 *
 * jd_engine_generate gives the frames and the sound; the final latents are not part of its
 * result, so the test samples a second time with the engine's own sampler, denoiser and schedule
 * after the generation has set the condition (the same calls jd_engine_generate makes; the
 * generation is deterministic, so both runs agree), and decodes those latents with the engine's
 * VAEs to compare the decoders' float outputs too. */
#include <math.h>
#include <string.h>

#include "jd-engine-private.h"
#include "jd-ops.h"
#include "jd-sampler.h"
#include "parity-fixtures.h"

/* make_sampling_fixtures.py's settings (its metadata is checked to say the same). */
#define GOLDEN_SEED  UINT64_C (20251127)
#define GOLDEN_STEPS 4

/* DESIGN.md §8: 4-step sampling in F32 against float64. */
#define LATENT_LIMIT 1e-3
/* The sound after 32 Griffin-Lim iterations on the decoded mel (measured below 1e-4). */
#define PCM_LIMIT    1e-3

typedef struct {
  const char    *name;
  JdGuidanceMode mode;
  double         omega;
} Case;

static const Case cases[] = {
  { "none", JD_GUIDANCE_NONE, 0.0 },
  { "joint_star", JD_GUIDANCE_JOINT_STAR, 1.5 },
};

static int
test_threads (void)
{
  const char *text = g_getenv ("JD_TEST_THREADS");
  return text ? atoi (text) : 2;
}

static double
compare (JdSafetensors *golden, const char *case_name, const char *what, const float *actual,
         gsize n)
{
  g_autofree char *name = g_strdup_printf ("%s.%s", case_name, what);
  gsize expected_n = 0;
  g_autofree double *expected = jd_parity_expected (golden, name, &expected_n);
  g_assert_cmpuint (expected_n, ==, n);
  double err = jd_test_rel_error (actual, expected, n);
  g_test_message ("%s: err %.3g", name, err);
  if (g_test_verbose ())
    g_printerr ("  %-20s err %.3g\n", name, err);
  return err;
}

static float *
download (const JdTensor *t)
{
  g_autoptr (GError) error = NULL;
  float *host = g_new (float, jd_tensor_numel (t));
  g_assert_true (jd_tensor_download_f32 (t, host, &error));
  g_assert_no_error (error);
  return host;
}

/* The engine's decoders on the sampled latents, as decode_video / decode_audio in
 * jd-generate.c call them (x̂₀ ÷ scaling factor, then the VAE). */
static float *
decode (JdEngine *engine, JdVae *vae, const JdTensor *x0, int ndim, const int64_t *shape,
        int n_frames, gsize *n_out)
{
  g_autoptr (GError) error = NULL;
  JdBackend *be = engine->backend;
  double scale = jd_vae_get_config (vae)->scaling_factor;
  g_autoptr (JdTensor) view = jd_tensor_new_view (be, JD_DTYPE_F32, ndim, shape, x0->data);
  g_autoptr (JdTensor) z = jd_tensor_new (be, JD_DTYPE_F32, ndim, shape, &error);
  g_assert_no_error (error);
  g_assert_true (jd_axpby (be, (float) (1.0 / scale), view, 0.0f, view, z, &error));
  g_autoptr (JdTensor) out = jd_vae_decode (vae, z, n_frames, &error);
  g_assert_no_error (error);
  *n_out = (gsize) jd_tensor_numel (out);
  return download (out);
}

/* Runs the case with `seed`; returns the final latents' errors against the golden. */
static void
run_case (const Case *c, uint64_t seed, gboolean check_decoded, double *err_video_out,
          double *err_audio_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) golden = jd_reference_fixture ("sampling-golden.safetensors");
  const char *settings = jd_safetensors_get_metadata (golden, "settings");
  g_assert_nonnull (settings);
  g_assert_nonnull (strstr (settings, "\"seed\": 20251127"));
  g_assert_nonnull (strstr (settings, "\"steps\": 4"));

  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "reference",
                                                 "parity.safetensors", NULL);
  g_autoptr (JdEngine) engine = jd_engine_open (path, JD_DEVICE_CPU, test_threads (), &error);
  g_assert_no_error (error);
  const JdModelInfo *info = jd_engine_get_info (engine);

  /* The picture: (H, W, 3) bytes stored as F32 whole numbers. */
  gsize n_bytes = 0;
  g_autofree double *image = jd_parity_expected (golden, "image", &n_bytes);
  g_assert_cmpuint (n_bytes, ==, (gsize) info->width * info->height * 3);
  g_autofree guint8 *rgb = g_new (guint8, n_bytes);
  for (gsize i = 0; i < n_bytes; i++)
    {
      g_assert_cmpfloat (image[i], ==, round (image[i]));
      g_assert_cmpfloat (image[i], >=, 0);
      g_assert_cmpfloat (image[i], <=, 255);
      rgb[i] = (guint8) image[i];
    }

  g_autoptr (JdGuidance) guidance = jd_guidance_new ();
  jd_guidance_set_mode (guidance, c->mode);
  g_assert_true (jd_guidance_set_omega (guidance, c->omega, c->omega, &error));
  JdGenerateParams params;
  jd_generate_params_init (&params);
  params.steps = GOLDEN_STEPS;
  params.seed = seed;
  params.guidance = guidance;
  g_autoptr (JdResult) result = NULL;
  g_assert_true (jd_engine_generate (engine, rgb, info->width, info->height,
                                     (gsize) info->width * 3, &params, &result, &error));
  g_assert_no_error (error);

  /* The final latents: the sampler again, on the condition the generation set. */
  JdSamplerParams sp = { .steps = GOLDEN_STEPS, .seed = seed, .guidance = guidance };
  g_autoptr (JdTensor) video = NULL;
  g_autoptr (JdTensor) audio = NULL;
  g_assert_true (jd_sample (engine->backend, jd_jointdit_get_denoiser (engine->jointdit),
                            engine->schedule, 4, info->video_latent, 3, info->audio_latent, &sp,
                            &video, &audio, &error));
  g_assert_no_error (error);
  g_autofree float *video_host = download (video);
  g_autofree float *audio_host = download (audio);
  double err_video = compare (golden, c->name, "video", video_host, jd_tensor_numel (video));
  double err_audio = compare (golden, c->name, "audio", audio_host, jd_tensor_numel (audio));
  *err_video_out = err_video;
  *err_audio_out = err_audio;
  if (!check_decoded)
    return;

  /* The decoders' float outputs on those latents. */
  gsize n = 0;
  g_autofree float *frames = decode (engine, engine->video_vae, video, 4, video->shape,
                                     (int) video->shape[0], &n);
  double err_frames = compare (golden, c->name, "frames", frames, n);
  int64_t shape4[4] = { 1, audio->shape[0], audio->shape[1], audio->shape[2] };
  g_autofree float *mel = decode (engine, engine->audio_vae, audio, 4, shape4, 1, &n);
  double err_mel = compare (golden, c->name, "mel", mel, n);
  g_assert_cmpfloat (err_frames, <=, LATENT_LIMIT);
  g_assert_cmpfloat (err_mel, <=, LATENT_LIMIT);

  /* The generation's own bytes: the golden frames through the engine's byte mapping. */
  gsize golden_n = 0;
  g_autofree char *frames_name = g_strdup_printf ("%s.frames", c->name);
  g_autofree double *golden_frames = jd_parity_expected (golden, frames_name, &golden_n);
  g_assert_cmpint (result->n_frames, ==, video->shape[0]);
  gsize plane = (gsize) result->width * result->height;
  g_assert_cmpuint (golden_n, ==, (gsize) result->n_frames * 3 * plane);
  int max_byte_diff = 0;
  for (int f = 0; f < result->n_frames; f++)
    for (int ch = 0; ch < 3; ch++)
      for (gsize p = 0; p < plane; p++)
        {
          double x = golden_frames[((gsize) f * 3 + ch) * plane + p];
          int expected = (int) CLAMP (round ((x + 1.0) * 127.5), 0, 255);
          int actual = result->frames[((gsize) f * plane + p) * 4 + ch];
          max_byte_diff = MAX (max_byte_diff, ABS (actual - expected));
        }
  g_test_message ("%s: frames differ by at most %d/255", c->name, max_byte_diff);
  if (g_test_verbose ())
    g_printerr ("  %-20s max byte difference %d\n", c->name, max_byte_diff);
  g_assert_cmpint (max_byte_diff, <=, 1);

  /* The sound (the parity bundle's mel has 32 bins and its vocoder takes 64, so this is the
   * engine's Griffin-Lim, which the reference mirrors up to the FFTs' rounding). */
  g_assert_cmpuint (result->n_samples, ==, (gsize) info->mel_frames * info->hop_length);
  double err_pcm = compare (golden, c->name, "pcm", result->pcm, result->n_samples);
  g_assert_cmpfloat (err_pcm, <=, PCM_LIMIT);
}

static void
test_case (gconstpointer data)
{
  double err_video, err_audio;
  run_case (data, GOLDEN_SEED, TRUE, &err_video, &err_audio);
  g_assert_cmpfloat (err_video, <=, LATENT_LIMIT);
  g_assert_cmpfloat (err_audio, <=, LATENT_LIMIT);
}

/* The comparison sees a change of seed (all three noise streams move): the test can fail. */
static void
test_other_seed_misses (void)
{
  double err_video, err_audio;
  run_case (&cases[1], GOLDEN_SEED + 1, FALSE, &err_video, &err_audio);
  g_assert_cmpfloat (err_video, >, 100 * LATENT_LIMIT);
  g_assert_cmpfloat (err_audio, >, 100 * LATENT_LIMIT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/sampling-parity/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], test_case);
    }
  g_test_add_func ("/sampling-parity/other-seed-misses", test_other_seed_misses);
  return g_test_run ();
}

/* The public engine (jointdit.h) end to end on the reference's parity bundle: what the model
 * makes, one generation's shapes and values, determinism per seed, cancellation, bad
 * arguments, previews, and the CLIP preprocessing. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "jd-build-config.h"
#include "jd-clip-preprocess.h"
#include "jd-error.h"
#ifdef JD_HAVE_CUDA
#include "jd-cuda-backend.h"
#endif
#include "jd-image.h"
#include "jd-safetensors.h"
#include "jointdit.h"
#include "test-util.h"

#define STEPS 3

typedef struct {
  JdEngine *engine;
  JdImage  *image;
} Fixture;

static char *
parity_path (void)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "reference", "parity.safetensors",
                                NULL);
}

static int
test_threads (void)
{
  const char *text = g_getenv ("JD_TEST_THREADS");
  return text ? atoi (text) : 2;
}

static JdImage *
load_test_image (int width, int height)
{
  /* A real photograph-like picture (progressive JPEG) cropped and resized to the model. */
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "media", "fixtures",
                                                 "progressive.jpg", NULL);
  g_autoptr (GError) error = NULL;
  JdImage *image = jd_image_load (path, width, height, &error);
  g_assert_no_error (error);
  return image;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *path = parity_path ();
  g_autoptr (GError) error = NULL;
  f->engine = jd_engine_open (path, JD_DEVICE_AUTO, test_threads (), &error);
  g_assert_no_error (error);
  const JdModelInfo *info = jd_engine_get_info (f->engine);
  f->image = load_test_image (info->width, info->height);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  jd_image_free (f->image);
  jd_engine_free (f->engine);
}

typedef struct {
  int           calls;
  int           last_step;
  double        last_sigma;
  int           cancel_at;       /* cancel after this step (0: never) */
  GCancellable *cancellable;
  int           previews;
} Progress;

static void
on_progress (const JdProgress *p, gpointer user_data)
{
  Progress *progress = user_data;
  progress->calls++;
  g_assert_cmpint (p->step, ==, progress->last_step + 1);
  g_assert_cmpint (p->total, ==, STEPS);
  g_assert_true (p->t_uni > 0 && p->t_uni < 1);
  if (progress->last_step > 0)
    g_assert_cmpfloat (p->sigma_video, <, progress->last_sigma);
  g_assert_cmpfloat (p->elapsed_s, >=, 0);
  g_assert_cmpfloat (p->eta_s, >=, 0);
  progress->last_step = p->step;
  progress->last_sigma = p->sigma_video;
  if (progress->cancel_at == p->step)
    g_cancellable_cancel (progress->cancellable);
}

static JdResult *
generate (Fixture *f, guint64 seed, Progress *progress, GError **error)
{
  JdGenerateParams params;
  jd_generate_params_init (&params);
  params.steps = STEPS;
  params.seed = seed;
  params.on_progress = on_progress;
  params.user_data = progress;
  params.cancellable = progress->cancellable;
  JdResult *result = NULL;
  jd_engine_generate (f->engine, f->image->pixels, f->image->width, f->image->height,
                      f->image->stride, &params, &result, error);
  return result;
}

static void
test_info (Fixture *f, gconstpointer data)
{
  const JdModelInfo *info = jd_engine_get_info (f->engine);
  g_assert_cmpstr (info->name, ==, "parity");
  g_assert_cmpstr (info->backend, ==, "cpu");
  g_assert_cmpint (info->threads, ==, test_threads ());
  /* shapes.frames 5, video latent 4×8×8 through a factor-2 VAE, joint.video_fps 12.5 */
  g_assert_cmpint (info->frames, ==, 5);
  g_assert_cmpfloat (info->fps, ==, 12.5);
  g_assert_cmpint (info->width, ==, 16);
  g_assert_cmpint (info->height, ==, 16);
  /* audio latent 8×20×16 through a factor-2 VAE: 40 mel frames of 32 bins; the vocoder's
   * upsampling 5·4·2·2·2 = 160 samples per frame at 16 kHz */
  g_assert_cmpint (info->mel_frames, ==, 40);
  g_assert_cmpint (info->mel_bins, ==, 32);
  g_assert_cmpint (info->hop_length, ==, 160);
  g_assert_cmpint (info->sample_rate, ==, 16000);
  g_assert_cmpfloat_with_epsilon (info->audio_seconds, 40 * 160 / 16000.0, 1e-12);
  g_assert_true (info->has_vocoder);
  g_assert_false (info->has_preview);
  g_assert_cmpint (info->video_latent[0], ==, 5);
  g_assert_cmpint (info->audio_latent[1], ==, 20);
  g_assert_cmpfloat (jd_engine_get_load_seconds (f->engine), >, 0);

  /* The digest is the file's SHA-256, computed independently here. */
  g_autofree char *path = parity_path ();
  g_autofree char *contents = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                       (const guchar *) contents, length);
  g_assert_cmpstr (jd_engine_get_sha256 (f->engine), ==, want);
  g_assert_true (jd_engine_get_sha256 (f->engine) == jd_engine_get_sha256 (f->engine));
}

static void
assert_result_sane (Fixture *f, const JdResult *r)
{
  const JdModelInfo *info = jd_engine_get_info (f->engine);
  g_assert_cmpint (r->n_frames, ==, info->frames);
  g_assert_cmpint (r->width, ==, info->width);
  g_assert_cmpint (r->height, ==, info->height);
  g_assert_cmpfloat (r->fps, ==, info->fps);
  g_assert_cmpint (r->sample_rate, ==, info->sample_rate);
  g_assert_cmpuint (r->n_samples, ==, (gsize) info->mel_frames * info->hop_length);
  gsize n_bytes = (gsize) r->n_frames * r->width * r->height * 4;
  guint8 lo = 255, hi = 0;
  for (gsize i = 0; i < n_bytes; i++)
    if (i % 4 == 3)
      g_assert_cmpuint (r->frames[i], ==, 255);
    else
      {
        lo = MIN (lo, r->frames[i]);
        hi = MAX (hi, r->frames[i]);
      }
  g_assert_cmpuint (lo, <, hi);  /* a picture, not one flat colour */
  double energy = 0;
  for (gsize i = 0; i < r->n_samples; i++)
    {
      g_assert_true (isfinite (r->pcm[i]));
      energy += (double) r->pcm[i] * r->pcm[i];
    }
  g_assert_cmpfloat (energy, >, 0);
  g_assert_cmpfloat (r->load_s, >, 0);
  g_assert_cmpfloat (r->condition_s, >, 0);
  g_assert_cmpfloat (r->sampling_s, >, 0);
  g_assert_cmpfloat (r->decode_s, >, 0);
}

static gboolean
results_equal (const JdResult *a, const JdResult *b)
{
  return a->n_samples == b->n_samples
         && memcmp (a->frames, b->frames, (gsize) a->n_frames * a->width * a->height * 4) == 0
         && memcmp (a->pcm, b->pcm, a->n_samples * sizeof (float)) == 0;
}

static void
test_generate (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Progress p1 = { 0 }, p2 = { 0 }, p3 = { 0 };
  g_autoptr (JdResult) a = generate (f, 11, &p1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (p1.calls, ==, STEPS);
  assert_result_sane (f, a);

  /* The same seed gives the same clip, bit for bit; another seed another clip. */
  g_autoptr (JdResult) b = generate (f, 11, &p2, &error);
  g_assert_no_error (error);
  g_assert_true (results_equal (a, b));
  g_autoptr (JdResult) c = generate (f, 12, &p3, &error);
  g_assert_no_error (error);
  assert_result_sane (f, c);
  g_assert_cmpint (memcmp (a->frames, c->frames, (gsize) a->n_frames * a->width * a->height * 4),
                   !=, 0);
  g_assert_cmpint (memcmp (a->pcm, c->pcm, a->n_samples * sizeof (float)), !=, 0);
}

typedef struct {
  JdGuidance *guidance;
  int         change_at;   /* raise ω after this step */
} Steer;

static void
on_progress_steer (const JdProgress *p, gpointer user_data)
{
  Steer *steer = user_data;
  if (p->step == steer->change_at)
    g_assert_true (jd_guidance_set_omega (steer->guidance, 1.0, 1.0, NULL));
}

static JdResult *
generate_guided (Fixture *f, JdGuidanceMode mode, double omega, int change_at)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdGuidance) guidance = jd_guidance_new ();
  jd_guidance_set_mode (guidance, mode);
  g_assert_true (jd_guidance_set_omega (guidance, omega, omega, &error));
  Steer steer = { guidance, change_at };
  JdGenerateParams params;
  jd_generate_params_init (&params);
  params.steps = STEPS;
  params.seed = 21;
  params.guidance = guidance;
  params.on_progress = on_progress_steer;
  params.user_data = &steer;
  JdResult *result = NULL;
  g_assert_true (jd_engine_generate (f->engine, f->image->pixels, f->image->width,
                                     f->image->height, f->image->stride, &params, &result,
                                     &error));
  g_assert_no_error (error);
  return result;
}

/* The guidance reaches the model: ω = 0 is no guidance in every mode; the modes' negative
 * calls differ; a change during the run takes effect at the next step. */
static void
test_guidance (Fixture *f, gconstpointer data)
{
  g_autoptr (JdResult) none = generate_guided (f, JD_GUIDANCE_NONE, 0, 0);
  g_autoptr (JdResult) joint0 = generate_guided (f, JD_GUIDANCE_JOINT, 0, 0);
  g_assert_true (results_equal (none, joint0));
  g_autoptr (JdResult) cfg = generate_guided (f, JD_GUIDANCE_CFG, 1, 0);
  g_autoptr (JdResult) joint = generate_guided (f, JD_GUIDANCE_JOINT, 1, 0);
  g_autoptr (JdResult) star = generate_guided (f, JD_GUIDANCE_JOINT_STAR, 1, 0);
  g_assert_false (results_equal (none, cfg));
  g_assert_false (results_equal (cfg, joint));
  g_assert_false (results_equal (joint, star));
  /* ω 0 for step 1, then 1: neither the unguided nor the always-guided clip. */
  g_autoptr (JdResult) steered = generate_guided (f, JD_GUIDANCE_JOINT, 0, 1);
  g_assert_false (results_equal (steered, none));
  g_assert_false (results_equal (steered, joint));
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  /* Cancelled during the run: the sampler stops before the next denoiser call. */
  Progress p = { .cancel_at = 1, .cancellable = cancellable };
  g_autoptr (JdResult) r = generate (f, 5, &p, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (r);
  g_assert_cmpint (p.calls, ==, 1);
  g_clear_error (&error);

  /* Cancelled before it starts: no step at all. */
  Progress q = { .cancellable = cancellable };
  g_autoptr (JdResult) s = generate (f, 5, &q, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (s);
  g_assert_cmpint (q.calls, ==, 0);
}

static void
test_bad_arguments (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  JdGenerateParams params;
  jd_generate_params_init (&params);
  g_assert_cmpint (params.steps, ==, JD_DEFAULT_STEPS);
  g_assert_cmpfloat (params.noise_aug_strength, ==, 0.02);
  params.steps = 1;
  JdResult *result = NULL;

  /* A picture of another size. */
  g_autoptr (JdImage) small = load_test_image (8, 16);
  g_assert_false (jd_engine_generate (f->engine, small->pixels, 8, 16, small->stride, &params,
                                      &result, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "16×16"));
  g_assert_nonnull (strstr (error->message, "8×16"));
  g_assert_null (result);
  g_clear_error (&error);

  /* Settings out of range. */
  params.steps = 0;
  g_assert_false (jd_engine_generate (f->engine, f->image->pixels, 16, 16, f->image->stride,
                                      &params, &result, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "0 steps"));
  g_clear_error (&error);
  params.steps = 1;
  params.noise_aug_strength = NAN;
  g_assert_false (jd_engine_generate (f->engine, f->image->pixels, 16, 16, f->image->stride,
                                      &params, &result, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_null (result);
}

static void
test_open_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = parity_path ();
#ifdef JD_HAVE_CUDA
  /* A CUDA build on a machine without a usable GPU says so (tests/gpu/ covers the GPU). */
  if (jd_cuda_device_count (NULL) == 0)
    {
      g_assert_null (jd_engine_open (path, JD_DEVICE_CUDA, 1, &error));
      g_assert_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, "GPU"));
      g_clear_error (&error);
    }
#else
  g_assert_null (jd_engine_open (path, JD_DEVICE_CUDA, 1, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "no CUDA backend"));
  g_clear_error (&error);
#endif

  g_assert_null (jd_engine_open ("/nonexistent/model.safetensors", JD_DEVICE_CPU, 1, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/nonexistent/model.safetensors"));
  g_clear_error (&error);

  /* A valid bundle that is not a whole model (no VAEs): refused, naming what is missing. */
  g_autofree char *bundle = g_test_build_filename (G_TEST_DIST, "fixtures", "valid",
                                                   "bundle.safetensors", NULL);
  g_assert_null (jd_engine_open (bundle, JD_DEVICE_CPU, 1, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_test_message ("incomplete bundle: %s", error->message);

  JdDevice device;
  g_assert_true (jd_device_parse ("cuda", &device));
  g_assert_cmpint (device, ==, JD_DEVICE_CUDA);
  g_assert_true (jd_device_parse ("auto", &device));
  g_assert_cmpint (device, ==, JD_DEVICE_AUTO);
  g_assert_false (jd_device_parse ("gpu", &device));
  g_assert_cmpstr (jd_device_name (JD_DEVICE_CPU), ==, "cpu");

  /* What the studio offers: the CPU always; the GPU only with CUDA and a device, else a reason. */
  g_autofree char *reason = NULL;
  g_assert_true (jd_device_usable (JD_DEVICE_CPU, &reason));
  g_assert_null (reason);
  g_assert_true (jd_device_usable (JD_DEVICE_AUTO, NULL));
#ifdef JD_HAVE_CUDA
  gboolean gpu = jd_device_usable (JD_DEVICE_CUDA, &reason);
  g_assert_cmpint (gpu, ==, jd_cuda_device_count (NULL) > 0);
  g_assert_true (gpu == (reason == NULL));
#else
  g_assert_false (jd_device_usable (JD_DEVICE_CUDA, &reason));
  g_assert_nonnull (strstr (reason, "no CUDA backend"));
#endif
}

/* The parity bundle rewritten with a "preview" object and without its vocoder, in a
 * temporary folder. */
static char *
write_preview_bundle (const char *folder, const char *preview_json)
{
  g_autofree char *path = parity_path ();
  g_autoptr (GError) error = NULL;
  JdSafetensors *file = jd_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, jd_safetensors_get_metadata (file,
                                                                                 "jointdit.config"),
                                             -1, &error));
  JsonObject *config = json_node_get_object (json_parser_get_root (parser));
  json_object_remove_member (config, "vocoder");
  json_object_set_string_member (config, "name", "stand-in");
  g_autoptr (JsonParser) preview = json_parser_new ();
  g_assert_true (json_parser_load_from_data (preview, preview_json, -1, &error));
  json_object_set_member (config, "preview", json_node_copy (json_parser_get_root (preview)));
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_root (generator, json_parser_get_root (parser));
  g_autofree char *text = json_generator_to_data (generator, NULL);

  JdSafetensorsWriter *writer = jd_safetensors_writer_new ();
  for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
    {
      const JdSafetensorsEntry *e = jd_safetensors_get_entry (file, i);
      if (g_str_has_prefix (e->name, "audio.vocoder."))
        continue;
      g_assert_true (jd_safetensors_writer_add (writer, e->name, e->dtype, e->ndim, e->shape,
                                                e->data, &error));
    }
  jd_safetensors_writer_set_metadata (writer, "jointdit.config", text);
  char *out = g_build_filename (folder, "preview.safetensors", NULL);
  g_assert_true (jd_safetensors_writer_write (writer, out, &error));
  g_assert_no_error (error);
  jd_safetensors_writer_free (writer);
  jd_safetensors_free (file);
  return out;
}

typedef struct {
  int calls;
  int mel_height;
} PreviewSeen;

static void
on_preview (const JdPreview *p, gpointer user_data)
{
  PreviewSeen *seen = user_data;
  seen->calls++;
  g_assert_cmpint (p->step, ==, seen->calls);
  g_assert_cmpint (p->n_frames, ==, 5);
  g_assert_cmpint (p->width, ==, 8);
  g_assert_cmpint (p->height, ==, 8);
  g_assert_cmpint (p->mel_width, ==, 20);
  g_assert_cmpint (p->mel_height, ==, 16);
  /* The map below sends every latent to RGB (0.5, 0, −1) → bytes (191, 128, 0); alpha 255. */
  for (int i = 0; i < p->n_frames * p->width * p->height; i++)
    {
      g_assert_cmpuint (p->frames[4 * i + 0], ==, 191);
      g_assert_cmpuint (p->frames[4 * i + 1], ==, 128);
      g_assert_cmpuint (p->frames[4 * i + 2], ==, 0);
      g_assert_cmpuint (p->frames[4 * i + 3], ==, 255);
    }
  for (int i = 0; i < p->mel_width * p->mel_height; i++)
    g_assert_cmpuint (p->mel[4 * i + 3], ==, 255);
}

static void
test_preview (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("jd-engine-XXXXXX", &error);
  g_assert_no_error (error);
  /* Zero weights and a fixed bias give a known colour whatever the latents are. */
  g_autofree char *path = write_preview_bundle (
    folder, "{\"video_rgb\": {\"weight\": [[0,0,0,0],[0,0,0,0],[0,0,0,0]],"
            " \"bias\": [0.5, 0, -1]},"
            " \"audio_mel\": {\"weight\": [1,0,0,0,0,0,0,-1], \"bias\": 0.25}}");
  g_autoptr (JdEngine) engine = jd_engine_open (path, JD_DEVICE_CPU, test_threads (), &error);
  g_assert_no_error (error);
  const JdModelInfo *info = jd_engine_get_info (engine);
  g_assert_cmpstr (info->name, ==, "stand-in");  /* the config's name before the file's */
  g_assert_true (info->has_preview);
  g_assert_false (info->has_vocoder);
  g_assert_cmpint (info->hop_length, ==, 160);

  g_autoptr (JdImage) image = load_test_image (info->width, info->height);
  PreviewSeen seen = { 0 };
  JdGenerateParams params;
  jd_generate_params_init (&params);
  params.steps = 2;
  params.on_preview = on_preview;
  params.user_data = &seen;
  g_autoptr (JdResult) result = NULL;
  g_assert_true (jd_engine_generate (engine, image->pixels, image->width, image->height,
                                     image->stride, &params, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (seen.calls, ==, 2);
  /* Griffin-Lim made the sound: as many samples, finite. */
  g_assert_cmpuint (result->n_samples, ==, 40 * 160);
  for (gsize i = 0; i < result->n_samples; i++)
    g_assert_true (isfinite (result->pcm[i]));

  /* A malformed preview object is a model-file error naming the key. */
  g_autofree char *sub = g_build_filename (folder, "bad", NULL);
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_autofree char *bad = write_preview_bundle (
    sub, "{\"video_rgb\": {\"weight\": [[0,0,0],[0,0,0],[0,0,0]], \"bias\": [0, 0, 0]},"
         " \"audio_mel\": {\"weight\": [1,0,0,0,0,0,0,0], \"bias\": 0}}");
  g_assert_null (jd_engine_open (bad, JD_DEVICE_CPU, 1, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "preview.video_rgb.weight[0]"));

  g_unlink (bad);
  g_rmdir (sub);
  g_unlink (path);
  g_rmdir (folder);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/engine/info", Fixture, NULL, fixture_set_up, test_info, fixture_tear_down);
  g_test_add ("/engine/generate", Fixture, NULL, fixture_set_up, test_generate,
              fixture_tear_down);
  g_test_add ("/engine/guidance", Fixture, NULL, fixture_set_up, test_guidance,
              fixture_tear_down);
  g_test_add ("/engine/cancel", Fixture, NULL, fixture_set_up, test_cancel, fixture_tear_down);
  g_test_add ("/engine/bad-arguments", Fixture, NULL, fixture_set_up, test_bad_arguments,
              fixture_tear_down);
  g_test_add_func ("/engine/open-errors", test_open_errors);
  g_test_add_func ("/engine/preview", test_preview);
  return g_test_run ();
}

/* JointDiT (Joint Blocks + the two UNets) against the float64 goldens of the PyTorch reference
 * (tools/reference/make_parity_fixtures.py: {cond, null} × {full, block_diagonal, skip}), the
 * batching of a denoiser request, the sampler on the parity bundle, and bad arguments. */
#include <math.h>
#include <string.h>

#include "jd-error.h"
#include "jd-jointdit.h"
#include "jd-layers.h"
#include "jd-sampler.h"
#include "parity-fixtures.h"

#define PARITY_LIMIT 1e-4
/* Batching changes only the kernels' summation order (oneDNN blocks a batch of 2 differently);
 * this network amplifies such rounding: measured up to 3.3e-6
 * (video) and 3.9e-5 (audio, the null call, whose x̂₀ also divides ε by √ᾱ) at 1–2 threads, so
 * 1e-6 is not a reliable bound. A real batching fault (a sample given another's condition,
 * timestep or mask) moves x̂₀ by 1e-2 or more (the modes-differ test measures 3e-2 … 1e-1). */
#define BATCH_LIMIT 1e-4
/* The denoiser against the same computation by hand: inputs rounded in another order (c_in·x
 * in float there, in double here), amplified as above. */
#define PRECONDITIONING_LIMIT 1e-4

typedef struct {
  JdSafetensors *file;
  JdSafetensors *golden;
  JsonObject    *config;
  JdWeights     *weights;
  JdJointDiT    *jointdit;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->file = jd_parity_weights ();
  f->golden = jd_parity_golden ();
  f->config = jd_parity_config (f->file);
  f->weights = jd_weights_new (f->file, jd_test_backend ());
  f->jointdit = jd_jointdit_new (f->weights, f->config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->jointdit);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->jointdit, jd_jointdit_free);
  g_clear_pointer (&f->weights, jd_weights_free);
  g_clear_pointer (&f->config, json_object_unref);
  g_clear_pointer (&f->golden, jd_safetensors_free);
  g_clear_pointer (&f->file, jd_safetensors_free);
}

typedef struct {
  JdTensor *video_sample, *video_timestep, *video_context, *added_time_ids;
  JdTensor *audio_sample, *audio_timestep, *image_embeds;
} GoldenInputs;

static void
golden_inputs_load (Fixture *f, gboolean null_condition, GoldenInputs *g, JdJointDiTInputs *in)
{
  g->video_sample = jd_parity_tensor (f->golden, null_condition ? "null.video_sample"
                                                                : "in.video_sample");
  g->video_context = jd_parity_tensor (f->golden, null_condition ? "null.video_context"
                                                                 : "in.video_context");
  g->video_timestep = jd_parity_tensor (f->golden, "in.video_timestep");
  g->added_time_ids = jd_parity_tensor (f->golden, "in.added_time_ids");
  g->audio_sample = jd_parity_tensor (f->golden, "in.audio_sample");
  g->audio_timestep = jd_parity_tensor (f->golden, "in.audio_timestep");
  g->image_embeds = null_condition ? NULL : jd_parity_tensor (f->golden, "in.image_embeds");
  *in = (JdJointDiTInputs) {
    .video_sample = g->video_sample, .video_timestep = g->video_timestep,
    .video_context = g->video_context, .added_time_ids = g->added_time_ids,
    .audio_sample = g->audio_sample, .audio_timestep = g->audio_timestep,
    .image_embeds = g->image_embeds,
  };
}

static void
golden_inputs_clear (GoldenInputs *g)
{
  JdTensor **all[] = { &g->video_sample, &g->video_timestep, &g->video_context,
                       &g->added_time_ids, &g->audio_sample, &g->audio_timestep,
                       &g->image_embeds };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (all[i], jd_tensor_free);
}

static const char *const mode_names[] = { "full", "block_diagonal", "skip" };

/* Runs the raw forward on the golden inputs; outputs poisoned first. */
static void
run_forward (Fixture *f, gboolean null_condition, JdAttentionMode mode, JdTensor **video,
             JdTensor **audio)
{
  g_autoptr (GError) error = NULL;
  GoldenInputs g;
  JdJointDiTInputs in;
  golden_inputs_load (f, null_condition, &g, &in);
  int64_t vshape[5] = { 1, g.video_sample->shape[1], 4, g.video_sample->shape[3],
                        g.video_sample->shape[4] };
  *video = jd_test_tensor_poisoned (5, vshape);
  *audio = jd_test_tensor_poisoned (4, g.audio_sample->shape);
  g_assert_true (jd_jointdit_forward (f->jointdit, &in, mode, *video, *audio, &error));
  g_assert_no_error (error);
  golden_inputs_clear (&g);
}

static void
assert_golden (Fixture *f, const JdTensor *out, const char *name)
{
  gsize n = 0;
  g_autofree double *want = jd_parity_expected (f->golden, name, &n);
  g_assert_cmpuint (n, ==, (gsize) jd_tensor_numel (out));
  g_test_message ("%s: err = %.3g", name, jd_test_rel_error (out->data, want, n));
  jd_test_assert_close (out->data, want, n, PARITY_LIMIT);
}

typedef struct {
  gboolean        null_condition;
  JdAttentionMode mode;
} ParityCase;

static void
test_parity (Fixture *f, gconstpointer data)
{
  const ParityCase *c = data;
  g_autoptr (JdTensor) video = NULL;
  g_autoptr (JdTensor) audio = NULL;
  run_forward (f, c->null_condition, c->mode, &video, &audio);
  const char *cond = c->null_condition ? "null" : "cond";
  g_autofree char *vname = g_strdup_printf ("%s.%s.video", cond, mode_names[c->mode]);
  g_autofree char *aname = g_strdup_printf ("%s.%s.audio", cond, mode_names[c->mode]);
  assert_golden (f, video, vname);
  assert_golden (f, audio, aname);
}

static double
relative_difference (const JdTensor *a, const JdTensor *b)
{
  const float *x = a->data, *y = b->data;
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < jd_tensor_numel (a); i++)
    {
      num += ((double) x[i] - y[i]) * ((double) x[i] - y[i]);
      den += (double) y[i] * y[i];
    }
  return sqrt (num / den);
}

/* The three modes compute different things on both modalities (the gates are random, so each
 * term counts). */
static void
test_modes_differ (Fixture *f, gconstpointer data)
{
  JdTensor *video[3], *audio[3];
  for (int m = 0; m < 3; m++)
    run_forward (f, FALSE, (JdAttentionMode) m, &video[m], &audio[m]);
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++)
      {
        double dv = relative_difference (video[i], video[j]);
        double da = relative_difference (audio[i], audio[j]);
        g_test_message ("%s vs %s: video %.3g, audio %.3g", mode_names[i], mode_names[j], dv, da);
        g_assert_cmpfloat (dv, >, 1e-4);
        g_assert_cmpfloat (da, >, 1e-4);
      }
  for (int m = 0; m < 3; m++)
    {
      jd_tensor_free (video[m]);
      jd_tensor_free (audio[m]);
    }
}

static void
set_random_condition (Fixture *f, GRand *rng)
{
  g_autoptr (GError) error = NULL;
  int64_t video[4], audio[3];
  jd_jointdit_get_latent_shapes (f->jointdit, video, audio);
  g_autoptr (JdTensor) latent = jd_test_tensor_random (rng, -1.0f, 1.0f, 3, video + 1);
  int64_t embed_dim = 32;
  g_autoptr (JdTensor) embedding = jd_test_tensor_random (rng, -1.0f, 1.0f, 1, &embed_dim);
  g_assert_true (jd_jointdit_set_condition (f->jointdit, latent, embedding, 12.5, 127.0, 0.02,
                                            &error));
  g_assert_no_error (error);
}

static JdSchedule *
default_schedule (void)
{
  JdScheduleConfig config;
  jd_schedule_config_init_default (&config);
  g_autoptr (GError) error = NULL;
  JdSchedule *schedule = jd_schedule_new (&config, &error);
  g_assert_no_error (error);
  return schedule;
}

/* A request of two calls (positive + each negative kind) gives, up to float rounding, the x̂₀
 * of each call made alone. */
static void
test_batched_request (Fixture *f, gconstpointer data)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  set_random_condition (f, rng);
  int64_t vshape[4], ashape[3];
  jd_jointdit_get_latent_shapes (f->jointdit, vshape, ashape);
  g_assert_cmpint (vshape[0], ==, 5);
  g_assert_cmpint (ashape[1], ==, 20);
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -3.0f, 3.0f, 4, vshape);
  g_autoptr (JdTensor) y = jd_test_tensor_random (rng, -1.0f, 1.0f, 3, ashape);
  g_autoptr (JdSchedule) schedule = default_schedule ();
  JdDenoiser *denoiser = jd_jointdit_get_denoiser (f->jointdit);

  const JdDenoiseCall negatives[] = {
    { FALSE, JD_ATTENTION_FULL },
    { FALSE, JD_ATTENTION_BLOCK_DIAGONAL },
    { FALSE, JD_ATTENTION_SKIP },
  };
  for (gsize k = 0; k < G_N_ELEMENTS (negatives); k++)
    {
      JdDenoiseCall calls[2] = { { TRUE, JD_ATTENTION_FULL }, negatives[k] };
      JdTensor *pair_v[2], *pair_a[2], *alone_v[2], *alone_a[2];
      JdDenoiseRequest request = {
        .video = x, .audio = y, .point = jd_schedule_point (schedule, 0.6), .n_calls = 2,
      };
      for (int i = 0; i < 2; i++)
        {
          request.calls[i] = calls[i];
          pair_v[i] = request.x0_video[i] = jd_test_tensor_poisoned (4, vshape);
          pair_a[i] = request.x0_audio[i] = jd_test_tensor_poisoned (3, ashape);
        }
      g_autoptr (GError) error = NULL;
      g_assert_true (jd_denoiser_denoise (denoiser, &request, &error));
      g_assert_no_error (error);
      for (int i = 0; i < 2; i++)
        {
          JdDenoiseRequest single = { .video = x, .audio = y, .point = request.point,
                                      .n_calls = 1, .calls = { calls[i] } };
          alone_v[i] = single.x0_video[0] = jd_test_tensor_poisoned (4, vshape);
          alone_a[i] = single.x0_audio[0] = jd_test_tensor_poisoned (3, ashape);
          g_assert_true (jd_denoiser_denoise (denoiser, &single, &error));
          g_assert_no_error (error);
        }
      for (int i = 0; i < 2; i++)
        {
          double dv = relative_difference (pair_v[i], alone_v[i]);
          double da = relative_difference (pair_a[i], alone_a[i]);
          g_test_message ("negative %s, call %d: batched vs alone: video %.3g, audio %.3g",
                          mode_names[negatives[k].attention], i, dv, da);
          g_assert_cmpfloat (dv, <=, BATCH_LIMIT);
          g_assert_cmpfloat (da, <=, BATCH_LIMIT);
        }
      /* The negative call really is another computation. */
      g_assert_cmpfloat (relative_difference (pair_v[0], pair_v[1]), >, 1e-4);
      g_assert_cmpfloat (relative_difference (pair_a[0], pair_a[1]), >, 1e-4);
      for (int i = 0; i < 2; i++)
        {
          jd_tensor_free (pair_v[i]);
          jd_tensor_free (pair_a[i]);
          jd_tensor_free (alone_v[i]);
          jd_tensor_free (alone_a[i]);
        }
    }
}

/* The denoiser's preconditioning against the raw forward: x̂₀ = c_skip·x + c_out·F(c_in·x, …)
 * for video (with the condition laid out as the reference's inputs) and (x − √(1−ᾱ)·ε)/√ᾱ
 * for audio. */
static void
test_denoiser_preconditioning (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rng = jd_test_rng ();
  int64_t vshape[4], ashape[3];
  jd_jointdit_get_latent_shapes (f->jointdit, vshape, ashape);
  const int64_t frames = vshape[0], c = vshape[1], hw = vshape[2] * vshape[3];
  g_autoptr (JdTensor) latent = jd_test_tensor_random (rng, -1.0f, 1.0f, 3, vshape + 1);
  int64_t embed_dim = 32;
  g_autoptr (JdTensor) embedding = jd_test_tensor_random (rng, -1.0f, 1.0f, 1, &embed_dim);
  g_assert_true (jd_jointdit_set_condition (f->jointdit, latent, embedding, 8.0, 100.0, 0.05,
                                            &error));
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -3.0f, 3.0f, 4, vshape);
  g_autoptr (JdTensor) y = jd_test_tensor_random (rng, -1.0f, 1.0f, 3, ashape);
  g_autoptr (JdSchedule) schedule = default_schedule ();
  JdSchedulePoint point = jd_schedule_point (schedule, 0.4);
  JdDenoiseRequest request = { .video = x, .audio = y, .point = point, .n_calls = 1,
                               .calls = { { TRUE, JD_ATTENTION_FULL } } };
  g_autoptr (JdTensor) x0v = request.x0_video[0] = jd_test_tensor_poisoned (4, vshape);
  g_autoptr (JdTensor) x0a = request.x0_audio[0] = jd_test_tensor_poisoned (3, ashape);
  g_assert_true (jd_denoiser_denoise (jd_jointdit_get_denoiser (f->jointdit), &request, &error));
  g_assert_no_error (error);

  /* The same by hand through the raw forward. */
  const double c_in = jd_edm_c_in (point.sigma);
  g_autoptr (JdTensor) sample = jd_test_tensor_poisoned (5, (int64_t[]) { 1, frames, 2 * c,
                                                                          vshape[2], vshape[3] });
  float *s = sample->data;
  const float *xs = x->data, *ls = latent->data;
  for (int64_t t = 0; t < frames; t++)
    for (int64_t ch = 0; ch < 2 * c; ch++)
      for (int64_t p = 0; p < hw; p++)
        s[(t * 2 * c + ch) * hw + p] = ch < c ? (float) (c_in * xs[(t * c + ch) * hw + p])
                                              : ls[(ch - c) * hw + p];
  g_autoptr (JdTensor) timestep = jd_test_tensor_poisoned (1, (int64_t[]) { 1 });
  ((float *) timestep->data)[0] = (float) jd_edm_c_noise (point.sigma);
  g_autoptr (JdTensor) context = jd_test_tensor_poisoned (3, (int64_t[]) { 1, 1, embed_dim });
  memcpy (context->data, embedding->data, embed_dim * sizeof (float));
  g_autoptr (JdTensor) ids = jd_test_tensor_poisoned (2, (int64_t[]) { 1, 3 });
  memcpy (ids->data, (float[]) { 7.0f, 100.0f, 0.05f }, 3 * sizeof (float));
  g_autoptr (JdTensor) asample = jd_tensor_view_as (y, 4, (int64_t[]) { 1, ashape[0], ashape[1],
                                                                       ashape[2] });
  g_autoptr (JdTensor) atime = jd_test_tensor_poisoned (1, (int64_t[]) { 1 });
  ((float *) atime->data)[0] = (float) point.audio_index;
  g_autoptr (JdTensor) embeds = jd_tensor_view_as (embedding, 2, (int64_t[]) { 1, embed_dim });
  JdJointDiTInputs in = { sample, timestep, context, ids, asample, atime, embeds };
  g_autoptr (JdTensor) vout = jd_test_tensor_poisoned (5, (int64_t[]) { 1, frames, c, vshape[2],
                                                                        vshape[3] });
  g_autoptr (JdTensor) aout = jd_test_tensor_poisoned (4, asample->shape);
  g_assert_true (jd_jointdit_forward (f->jointdit, &in, JD_ATTENTION_FULL, vout, aout, &error));
  g_assert_no_error (error);
  const gsize nv = (gsize) jd_tensor_numel (x), na = (gsize) jd_tensor_numel (y);
  g_autofree double *want_v = g_new (double, nv);
  g_autofree double *want_a = g_new (double, na);
  const double sigma = point.sigma, ab = point.alpha_bar;
  for (gsize i = 0; i < nv; i++)
    want_v[i] = xs[i] / (sigma * sigma + 1.0)
                - sigma / sqrt (sigma * sigma + 1.0) * ((float *) vout->data)[i];
  for (gsize i = 0; i < na; i++)
    want_a[i] = (((float *) y->data)[i] - sqrt (1.0 - ab) * ((float *) aout->data)[i]) / sqrt (ab);
  jd_test_assert_close (x0v->data, want_v, nv, PRECONDITIONING_LIMIT);
  jd_test_assert_close (x0a->data, want_a, na, PRECONDITIONING_LIMIT);
}

static gboolean
identical (const JdTensor *a, const JdTensor *b)
{
  return jd_tensor_same_shape (a, b) && memcmp (a->data, b->data, jd_tensor_nbytes (a)) == 0;
}

static void
sample_once (Fixture *f, JdGuidance *guidance, uint64_t seed, JdTensor **video, JdTensor **audio)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSchedule) schedule = default_schedule ();
  int64_t vshape[4], ashape[3];
  jd_jointdit_get_latent_shapes (f->jointdit, vshape, ashape);
  JdSamplerParams params = { .steps = 4, .seed = seed, .guidance = guidance };
  g_assert_true (jd_sample (jd_test_backend (), jd_jointdit_get_denoiser (f->jointdit), schedule,
                            4, vshape, 3, ashape, &params, video, audio, &error));
  g_assert_no_error (error);
}

static gboolean
all_finite (const JdTensor *t)
{
  const float *x = t->data;
  for (int64_t i = 0; i < jd_tensor_numel (t); i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

static void
test_sampler (Fixture *f, gconstpointer data)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  set_random_condition (f, rng);
  g_autoptr (JdGuidance) guidance = jd_guidance_new ();
  jd_guidance_set_mode (guidance, JD_GUIDANCE_JOINT_STAR);
  g_assert_true (jd_guidance_set_omega (guidance, 1.0, 1.5, NULL));
  g_autoptr (JdTensor) v1 = NULL, a1 = NULL, v2 = NULL, a2 = NULL, v3 = NULL, a3 = NULL;
  sample_once (f, guidance, 7, &v1, &a1);
  sample_once (f, guidance, 7, &v2, &a2);
  sample_once (f, guidance, 8, &v3, &a3);
  g_assert_true (all_finite (v1) && all_finite (a1));
  g_assert_true (identical (v1, v2) && identical (a1, a2));
  g_assert_false (identical (v1, v3));
  g_assert_false (identical (a1, a3));

  /* ω = 0: the negative call is skipped, so every mode gives the same bits. */
  g_assert_true (jd_guidance_set_omega (guidance, 0.0, 0.0, NULL));
  JdTensor *videos[JD_GUIDANCE_MODE_COUNT], *audios[JD_GUIDANCE_MODE_COUNT];
  for (int m = 0; m < JD_GUIDANCE_MODE_COUNT; m++)
    {
      jd_guidance_set_mode (guidance, (JdGuidanceMode) m);
      sample_once (f, guidance, 7, &videos[m], &audios[m]);
    }
  for (int m = 1; m < JD_GUIDANCE_MODE_COUNT; m++)
    {
      g_assert_true (identical (videos[0], videos[m]));
      g_assert_true (identical (audios[0], audios[m]));
    }
  /* …and differs from the guided run. */
  g_assert_false (identical (videos[0], v1));
  for (int m = 0; m < JD_GUIDANCE_MODE_COUNT; m++)
    {
      jd_tensor_free (videos[m]);
      jd_tensor_free (audios[m]);
    }
}

static void
test_bad_arguments (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  /* Forward with mismatched batch sizes. */
  GoldenInputs g;
  JdJointDiTInputs in;
  golden_inputs_load (f, FALSE, &g, &in);
  g_autoptr (JdTensor) two = jd_test_tensor_poisoned (4, (int64_t[]) { 2, 8, 20, 16 });
  in.audio_sample = two;
  g_autoptr (JdTensor) vout = jd_test_tensor_poisoned (5, (int64_t[]) { 1, 5, 4, 8, 8 });
  g_autoptr (JdTensor) aout = jd_test_tensor_poisoned (4, (int64_t[]) { 1, 8, 20, 16 });
  g_assert_false (jd_jointdit_forward (f->jointdit, &in, JD_ATTENTION_FULL, vout, aout, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "JointDiT forward"));
  g_clear_error (&error);
  /* Wrong output shape. */
  in.audio_sample = g.audio_sample;
  g_autoptr (JdTensor) small = jd_test_tensor_poisoned (4, (int64_t[]) { 1, 8, 20, 15 });
  g_assert_false (jd_jointdit_forward (f->jointdit, &in, JD_ATTENTION_FULL, vout, small, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  golden_inputs_clear (&g);

  /* A conditioned call before any condition. */
  int64_t vshape[4], ashape[3];
  jd_jointdit_get_latent_shapes (f->jointdit, vshape, ashape);
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1.0f, 1.0f, 4, vshape);
  g_autoptr (JdTensor) y = jd_test_tensor_random (rng, -1.0f, 1.0f, 3, ashape);
  g_autoptr (JdTensor) x0v = jd_test_tensor_poisoned (4, vshape);
  g_autoptr (JdTensor) x0a = jd_test_tensor_poisoned (3, ashape);
  g_autoptr (JdSchedule) schedule = default_schedule ();
  JdDenoiseRequest request = { .video = x, .audio = y, .point = jd_schedule_point (schedule, 0.5),
                               .n_calls = 1, .calls = { { TRUE, JD_ATTENTION_FULL } },
                               .x0_video = { x0v }, .x0_audio = { x0a } };
  g_assert_false (jd_denoiser_denoise (jd_jointdit_get_denoiser (f->jointdit), &request, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* …but the null condition needs none. */
  request.calls[0].conditioned = FALSE;
  g_assert_true (jd_denoiser_denoise (jd_jointdit_get_denoiser (f->jointdit), &request, &error));
  g_assert_no_error (error);
  g_assert_true (all_finite (x0v) && all_finite (x0a));

  /* A condition of the wrong shape. */
  g_autoptr (JdTensor) latent = jd_test_tensor_random (rng, -1.0f, 1.0f, 3,
                                                       (int64_t[]) { 4, 8, 7 });
  g_autoptr (JdTensor) embedding = jd_test_tensor_random (rng, -1.0f, 1.0f, 1,
                                                          (int64_t[]) { 32 });
  g_assert_false (jd_jointdit_set_condition (f->jointdit, latent, embedding, 8, 127, 0.02,
                                             &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

/* Configs that do not fit are refused with a message naming the key. */
static void
test_bad_config (Fixture *f, gconstpointer data)
{
  static const struct {
    const char *path, *json, *expect;
  } cases[] = {
    { "split", "{\"video\": [\"down_blocks.1\"], \"audio\": []}", "joint.split" },
    { "split", "{\"video\": [\"conv_in\"], \"audio\": [\"down_blocks.1\"]}", "conv_in" },
    { "split", "{\"video\": [\"down_blocks.2\", \"down_blocks.1\"], "
               "\"audio\": [\"down_blocks.1\", \"down_blocks.2\"]}", "down_blocks.1" },
    { "heads", "3", "heads" },
    { "d_qk", "12", "multiple of 8" },
    { "video_fps", "0", "video_fps" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) original = json_node_init_object (json_node_alloc (), f->config);
      g_autofree char *text = json_to_string (original, FALSE);
      g_autoptr (JsonNode) root = json_from_string (text, &error);
      g_assert_no_error (error);
      JsonObject *config = json_node_get_object (root);
      JsonObject *joint = json_object_get_object_member (config, "joint");
      json_object_set_member (joint, cases[i].path, json_from_string (cases[i].json, NULL));
      g_autoptr (JdWeights) weights = jd_weights_new (f->file, jd_test_backend ());
      JdJointDiT *jd = jd_jointdit_new (weights, config, &error);
      g_assert_null (jd);
      g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
      g_test_message ("%s: %s", cases[i].path, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].expect));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static ParityCase cases[6];
  for (int null_condition = 0; null_condition < 2; null_condition++)
    for (int m = 0; m < 3; m++)
      {
        ParityCase *c = &cases[null_condition * 3 + m];
        c->null_condition = null_condition;
        c->mode = (JdAttentionMode) m;
        g_autofree char *path = g_strdup_printf ("/jointdit/parity/%s/%s",
                                                 null_condition ? "null" : "cond",
                                                 mode_names[m]);
        g_test_add (path, Fixture, c, fixture_set_up, test_parity, fixture_tear_down);
      }
  g_test_add ("/jointdit/modes-differ", Fixture, NULL, fixture_set_up, test_modes_differ,
              fixture_tear_down);
  g_test_add ("/jointdit/denoiser/preconditioning", Fixture, NULL, fixture_set_up,
              test_denoiser_preconditioning, fixture_tear_down);
  g_test_add ("/jointdit/denoiser/batched", Fixture, NULL, fixture_set_up, test_batched_request,
              fixture_tear_down);
  g_test_add ("/jointdit/sampler", Fixture, NULL, fixture_set_up, test_sampler,
              fixture_tear_down);
  g_test_add ("/jointdit/bad-arguments", Fixture, NULL, fixture_set_up, test_bad_arguments,
              fixture_tear_down);
  g_test_add ("/jointdit/bad-config", Fixture, NULL, fixture_set_up, test_bad_config,
              fixture_tear_down);
  return g_test_run ();
}

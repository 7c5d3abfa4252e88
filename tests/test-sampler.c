/* The joint sampler against an analytic denoiser: Gaussian data, whose exact x̂₀ is known, so
 * the loop, the step algebra, the noise, guidance, steering and cancellation can be checked
 * without a network. */
#include <math.h>
#include <string.h>

#include "jd-sampler.h"
#include "test-util.h"

#define FRAMES 4

/* Data: every element is N(mean, SPREAD²); the mean depends on the call's condition and
 * attention mode, so each guidance mode's negative term is different. */
#define SPREAD 0.5

typedef struct {
  JdDenoiser parent;
  int        requests;
  int        calls;
  JdDenoiseRequest last;      /* the last request, its inputs copied below */
  float     *last_video;
  float     *last_audio;
} GaussianDenoiser;

static double
data_mean (const JdDenoiseCall *call, gboolean audio)
{
  double mean = call->conditioned ? 1.0 : -0.5;
  if (!call->conditioned && call->attention == JD_ATTENTION_BLOCK_DIAGONAL)
    mean += 0.25;
  if (!call->conditioned && call->attention == JD_ATTENTION_SKIP)
    mean -= 0.25;
  return audio ? -mean : mean;
}

static double
ideal_x0_video (double x, double sigma, double mean)
{
  double s2 = SPREAD * SPREAD;
  return mean + s2 / (s2 + sigma * sigma) * (x - mean);
}

static double
ideal_x0_audio (double x, double alpha_bar, double mean)
{
  double s2 = SPREAD * SPREAD, root = sqrt (alpha_bar);
  return mean + root * s2 / (alpha_bar * s2 + 1.0 - alpha_bar) * (x - root * mean);
}

static gboolean
gaussian_denoise (JdDenoiser *denoiser, const JdDenoiseRequest *request, GError **error)
{
  GaussianDenoiser *self = (GaussianDenoiser *) denoiser;
  self->requests++;
  self->calls += request->n_calls;
  self->last = *request;
  gsize nv = (gsize) jd_tensor_numel (request->video), na = (gsize) jd_tensor_numel (request->audio);
  self->last_video = g_realloc_n (self->last_video, nv, sizeof (float));
  self->last_audio = g_realloc_n (self->last_audio, na, sizeof (float));
  memcpy (self->last_video, request->video->data, nv * sizeof (float));
  memcpy (self->last_audio, request->audio->data, na * sizeof (float));

  for (int c = 0; c < request->n_calls; c++)
    {
      double mv = data_mean (&request->calls[c], FALSE), ma = data_mean (&request->calls[c], TRUE);
      const float *xv = request->video->data, *xa = request->audio->data;
      float *ov = request->x0_video[c]->data, *oa = request->x0_audio[c]->data;
      for (gsize i = 0; i < nv; i++)
        ov[i] = (float) ideal_x0_video (xv[i], request->point.sigma, mv);
      for (gsize i = 0; i < na; i++)
        oa[i] = (float) ideal_x0_audio (xa[i], request->point.alpha_bar, ma);
    }
  return TRUE;
}

static const JdDenoiserClass gaussian_class = { gaussian_denoise };

static const int64_t video_shape[] = { FRAMES, 2, 16, 16 };
static const int64_t audio_shape[] = { 2, 16, 32 };

typedef struct {
  GaussianDenoiser denoiser;
  JdSchedule      *schedule;
  JdGuidance      *guidance;
  JdTensor        *video;
  JdTensor        *audio;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->denoiser.parent.klass = &gaussian_class;
  JdScheduleConfig config;
  jd_schedule_config_init_default (&config);
  f->schedule = jd_schedule_new (&config, NULL);
  f->guidance = jd_guidance_new ();
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  jd_schedule_free (f->schedule);
  jd_guidance_free (f->guidance);
  g_clear_pointer (&f->video, jd_tensor_free);
  g_clear_pointer (&f->audio, jd_tensor_free);
  g_free (f->denoiser.last_video);
  g_free (f->denoiser.last_audio);
}

static gboolean
run (Fixture *f, int steps, uint64_t seed, JdSamplerParams *extra, GError **error)
{
  JdSamplerParams params = { .steps = steps, .seed = seed, .guidance = f->guidance };
  if (extra != NULL)
    {
      params.on_step = extra->on_step;
      params.user_data = extra->user_data;
      params.cancellable = extra->cancellable;
    }
  g_clear_pointer (&f->video, jd_tensor_free);
  g_clear_pointer (&f->audio, jd_tensor_free);
  f->denoiser.requests = f->denoiser.calls = 0;
  return jd_sample (jd_test_backend (), &f->denoiser.parent, f->schedule, 4, video_shape, 3,
                    audio_shape, &params, &f->video, &f->audio, error);
}

static void
moments (const JdTensor *t, double *mean, double *std)
{
  const float *x = t->data;
  int64_t n = jd_tensor_numel (t);
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++)
    {
      s += x[i];
      s2 += (double) x[i] * x[i];
    }
  *mean = s / n;
  *std = sqrt (MAX (0.0, s2 / n - *mean * *mean));
}

static void
test_samples_the_data_distribution (Fixture *f, gconstpointer data)
{
  /* Unguided, the deterministic samplers carry N(0, σ_max²) / N(0, 1) noise onto the data
   * distribution N(±1, 0.5²) of each modality. */
  g_autoptr (GError) error = NULL;
  g_assert_true (run (f, 50, 7, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (f->denoiser.requests, ==, 50);
  double mean, std;
  moments (f->video, &mean, &std);
  g_assert_cmpfloat (fabs (mean - 1.0), <, 0.05);
  g_assert_cmpfloat (fabs (std - SPREAD), <, 0.05);
  moments (f->audio, &mean, &std);
  g_assert_cmpfloat (fabs (mean + 1.0), <, 0.05);
  g_assert_cmpfloat (fabs (std - SPREAD), <, 0.05);
}

static gboolean
tensors_identical (const JdTensor *a, const JdTensor *b)
{
  return jd_tensor_same_shape (a, b) && memcmp (a->data, b->data, jd_tensor_nbytes (a)) == 0;
}

static void
test_zero_omega_makes_all_modes_identical (Fixture *f, gconstpointer data)
{
  g_autoptr (JdTensor) video = NULL, audio = NULL;
  for (int mode = 0; mode < JD_GUIDANCE_MODE_COUNT; mode++)
    {
      jd_guidance_set_mode (f->guidance, mode);
      g_assert_true (jd_guidance_set_omega (f->guidance, 0.0, 0.0, NULL));
      g_assert_true (run (f, 6, 11, NULL, NULL));
      g_assert_cmpint (f->denoiser.calls, ==, 6); /* the negative call is skipped */
      if (video == NULL)
        {
          video = g_steal_pointer (&f->video);
          audio = g_steal_pointer (&f->audio);
          continue;
        }
      g_assert_true (tensors_identical (f->video, video));
      g_assert_true (tensors_identical (f->audio, audio));
    }
}

static void
test_guided_modes_differ (Fixture *f, gconstpointer data)
{
  JdTensor *videos[JD_GUIDANCE_MODE_COUNT] = { NULL };
  for (int mode = JD_GUIDANCE_CFG; mode < JD_GUIDANCE_MODE_COUNT; mode++)
    {
      jd_guidance_set_mode (f->guidance, mode);
      g_assert_true (jd_guidance_set_omega (f->guidance, 1.5, 1.5, NULL));
      g_assert_true (run (f, 5, 3, NULL, NULL));
      g_assert_cmpint (f->denoiser.calls, ==, 10);
      g_assert_cmpint (f->denoiser.last.n_calls, ==, 2);
      g_assert_true (f->denoiser.last.calls[0].conditioned);
      g_assert_cmpint (f->denoiser.last.calls[0].attention, ==, JD_ATTENTION_FULL);
      g_assert_false (f->denoiser.last.calls[1].conditioned);
      g_assert_cmpint (f->denoiser.last.calls[1].attention, ==,
                       jd_guidance_negative_attention (mode));
      videos[mode] = g_steal_pointer (&f->video);
    }
  g_assert_false (tensors_identical (videos[JD_GUIDANCE_CFG], videos[JD_GUIDANCE_JOINT]));
  g_assert_false (tensors_identical (videos[JD_GUIDANCE_CFG], videos[JD_GUIDANCE_JOINT_STAR]));
  g_assert_false (tensors_identical (videos[JD_GUIDANCE_JOINT], videos[JD_GUIDANCE_JOINT_STAR]));
  for (int mode = 0; mode < JD_GUIDANCE_MODE_COUNT; mode++)
    g_clear_pointer (&videos[mode], jd_tensor_free);
}

static void
test_guidance_formula_with_ramp (Fixture *f, gconstpointer data)
{
  /* The returned x̂₀ is D + ω_f (D − N) per frame, ω_f ramping 0 → 2, and D + ω_a (D − N) for
   * audio, with D and N the denoiser's answers on the last step's inputs. */
  JdGuidanceSnapshot settings = {
    .mode = JD_GUIDANCE_JOINT, .omega_video_first = 0.0, .omega_video_last = 2.0,
    .omega_audio = 2.5,
  };
  g_assert_true (jd_guidance_set (f->guidance, &settings, NULL));
  g_assert_true (run (f, 4, 5, NULL, NULL));
  const JdDenoiseRequest *last = &f->denoiser.last;
  int64_t frame_size = jd_tensor_numel (f->video) / FRAMES;
  g_autofree double *expected = g_new (double, jd_tensor_numel (f->video));
  for (int64_t i = 0; i < jd_tensor_numel (f->video); i++)
    {
      double omega = 2.0 * (double) (i / frame_size) / (FRAMES - 1);
      double d = ideal_x0_video (f->denoiser.last_video[i], last->point.sigma,
                                 data_mean (&last->calls[0], FALSE));
      double n = ideal_x0_video (f->denoiser.last_video[i], last->point.sigma,
                                 data_mean (&last->calls[1], FALSE));
      expected[i] = d + omega * (d - n);
    }
  jd_test_assert_close (f->video->data, expected, (gsize) jd_tensor_numel (f->video), 1e-6);
  g_autofree double *expected_audio = g_new (double, jd_tensor_numel (f->audio));
  for (int64_t i = 0; i < jd_tensor_numel (f->audio); i++)
    {
      double d = ideal_x0_audio (f->denoiser.last_audio[i], last->point.alpha_bar,
                                 data_mean (&last->calls[0], TRUE));
      double n = ideal_x0_audio (f->denoiser.last_audio[i], last->point.alpha_bar,
                                 data_mean (&last->calls[1], TRUE));
      expected_audio[i] = d + 2.5 * (d - n);
    }
  jd_test_assert_close (f->audio->data, expected_audio, (gsize) jd_tensor_numel (f->audio), 1e-6);
}

static void
test_seeds (Fixture *f, gconstpointer data)
{
  g_assert_true (run (f, 3, 99, NULL, NULL));
  g_autoptr (JdTensor) video = g_steal_pointer (&f->video);
  g_autoptr (JdTensor) audio = g_steal_pointer (&f->audio);
  g_assert_true (run (f, 3, 99, NULL, NULL));
  g_assert_true (tensors_identical (f->video, video));
  g_assert_true (tensors_identical (f->audio, audio));
  g_assert_true (run (f, 3, 100, NULL, NULL));
  g_assert_false (tensors_identical (f->video, video));
  g_assert_false (tensors_identical (f->audio, audio));
}

typedef struct {
  Fixture           *fixture;
  int                steps_seen;
  double             omega_seen[8];
  double             last_elapsed;
  GCancellable      *cancel_at_step_2;
} StepLog;

static void
on_step (const JdSamplerProgress *progress, gpointer user_data)
{
  StepLog *log = user_data;
  g_assert_cmpint (progress->step, ==, log->steps_seen + 1);
  g_assert_cmpfloat (progress->elapsed_s, >=, log->last_elapsed);
  g_assert_cmpfloat (progress->eta_s, >=, 0.0);
  g_assert_nonnull (progress->x0_video);
  log->last_elapsed = progress->elapsed_s;
  log->omega_seen[log->steps_seen++] = progress->guidance.omega_audio;
  if (progress->step == 2)
    {
      /* an artist moves the slider during step 2: it applies from step 3 */
      jd_guidance_set_omega (log->fixture->guidance, 3.0, 3.0, NULL);
      if (log->cancel_at_step_2)
        g_cancellable_cancel (log->cancel_at_step_2);
    }
}

static void
test_steering_and_progress (Fixture *f, gconstpointer data)
{
  jd_guidance_set_mode (f->guidance, JD_GUIDANCE_CFG);
  g_assert_true (jd_guidance_set_omega (f->guidance, 1.0, 1.0, NULL));
  StepLog log = { .fixture = f };
  JdSamplerParams extra = { .on_step = on_step, .user_data = &log };
  g_assert_true (run (f, 5, 1, &extra, NULL));
  g_assert_cmpint (log.steps_seen, ==, 5);
  const double expected[] = { 1, 1, 3, 3, 3 };
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat (log.omega_seen[i], ==, expected[i]);
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  StepLog log = { .fixture = f, .cancel_at_step_2 = cancellable };
  JdSamplerParams extra = { .on_step = on_step, .user_data = &log, .cancellable = cancellable };
  g_autoptr (GError) error = NULL;
  g_assert_false (run (f, 10, 1, &extra, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (f->denoiser.requests, ==, 2); /* stopped before the third request */
  g_assert_null (f->video);
}

static void
test_bad_step_count (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (run (f, 0, 1, NULL, &error));
  g_assert_nonnull (error);
  g_assert_cmpint (f->denoiser.requests, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) \
  g_test_add ("/sampler/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("data-distribution", test_samples_the_data_distribution);
  ADD ("zero-omega", test_zero_omega_makes_all_modes_identical);
  ADD ("guided-modes-differ", test_guided_modes_differ);
  ADD ("guidance-formula", test_guidance_formula_with_ramp);
  ADD ("seeds", test_seeds);
  ADD ("steering", test_steering_and_progress);
  ADD ("cancel", test_cancel);
  ADD ("bad-step-count", test_bad_step_count);
  return g_test_run ();
}

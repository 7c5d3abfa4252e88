/* The whole model on the GPU:
 *  - the JointDiT forward on the parity bundle's golden inputs, {cond, null} × {full,
 *    block_diagonal, skip}, against the float64 goldens of the PyTorch reference:
 *    err ≤ 1e-4 in F32 precision (as the CPU), ≤ 3e-2 in BF16 precision;
 *  - a 4-step joint-star generation through the public engine (condition, sampling with Philox
 *    noise, VAE decoders, vocoder) on the GPU against the same on the CPU: frames and sound
 *    within 3e-2 in BF16 precision, 1e-3 in F32 precision (JD_CUDA_PRECISION=f32).
 * Skips (exit 77) without a usable GPU. */
#include <string.h>

#include "gpu-test-util.h"
#include "jd-jointdit.h"
#include "jointdit.h"
#include "parity-fixtures.h"

#define F32_LIMIT 1e-4
#define BF16_LIMIT 3e-2

static const char *const mode_names[] = { "full", "block_diagonal", "skip" };

typedef struct {
  JdCudaPrecision precision;
  gboolean        null_condition;
  JdAttentionMode mode;
} ForwardCase;

static JdTensor *
golden_on (JdBackend *gpu, JdSafetensors *golden, const char *name)
{
  g_autoptr (JdTensor) host = jd_parity_tensor (golden, name);
  return gpu_test_upload (gpu, host);
}

static void
assert_golden (JdSafetensors *golden, const JdTensor *out, const char *name, double limit)
{
  gsize n = 0;
  g_autofree double *want = jd_parity_expected (golden, name, &n);
  g_assert_cmpuint (n, ==, (gsize) jd_tensor_numel (out));
  g_autofree float *got = gpu_test_download (out);
  const double err = jd_test_rel_error (got, want, n);
  g_test_message ("%s: err = %.3g", name, err);
  if (!(err <= limit))
    g_error ("%s: relative error %.3g exceeds %.3g", name, err, limit);
}

static void
test_forward (gconstpointer data)
{
  const ForwardCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBackend) gpu = gpu_test_backend (c->precision);
  jd_cuda_backend_set_precision (gpu, c->precision);
  g_autoptr (JdSafetensors) file = jd_parity_weights ();
  g_autoptr (JdSafetensors) golden = jd_parity_golden ();
  JsonObject *config = jd_parity_config (file);
  g_autoptr (JdWeights) weights = jd_weights_new (file, gpu);
  g_autoptr (JdJointDiT) jointdit = jd_jointdit_new (weights, config, &error);
  g_assert_no_error (error);

  const gboolean null = c->null_condition;
  g_autoptr (JdTensor) video_sample = golden_on (gpu, golden, null ? "null.video_sample"
                                                                   : "in.video_sample");
  g_autoptr (JdTensor) video_context = golden_on (gpu, golden, null ? "null.video_context"
                                                                    : "in.video_context");
  g_autoptr (JdTensor) video_timestep = golden_on (gpu, golden, "in.video_timestep");
  g_autoptr (JdTensor) added_time_ids = golden_on (gpu, golden, "in.added_time_ids");
  g_autoptr (JdTensor) audio_sample = golden_on (gpu, golden, "in.audio_sample");
  g_autoptr (JdTensor) audio_timestep = golden_on (gpu, golden, "in.audio_timestep");
  g_autoptr (JdTensor) image_embeds = null ? NULL : golden_on (gpu, golden, "in.image_embeds");
  JdJointDiTInputs in = {
    .video_sample = video_sample, .video_timestep = video_timestep,
    .video_context = video_context, .added_time_ids = added_time_ids,
    .audio_sample = audio_sample, .audio_timestep = audio_timestep,
    .image_embeds = image_embeds,
  };
  /* The v-prediction has the latent's channels (half the sample's, which carries the image
   * latent too). */
  int64_t vshape[5] = { 1, video_sample->shape[1], video_sample->shape[2] / 2,
                        video_sample->shape[3], video_sample->shape[4] };
  g_autoptr (JdTensor) video = gpu_test_poisoned (gpu, 5, vshape);
  g_autoptr (JdTensor) audio = gpu_test_poisoned (gpu, 4, audio_sample->shape);
  g_assert_true (jd_jointdit_forward (jointdit, &in, c->mode, video, audio, &error));
  g_assert_no_error (error);
  const char *cond = null ? "null" : "cond";
  const double limit = c->precision == JD_CUDA_PRECISION_F32 ? F32_LIMIT : BF16_LIMIT;
  g_autofree char *vname = g_strdup_printf ("%s.%s.video", cond, mode_names[c->mode]);
  g_autofree char *aname = g_strdup_printf ("%s.%s.audio", cond, mode_names[c->mode]);
  assert_golden (golden, video, vname, limit);
  assert_golden (golden, audio, aname, limit);
  g_clear_pointer (&jointdit, jd_jointdit_free);
  json_object_unref (config);
}

static double
bytes_error (const guint8 *a, const guint8 *b, gsize n)
{
  double num = 0.0, den = 0.0;
  for (gsize i = 0; i < n; i++)
    {
      num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      den += (double) b[i] * b[i];
    }
  return den > 0 ? sqrt (num / den) : sqrt (num);
}

static void
test_sampling (gconstpointer data)
{
  const gboolean f32 = GPOINTER_TO_INT (data);
  const double limit = f32 ? 1e-3 : BF16_LIMIT;
  /* The engine opens its backend in the environment's precision. */
  g_setenv ("JD_CUDA_PRECISION", f32 ? "f32" : "bf16", TRUE);
  g_autoptr (JdResult) cpu = gpu_test_generate_parity (JD_DEVICE_CPU, 4);
  g_autoptr (JdResult) gpu = gpu_test_generate_parity (JD_DEVICE_CUDA, 4);
  g_unsetenv ("JD_CUDA_PRECISION");
  g_assert_cmpint (gpu->n_frames, ==, cpu->n_frames);
  g_assert_cmpuint (gpu->n_samples, ==, cpu->n_samples);
  const gsize n_bytes = (gsize) cpu->n_frames * cpu->width * cpu->height * 4;
  const double frames_err = bytes_error (gpu->frames, cpu->frames, n_bytes);
  g_autofree double *want = g_new (double, MAX (cpu->n_samples, 1));
  for (gsize i = 0; i < cpu->n_samples; i++)
    want[i] = cpu->pcm[i];
  const double pcm_err = jd_test_rel_error (gpu->pcm, want, cpu->n_samples);
  g_test_message ("4 steps (%s): frames err = %.3g, sound err = %.3g; sampling %.3f s on the "
                  "GPU, %.3f s on the CPU", f32 ? "F32" : "BF16", frames_err, pcm_err,
                  gpu->sampling_s, cpu->sampling_s);
  g_assert_cmpfloat (frames_err, <=, limit);
  g_assert_cmpfloat (pcm_err, <=, limit);
}

int
main (int argc, char **argv)
{
  gpu_test_require_device ();
  g_test_init (&argc, &argv, NULL);
  static ForwardCase cases[2][2][3];
  for (int p = 0; p < 2; p++)
    for (int n = 0; n < 2; n++)
      for (int m = 0; m < 3; m++)
        {
          ForwardCase *c = &cases[p][n][m];
          *c = (ForwardCase) { p == 0 ? JD_CUDA_PRECISION_F32 : JD_CUDA_PRECISION_BF16, n,
                               (JdAttentionMode) m };
          g_autofree char *path = g_strdup_printf ("/cuda/jointdit/%s/%s/%s",
                                                   p == 0 ? "f32" : "bf16", n ? "null" : "cond",
                                                   mode_names[m]);
          g_test_add_data_func (path, c, test_forward);
        }
  g_test_add_data_func ("/cuda/engine/sampling-4-steps/f32", GINT_TO_POINTER (TRUE),
                        test_sampling);
  g_test_add_data_func ("/cuda/engine/sampling-4-steps/bf16", GINT_TO_POINTER (FALSE),
                        test_sampling);
  return g_test_run ();
}

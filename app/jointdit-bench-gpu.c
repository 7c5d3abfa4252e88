/* jointdit bench gpu — the CUDA backend at the paper's scale, with random weights made on the
 * GPU from a config (no model file travels).
 *
 * Sizes: (a) SVD-XT's 25 frames of 576×1024 at 6 fps with 4.16 s of audio; (b) the AVSync15
 * setting, 12 frames of 256×256 with 1.92 s of audio. Both run the full-width video UNet
 * (320/640/1280/1280), the AudioLDM2 UNet (128/256/384/640, 8 heads) and the Joint Blocks.
 * Rows: one guided step (the positive and the negative call as one batch of 2) and a 25-step
 * joint-star sampling; columns: ms, TFLOP per call as the backend counted them (linear,
 * convolutions, attention), achieved TFLOP/s, the fraction of the card's BF16 matrix peak as
 * measured in the same run (a large cuBLASLt GEMM through jd_linear), and the pool's peak
 * memory. The PyTorch side is tools/reference/bench_gpu_reference.py, run by
 * tests/gpu/run-gpu-checks.sh on the same card.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "jd-build-config.h"
#include "jointdit-cli.h"

#ifdef JD_HAVE_CUDA
#include "jd-cuda-backend.h"
#include "jd-error.h"
#include "jd-jointdit.h"
#include "jd-ops.h"
#include "jd-sampler.h"
#include "jd-schedule.h"

typedef struct {
  const char *label;
  int         frames;
  int         latent_h, latent_w;
  int         audio_t;     /* audio latent columns: mel frames / 4 */
  double      fps;
} BenchSize;

static const BenchSize sizes[] = {
  { "(a) 25×576×1024, 4.16 s", 25, 72, 128, 104, 6.0 },
  { "(b) 12×256×256, 1.92 s", 12, 32, 32, 48, 6.0 },
};

/* The full-scale architecture (FACTS.md: SVD-XT, AudioLDM2 read with 8 heads per level) with
 * the Joint Blocks after down blocks 1–3 and the mid block. */
static char *
full_scale_config (const BenchSize *s)
{
  return g_strdup_printf (
    "{\"video_unet\": {\"in_channels\": 8, \"out_channels\": 4,"
    " \"down_block_types\": [\"CrossAttnDownBlockSpatioTemporal\", \"CrossAttnDownBlockSpatioTemporal\","
    " \"CrossAttnDownBlockSpatioTemporal\", \"DownBlockSpatioTemporal\"],"
    " \"up_block_types\": [\"UpBlockSpatioTemporal\", \"CrossAttnUpBlockSpatioTemporal\","
    " \"CrossAttnUpBlockSpatioTemporal\", \"CrossAttnUpBlockSpatioTemporal\"],"
    " \"block_out_channels\": [320, 640, 1280, 1280], \"layers_per_block\": 2,"
    " \"num_attention_heads\": [5, 10, 20, 20], \"cross_attention_dim\": 1024,"
    " \"transformer_layers_per_block\": 1, \"addition_time_embed_dim\": 256,"
    " \"projection_class_embeddings_input_dim\": 768},"
    " \"audio_unet\": {\"in_channels\": 8, \"out_channels\": 8,"
    " \"down_block_types\": [\"DownBlock2D\", \"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\","
    " \"CrossAttnDownBlock2D\"],"
    " \"up_block_types\": [\"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\","
    " \"UpBlock2D\"],"
    " \"block_out_channels\": [128, 256, 384, 640], \"layers_per_block\": 2,"
    " \"num_attention_heads\": [8, 8, 8, 8], \"cross_attention_dim\": [null, 768, 1024],"
    " \"transformer_layers_per_block\": 1, \"norm_num_groups\": 32, \"norm_eps\": 1e-5,"
    " \"text_transformers\": false, \"image_embed_dim\": 1024},"
    " \"joint\": {\"split\": {\"video\": [\"down_blocks.1\", \"down_blocks.2\", \"down_blocks.3\","
    " \"mid_block\"], \"audio\": [\"down_blocks.1\", \"down_blocks.2\", \"down_blocks.3\","
    " \"mid_block\"]}, \"d_qk\": 64, \"d_v\": 64, \"heads\": 16, \"rope_base\": 10000.0,"
    " \"rope_clock_hz\": 25.0, \"video_fps\": %g, \"audio_latent_seconds\": 0.04},"
    " \"shapes\": {\"frames\": %d, \"video_latent\": [4, %d, %d], \"audio_latent\": [8, %d, 16]}}",
    s->fps, s->frames, s->latent_h, s->latent_w, s->audio_t);
}

static JdTensor *
noise_tensor (JdBackend *backend, uint64_t seed, int ndim, const int64_t *shape, GError **error)
{
  g_autoptr (JdTensor) t = jd_tensor_new (backend, JD_DTYPE_F32, ndim, shape, error);
  if (t == NULL || !jd_normal_noise (backend, seed, 0, t, error))
    return NULL;
  return g_steal_pointer (&t);
}

static JdTensor *
filled (JdBackend *backend, int ndim, const int64_t *shape, const float *values, GError **error)
{
  g_autoptr (JdTensor) t = jd_tensor_new (backend, JD_DTYPE_F32, ndim, shape, error);
  if (t == NULL || !jd_tensor_upload_f32 (t, values, error))
    return NULL;
  return g_steal_pointer (&t);
}

static double
total_flops (JdBackend *backend)
{
  JdBackendStats stats;
  double total = 0;
  jd_backend_get_stats (backend, &stats, &total);
  return total;
}

/* The card's BF16 matrix peak as the engine reaches it: an 8192³ GEMM through jd_linear with
 * a constant (BF16-cached) weight, best of a few calls. */
static gboolean
measure_peak (JdBackend *backend, double *tflops, GError **error)
{
  const int64_t n = 8192;
  g_autoptr (JdTensor) x = noise_tensor (backend, 1, 2, (int64_t[]) { n, n }, error);
  g_autoptr (JdTensor) w = x ? noise_tensor (backend, 2, 2, (int64_t[]) { n, n }, error) : NULL;
  g_autoptr (JdTensor) y = w ? jd_tensor_new (backend, JD_DTYPE_F32, 2, (int64_t[]) { n, n },
                                              error) : NULL;
  if (y == NULL)
    return FALSE;
  jd_tensor_mark_constant (w);
  double best = INFINITY;
  for (int i = 0; i < 6; i++)
    {
      JD_TRY_FALSE (jd_backend_synchronize (backend, error));
      gint64 t0 = g_get_monotonic_time ();
      JD_TRY_FALSE (jd_linear (backend, x, w, NULL, y, error));
      JD_TRY_FALSE (jd_backend_synchronize (backend, error));
      if (i > 0)  /* the first call converts the weight and picks the algorithm */
        best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
    }
  *tflops = 2.0 * n * n * n / best / 1e12;
  return TRUE;
}

typedef struct {
  double ms, tflop, peak_gib;
} Row;

static void
print_row (const char *size, const char *what, const Row *r, double peak_tflops)
{
  const double rate = r->tflop / (r->ms / 1e3);
  printf ("%-26s %-26s %10.1f %9.2f %9.1f %7.1f%% %9.2f\n", size, what, r->ms, r->tflop, rate,
          100.0 * rate / peak_tflops, r->peak_gib);
}

static gboolean
bench_size (JdBackend *backend, const BenchSize *s, int steps, double seconds,
            double peak_tflops, GError **error)
{
  g_autofree char *text = full_scale_config (s);
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, -1, error))
    return FALSE;
  JsonObject *config = json_node_get_object (json_parser_get_root (parser));
  g_autoptr (JdWeights) weights = jd_weights_new_random (backend, 1234);
  g_autoptr (JdJointDiT) jointdit = jd_jointdit_new (weights, config, error);
  if (jointdit == NULL)
    return FALSE;

  const int64_t f = s->frames, h = s->latent_h, w = s->latent_w, t = s->audio_t;
  g_autoptr (JdTensor) video_sample = noise_tensor (backend, 3, 5,
                                                    (int64_t[]) { 2, f, 8, h, w }, error);
  g_autoptr (JdTensor) audio_sample = noise_tensor (backend, 4, 4,
                                                    (int64_t[]) { 2, 8, t, 16 }, error);
  g_autoptr (JdTensor) context = noise_tensor (backend, 5, 3, (int64_t[]) { 2, 1, 1024 }, error);
  g_autoptr (JdTensor) embeds = noise_tensor (backend, 6, 2, (int64_t[]) { 2, 1024 }, error);
  g_autoptr (JdTensor) vtime = filled (backend, 1, (int64_t[]) { 2 }, (float[]) { 0.5f, 0.5f },
                                       error);
  g_autoptr (JdTensor) atime = filled (backend, 1, (int64_t[]) { 2 }, (float[]) { 500, 500 },
                                       error);
  g_autoptr (JdTensor) ids = filled (backend, 2, (int64_t[]) { 2, 3 },
                                     (float[]) { 5, 127, 0.02f, 5, 127, 0.02f }, error);
  g_autoptr (JdTensor) vout = jd_tensor_new (backend, JD_DTYPE_F32, 5,
                                             (int64_t[]) { 2, f, 4, h, w }, error);
  g_autoptr (JdTensor) aout = vout ? jd_tensor_new (backend, JD_DTYPE_F32, 4,
                                                    (int64_t[]) { 2, 8, t, 16 }, error) : NULL;
  if (video_sample == NULL || audio_sample == NULL || context == NULL || embeds == NULL
      || vtime == NULL || atime == NULL || ids == NULL || aout == NULL)
    return FALSE;
  JdJointDiTInputs in = { video_sample, vtime, context, ids, audio_sample, atime, embeds };
  /* joint-star's pair: the positive call with full joint attention, the negative without the
   * joint attention layers and without the image for audio. */
  const JdAttentionMode modes[2] = { JD_ATTENTION_FULL, JD_ATTENTION_SKIP };
  const gboolean has_image[2] = { TRUE, FALSE };

  /* Warm-up: weights made, BF16 copies cached, algorithms chosen. */
  JD_TRY_FALSE (jd_jointdit_forward_mixed (jointdit, &in, modes, has_image, vout, aout, error));
  JD_TRY_FALSE (jd_backend_synchronize (backend, error));
  jd_cuda_backend_reset_peak (backend);
  GArray *times = g_array_new (FALSE, FALSE, sizeof (double));
  double flops0 = total_flops (backend);
  gint64 start = g_get_monotonic_time ();
  int calls = 0;
  while (calls < 2 || (calls < 50 && (g_get_monotonic_time () - start) / 1e6 < seconds))
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!jd_jointdit_forward_mixed (jointdit, &in, modes, has_image, vout, aout, error)
          || !jd_backend_synchronize (backend, error))
        {
          g_array_unref (times);
          return FALSE;
        }
      double dt = (g_get_monotonic_time () - t0) / 1e3;
      g_array_append_val (times, dt);
      calls++;
    }
  double best = INFINITY;
  for (guint i = 0; i < times->len; i++)
    best = MIN (best, g_array_index (times, double, i));
  g_array_unref (times);
  Row step = { best, (total_flops (backend) - flops0) / calls / 1e12,
               jd_cuda_backend_get_peak_bytes (backend) / 1073741824.0 };
  print_row (s->label, "guided step (batch 2)", &step, peak_tflops);
  fflush (stdout);

  /* A whole joint-star sampling. */
  g_autoptr (JdTensor) image_latent = noise_tensor (backend, 7, 3, (int64_t[]) { 4, h, w }, error);
  g_autoptr (JdTensor) image_embedding = noise_tensor (backend, 8, 1, (int64_t[]) { 1024 }, error);
  if (image_latent == NULL || image_embedding == NULL
      || !jd_jointdit_set_condition (jointdit, image_latent, image_embedding, s->fps, 127.0, 0.02,
                                     error))
    return FALSE;
  JdScheduleConfig schedule_config;
  jd_schedule_config_init_default (&schedule_config);
  g_autoptr (JdSchedule) schedule = jd_schedule_new (&schedule_config, error);
  if (schedule == NULL)
    return FALSE;
  g_autoptr (JdGuidance) guidance = jd_guidance_new ();
  jd_guidance_set_mode (guidance, JD_GUIDANCE_JOINT_STAR);
  JD_TRY_FALSE (jd_guidance_set_omega (guidance, 2.0, 2.0, error));
  JdSamplerParams params = { .steps = steps, .seed = 42, .guidance = guidance };
  int64_t vshape[4], ashape[3];
  jd_jointdit_get_latent_shapes (jointdit, vshape, ashape);
  g_autoptr (JdTensor) video = NULL, audio = NULL;
  jd_cuda_backend_reset_peak (backend);
  flops0 = total_flops (backend);
  gint64 t0 = g_get_monotonic_time ();
  JD_TRY_FALSE (jd_sample (backend, jd_jointdit_get_denoiser (jointdit), schedule, 4, vshape, 3,
                           ashape, &params, &video, &audio, error));
  JD_TRY_FALSE (jd_backend_synchronize (backend, error));
  Row sampling = { (g_get_monotonic_time () - t0) / 1e3, (total_flops (backend) - flops0) / 1e12,
                   jd_cuda_backend_get_peak_bytes (backend) / 1073741824.0 };
  g_autofree char *what = g_strdup_printf ("%d-step joint-star", steps);
  print_row (s->label, what, &sampling, peak_tflops);
  fflush (stdout);
  return TRUE;
}
#endif

int
jd_cli_bench_gpu (const char *size, int steps, double seconds)
{
#ifndef JD_HAVE_CUDA
  return jd_cli_fail (JD_EXIT_FAILURE, "bench gpu: this build has no CUDA backend; configure "
                      "with -Dcuda=enabled on a machine with the CUDA toolkit and cuDNN");
#else
  g_autofree char *reason = NULL;
  if (jd_cuda_device_count (&reason) == 0)
    return jd_cli_fail (JD_EXIT_FAILURE, "bench gpu needs a CUDA GPU: %s", reason);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBackend) backend = jd_cuda_backend_new (0, JD_CUDA_PRECISION_BF16, &error);
  if (backend == NULL)
    return jd_cli_fail (JD_EXIT_FAILURE, "bench gpu: %s", error->message);
  double peak = 0;
  if (!measure_peak (backend, &peak, &error))
    return jd_cli_fail (JD_EXIT_FAILURE, "bench gpu: measuring the BF16 peak: %s",
                        error->message);
  gsize free_bytes = 0, total_bytes = 0;
  jd_cuda_backend_get_memory (backend, &free_bytes, &total_bytes, NULL);
  printf ("jointdit bench gpu — %s, %.1f GiB; engine precision %s\n",
          jd_cuda_backend_get_device_name (backend), total_bytes / 1073741824.0,
          jd_cuda_backend_get_precision (backend) == JD_CUDA_PRECISION_BF16 ? "BF16" : "F32");
  printf ("measured BF16 matrix peak: %.1f TFLOP/s (8192³ GEMM through jd_linear)\n\n", peak);
  printf ("%-26s %-26s %10s %9s %9s %8s %9s\n", "size", "what", "ms", "TFLOP", "TFLOP/s",
          "of peak", "peak GiB");
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      if (size != NULL && g_ascii_strncasecmp (size, sizes[i].label + 1, 1) != 0)
        continue;
      if (!bench_size (backend, &sizes[i], steps, seconds, peak, &error))
        return jd_cli_fail (JD_EXIT_FAILURE, "bench gpu: size %s: %s", sizes[i].label,
                            error->message);
    }
  printf ("\nTFLOP: what the backend ran per call (linear, convolutions, attention); the guided "
          "step's ms is the best of its calls, the sampling's the whole run.\n"
          "Weights are random (no file), made on the GPU; peak GiB: the memory pool's high "
          "mark during the row.\n");
  return JD_EXIT_OK;
#endif
}

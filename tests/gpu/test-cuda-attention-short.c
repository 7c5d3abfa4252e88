/* The short-sequence attention kernel (kernels/jd-cuda-attention-short.cu: temporal attention,
 * length = frames ≤ 32, batch = pixels) against the CPU backend on random inputs, the GPU
 * output poisoned with NaN: err = ‖gpu − cpu‖ / ‖cpu‖ ≤ 1e-5 in both backend precisions. The
 * kernel is F32 throughout, so the BF16-precision backend reaching 1e-5 shows that it, not the
 * BF16 tensor-core kernel (error ~1e-3), ran. Shapes: the video UNet's (5 heads of 64 over 14
 * and 25 frames), the limits (32 frames, heads of 128), a last block of warps only partly used,
 * Lq ≠ Lk and Dqk ≠ Dv, heads of 1 and 3 dims, one query, scores of ±100 (expf overflows past
 * 88 unless the softmax subtracts its maximum), and 33 frames, which fall back to the tiled
 * kernels. JD_CUDA_SHORT_ATTENTION=0 turns the kernel off (the BF16 error shows again).
 * Skips (exit 77) without a usable GPU; nothing here has run on a GPU yet. */
#include "gpu-test-util.h"
#include "jd-ops.h"
#include "test-ops-common.h"

#define SHORT_LIMIT 1e-5     /* the F32 kernel, in either precision */
#define TILED_BF16_LIMIT 1e-2

typedef struct {
  const char *name;
  int64_t     batch, lq, lk;
  int         heads, dqk, dv;
  float       range;   /* inputs uniform in [-range, range) */
  float       scale;   /* 0: 1 / sqrt(dqk) */
  gboolean    short_kernel;
} ShortCase;

static const ShortCase cases[] = {
  { "svd-14-frames", 300, 14, 14, 5, 64, 64, 1.0f, 0.0f, TRUE },
  { "svd-25-frames", 257, 25, 25, 2, 64, 64, 1.0f, 0.0f, TRUE },
  { "32-frames-d128", 33, 32, 32, 1, 128, 128, 1.0f, 0.0f, TRUE },
  { "lq-lk-dqk-dv-differ", 37, 7, 19, 3, 40, 24, 1.0f, 0.0f, TRUE },
  { "tiny-heads", 65, 2, 2, 4, 1, 3, 1.0f, 0.0f, TRUE },
  { "one-query", 19, 1, 5, 2, 33, 97, 1.0f, 0.0f, TRUE },
  { "large-scores", 50, 25, 25, 2, 64, 64, 4.0f, 1.0f, TRUE },
  { "33-frames-tiled", 40, 33, 33, 2, 64, 64, 1.0f, 0.0f, FALSE },
};

static JdBackend *gpu_f32, *gpu_bf16;

/* err of the GPU backend's attention against the CPU's on the case's random inputs. */
static double
attention_error (JdBackend *gpu, const ShortCase *c)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  const TestShape q_shape = TEST_SHAPE (c->batch, c->lq, (int64_t) c->heads * c->dqk);
  const TestShape k_shape = TEST_SHAPE (c->batch, c->lk, (int64_t) c->heads * c->dqk);
  const TestShape v_shape = TEST_SHAPE (c->batch, c->lk, (int64_t) c->heads * c->dv);
  const TestShape out_shape = TEST_SHAPE (c->batch, c->lq, (int64_t) c->heads * c->dv);
  g_autoptr (JdTensor) q = test_random (rng, -c->range, c->range, q_shape);
  g_autoptr (JdTensor) k = test_random (rng, -c->range, c->range, k_shape);
  g_autoptr (JdTensor) v = test_random (rng, -c->range, c->range, v_shape);
  const float scale = c->scale != 0.0f ? c->scale : 1.0f / sqrtf ((float) c->dqk);

  g_autoptr (GError) error = NULL;
  g_autoptr (JdTensor) want = test_poisoned (out_shape);
  g_assert_true (jd_attention (jd_test_backend (), q, k, v, c->heads, scale, 0, NULL, NULL, want,
                               &error));
  g_assert_no_error (error);

  g_autoptr (JdTensor) gq = gpu_test_upload (gpu, q);
  g_autoptr (JdTensor) gk = gpu_test_upload (gpu, k);
  g_autoptr (JdTensor) gv = gpu_test_upload (gpu, v);
  g_autoptr (JdTensor) got = gpu_test_poisoned (gpu, out_shape.ndim, out_shape.d);
  g_assert_true (jd_attention (gpu, gq, gk, gv, c->heads, scale, 0, NULL, NULL, got, &error));
  g_assert_no_error (error);
  return gpu_test_error (got, want->data, (gsize) jd_tensor_numel (want));
}

static void
assert_within (const ShortCase *c, const char *backend, double err, double limit)
{
  g_test_message ("%s (%s): err = %.3g (limit %.3g)", c->name, backend, err, limit);
  if (!(err <= limit))
    g_error ("%s (%s): relative error %.3g exceeds %.3g", c->name, backend, err, limit);
}

static void
test_case (gconstpointer data)
{
  const ShortCase *c = data;
  assert_within (c, "F32", attention_error (gpu_f32, c), SHORT_LIMIT);
  assert_within (c, "BF16", attention_error (gpu_bf16, c),
                 c->short_kernel ? SHORT_LIMIT : TILED_BF16_LIMIT);
}

/* With JD_CUDA_SHORT_ATTENTION=0 a short sequence goes to the BF16 tensor-core kernel again:
 * still within its limit, but no longer F32-exact. */
static void
test_switch_off (void)
{
  g_setenv ("JD_CUDA_SHORT_ATTENTION", "0", TRUE);
  g_autoptr (JdBackend) tiled = gpu_test_backend (JD_CUDA_PRECISION_BF16);
  g_unsetenv ("JD_CUDA_SHORT_ATTENTION");
  jd_cuda_backend_set_precision (tiled, JD_CUDA_PRECISION_BF16);
  const ShortCase *c = &cases[0];
  const double err = attention_error (tiled, c);
  assert_within (c, "BF16, JD_CUDA_SHORT_ATTENTION=0", err, TILED_BF16_LIMIT);
  g_assert_cmpfloat (err, >, SHORT_LIMIT);
}

int
main (int argc, char **argv)
{
  gpu_test_require_device ();
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("JD_CUDA_SHORT_ATTENTION");
  gpu_test_backends (&gpu_f32, &gpu_bf16);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cuda/attention-short/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], test_case);
    }
  g_test_add_func ("/cuda/attention-short/switch-off", test_switch_off);
  int status = g_test_run ();
  jd_backend_destroy (gpu_f32);
  jd_backend_destroy (gpu_bf16);
  return status;
}

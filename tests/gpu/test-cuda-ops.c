/* Every op of the table on the CUDA backend against the CPU backend, on random inputs with the
 * GPU output poisoned with NaN: err = ‖gpu − cpu‖ / ‖cpu‖ ≤ 1e-5 in F32 precision (TF32 off),
 * ≤ 1e-2 in BF16 precision. Shapes include the models' (320-wide GEMMs, 3×3 convs, head dims
 * 32/48/64/80/128 and 512, temporal attention with thousands of short sequences) and edge
 * cases (size-1 and odd dims, views that do not start on an aligned address). Skips (exit 77)
 * without a usable GPU. */
#include <string.h>

#include "gpu-test-util.h"
#include "test-ops-common.h"

#define F32_LIMIT 1e-5
#define BF16_LIMIT 1e-2

typedef gboolean (*OpCall) (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg,
                            GError **error);

typedef struct {
  const char *name;
  int         n_in;
  TestShape   in[6];
  gboolean    weight[6];    /* constant on the GPU: exercises the BF16 weight cache */
  float       lo[6], hi[6]; /* value range; both 0: [-1, 1) */
  TestShape   out;
  OpCall      call;
  gconstpointer arg;
} OpCase;

static JdBackend *gpu_f32, *gpu_bf16;

static void
run_case (gconstpointer data)
{
  const OpCase *c = data;
  for (int pass = 0; pass < 2; pass++)
    {
      JdBackend *gpu = pass == 0 ? gpu_f32 : gpu_bf16;
      const double limit = pass == 0 ? F32_LIMIT : BF16_LIMIT;
      g_autoptr (GRand) rng = jd_test_rng ();
      JdTensor *cpu_in[6] = { NULL }, *gpu_in[6] = { NULL };
      for (int i = 0; i < c->n_in; i++)
        {
          float lo = c->lo[i], hi = c->hi[i];
          if (lo == 0.0f && hi == 0.0f)
            lo = -1.0f, hi = 1.0f;
          cpu_in[i] = test_random (rng, lo, hi, c->in[i]);
          gpu_in[i] = gpu_test_upload (gpu, cpu_in[i]);
          if (c->weight[i])
            jd_tensor_mark_constant (gpu_in[i]);
        }
      g_autoptr (JdTensor) cpu_out = test_poisoned (c->out);
      g_autoptr (GError) error = NULL;
      g_assert_true (c->call (jd_test_backend (), cpu_in, cpu_out, c->arg, &error));
      g_assert_no_error (error);
      const gsize n = (gsize) jd_tensor_numel (cpu_out);
      /* Twice: the second run finds the weights' BF16 copies cached. */
      for (int run = 0; run < 2; run++)
        {
          g_autoptr (JdTensor) gpu_out = gpu_test_poisoned (gpu, c->out.ndim, c->out.d);
          g_assert_true (c->call (gpu, gpu_in, gpu_out, c->arg, &error));
          g_assert_no_error (error);
          const double err = gpu_test_error (gpu_out, cpu_out->data, n);
          g_test_message ("%s (%s, run %d): err = %.3g", c->name, pass == 0 ? "F32" : "BF16",
                          run, err);
          if (!(err <= limit))
            g_error ("%s (%s): relative error %.3g exceeds %.3g", c->name,
                     pass == 0 ? "F32" : "BF16", err, limit);
        }
      for (int i = 0; i < c->n_in; i++)
        {
          jd_tensor_free (cpu_in[i]);
          jd_tensor_free (gpu_in[i]);
        }
    }
}

/* --- calls --- */

static gboolean
call_linear (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_linear (be, in[0], in[1], GPOINTER_TO_INT (arg) ? in[2] : NULL, out, e);
}

/* The same linear on rows 1.. of x: a view that starts 4·K bytes into the buffer. */
static gboolean
call_linear_view (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg,
                  GError **e)
{
  const JdTensor *x = in[0];
  g_autoptr (JdTensor) rows = jd_tensor_new_view (be, JD_DTYPE_F32, 2,
                                                  (int64_t[]) { x->shape[0] - 1, x->shape[1] },
                                                  (float *) x->data + x->shape[1]);
  return jd_linear (be, rows, in[1], in[2], out, e);
}

typedef struct { int stride, padding; gboolean bias; } Conv2dArg;

static gboolean
call_conv2d (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  const Conv2dArg *a = arg;
  return jd_conv2d (be, in[0], in[1], a->bias ? in[2] : NULL, a->stride, a->padding, out, e);
}

static gboolean
call_conv_temporal (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg,
                    GError **e)
{
  return jd_conv_temporal (be, in[0], in[1], in[2], out, e);
}

typedef struct { int stride, padding, dilation, output_padding; } Conv1dArg;

static gboolean
call_conv1d (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  const Conv1dArg *a = arg;
  return jd_conv1d (be, in[0], in[1], in[2], a->stride, a->padding, a->dilation, out, e);
}

static gboolean
call_conv_transpose1d (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg,
                       GError **e)
{
  const Conv1dArg *a = arg;
  return jd_conv_transpose1d (be, in[0], in[1], in[2], a->stride, a->padding,
                              a->output_padding, out, e);
}

typedef struct { int groups; gboolean silu, affine; } GroupNormArg;

static gboolean
call_group_norm (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  const GroupNormArg *a = arg;
  return jd_group_norm (be, in[0], a->affine ? in[1] : NULL, a->affine ? in[2] : NULL,
                        a->groups, 1e-5f, a->silu ? JD_UNARY_SILU : JD_UNARY_IDENTITY, out, e);
}

static gboolean
call_layer_norm (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_layer_norm (be, in[0], arg ? in[1] : NULL, arg ? in[2] : NULL, 1e-6f, out, e);
}

static gboolean
call_unary (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_unary (be, (JdUnaryKind) GPOINTER_TO_INT (arg), 0.2f, -0.5f, in[0], out, e);
}

static gboolean
call_axpby (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_axpby (be, 0.75f, in[0], -1.25f, in[1], out, e);
}

static gboolean
call_mul (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_mul (be, in[0], in[1], out, e);
}

static gboolean
call_broadcast (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_broadcast (be, in[0], out, e);
}

static gboolean
call_upsample (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_upsample_nearest (be, in[0], out, e);
}

static gboolean
call_concat (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  const JdTensor *src[3] = { in[0], in[1], in[2] };
  return jd_concat (be, 3, src, GPOINTER_TO_INT (arg), out, e);
}

static gboolean
call_slice (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_slice (be, in[0], 1, 3, out, e);
}

static gboolean
call_permute (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_permute (be, in[0], arg, out, e);
}

static gboolean
call_rope (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  static const int dims[3] = { 8, 4, 6 };
  return jd_rope (be, in[0], in[1], 4, 3, dims, 10000.0f, out, e);
}

/* In place: dst is x (a copy of it, so the inputs stay as the other backend saw them). */
static gboolean
call_rope_in_place (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg,
                    GError **e)
{
  static const int dims[1] = { 16 };
  JD_TRY_FALSE (jd_unary (be, JD_UNARY_IDENTITY, 0, 0, in[0], out, e));
  return jd_rope (be, out, in[1], 2, 1, dims, 10000.0f, out, e);
}

static gboolean
call_timestep (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  return jd_timestep_embedding (be, in[0], (int) out->shape[1], GPOINTER_TO_INT (arg), 1.0f,
                                1.0f, 10000.0f, out, e);
}

typedef struct {
  int     heads;
  int     n_segments;
  int64_t q_segments[3], k_segments[3];
} AttentionArg;

static gboolean
call_attention (JdBackend *be, JdTensor *const *in, JdTensor *out, gconstpointer arg, GError **e)
{
  const AttentionArg *a = arg;
  const int64_t dqk = in[0]->shape[2] / a->heads;
  return jd_attention (be, in[0], in[1], in[2], a->heads, 1.0f / sqrtf ((float) dqk),
                       a->n_segments, a->q_segments, a->k_segments, out, e);
}

/* --- cases --- */

#define S TEST_SHAPE

static const Conv2dArg conv_same = { 1, 1, TRUE }, conv_down = { 2, 1, TRUE },
                       conv_1x1 = { 1, 0, FALSE };
static const Conv1dArg conv1d_dilated = { 1, 9, 3, 0 }, conv1d_strided = { 2, 1, 1, 0 },
                       conv_t = { 8, 4, 1, 0 }, conv_t_odd = { 3, 1, 1, 2 };
static const GroupNormArg gn_silu = { 32, TRUE, TRUE }, gn_plain = { 4, FALSE, TRUE },
                          gn_bare = { 1, FALSE, FALSE };
static const int perm_0213[4] = { 0, 2, 1, 3 }, perm_3120[4] = { 3, 1, 2, 0 };
static const AttentionArg att_4 = { 4, 0, { 0 }, { 0 } };
static const AttentionArg att_1 = { 1, 0, { 0 }, { 0 } };
static const AttentionArg att_2 = { 2, 0, { 0 }, { 0 } };
static const AttentionArg att_blocks = { 2, 3, { 40, 0, 37 }, { 30, 5, 20 } };

static const OpCase cases[] = {
  { "linear/bias", 3, { S (2, 77, 320), S (640, 320), S (640) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (2, 77, 640), call_linear, GINT_TO_POINTER (1) },
  { "linear/odd", 2, { S (3, 5, 17), S (9, 17) }, { 0, 1 }, { 0 }, { 0 }, S (3, 5, 9),
    call_linear, GINT_TO_POINTER (0) },
  { "linear/one-row", 3, { S (1, 1280), S (1280, 1280), S (1280) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (1, 1280), call_linear, GINT_TO_POINTER (1) },
  { "linear/unaligned-view", 3, { S (9, 33), S (21, 33), S (21) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (8, 21), call_linear_view, NULL },
  { "conv2d/3x3", 3, { S (2, 32, 16, 24), S (64, 32, 3, 3), S (64) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (2, 64, 16, 24), call_conv2d, &conv_same },
  { "conv2d/down", 3, { S (1, 16, 9, 13), S (16, 16, 3, 3), S (16) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (1, 16, 5, 7), call_conv2d, &conv_down },
  { "conv2d/1x1", 2, { S (3, 40, 5, 6), S (24, 40, 1, 1) }, { 0, 1 }, { 0 }, { 0 },
    S (3, 24, 5, 6), call_conv2d, &conv_1x1 },
  { "conv-temporal", 3, { S (1, 32, 7, 6, 5), S (24, 32, 3, 1, 1), S (24) }, { 0, 1, 1 }, { 0 },
    { 0 }, S (1, 24, 7, 6, 5), call_conv_temporal, NULL },
  { "conv1d/dilated", 3, { S (2, 16, 50), S (24, 16, 7), S (24) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (2, 24, 50), call_conv1d, &conv1d_dilated },
  { "conv1d/strided", 3, { S (1, 8, 31), S (8, 8, 4), S (8) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (1, 8, 15), call_conv1d, &conv1d_strided },
  { "conv-transpose1d", 3, { S (1, 32, 20), S (32, 16, 16), S (16) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (1, 16, 160), call_conv_transpose1d, &conv_t },
  { "conv-transpose1d/odd", 3, { S (2, 6, 11), S (6, 5, 4), S (5) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (2, 5, 34), call_conv_transpose1d, &conv_t_odd },
  { "group-norm/silu", 3, { S (2, 64, 5, 7), S (64), S (64) }, { 0, 1, 1 }, { 0 }, { 0 },
    S (2, 64, 5, 7), call_group_norm, &gn_silu },
  { "group-norm/5d", 3, { S (1, 8, 3, 4, 5), S (8), S (8) }, { 0 }, { 0 }, { 0 },
    S (1, 8, 3, 4, 5), call_group_norm, &gn_plain },
  { "group-norm/one-group", 1, { S (3, 5, 1) }, { 0 }, { 2.0f }, { 3.0f }, S (3, 5, 1),
    call_group_norm, &gn_bare },
  { "layer-norm", 3, { S (3, 77, 320), S (320), S (320) }, { 0 }, { 0 }, { 0 }, S (3, 77, 320),
    call_layer_norm, GINT_TO_POINTER (1) },
  { "layer-norm/odd", 1, { S (5, 1, 7) }, { 0 }, { 0 }, { 0 }, S (5, 1, 7), call_layer_norm,
    NULL },
  { "unary/silu", 1, { S (3, 257) }, { 0 }, { -8.0f }, { 8.0f }, S (3, 257), call_unary,
    GINT_TO_POINTER (JD_UNARY_SILU) },
  { "unary/gelu", 1, { S (1000) }, { 0 }, { -6.0f }, { 6.0f }, S (1000), call_unary,
    GINT_TO_POINTER (JD_UNARY_GELU) },
  { "unary/gelu-tanh", 1, { S (1000) }, { 0 }, { -6.0f }, { 6.0f }, S (1000), call_unary,
    GINT_TO_POINTER (JD_UNARY_GELU_TANH) },
  { "unary/leaky-relu", 1, { S (999) }, { 0 }, { 0 }, { 0 }, S (999), call_unary,
    GINT_TO_POINTER (JD_UNARY_LEAKY_RELU) },
  { "unary/tanh", 1, { S (999) }, { 0 }, { -4.0f }, { 4.0f }, S (999), call_unary,
    GINT_TO_POINTER (JD_UNARY_TANH) },
  { "unary/sigmoid", 1, { S (999) }, { 0 }, { -20.0f }, { 20.0f }, S (999), call_unary,
    GINT_TO_POINTER (JD_UNARY_SIGMOID) },
  { "unary/affine", 1, { S (7, 3) }, { 0 }, { 0 }, { 0 }, S (7, 3), call_unary,
    GINT_TO_POINTER (JD_UNARY_AFFINE) },
  { "axpby/same", 2, { S (4, 33), S (4, 33) }, { 0 }, { 0 }, { 0 }, S (4, 33), call_axpby, NULL },
  { "axpby/broadcast", 2, { S (2, 3, 5, 7), S (3, 1, 7) }, { 0 }, { 0 }, { 0 }, S (2, 3, 5, 7),
    call_axpby, NULL },
  { "mul/scalar", 2, { S (5, 6), S (1) }, { 0 }, { 0 }, { 0 }, S (5, 6), call_mul, NULL },
  { "mul/rows", 2, { S (2, 1, 320), S (2, 77, 320) }, { 0 }, { 0 }, { 0 }, S (2, 77, 320),
    call_mul, NULL },
  { "broadcast", 1, { S (1, 5, 1) }, { 0 }, { 0 }, { 0 }, S (4, 5, 6), call_broadcast, NULL },
  { "upsample/2x", 1, { S (2, 3, 5, 7) }, { 0 }, { 0 }, { 0 }, S (2, 3, 10, 14), call_upsample,
    NULL },
  { "upsample/odd", 1, { S (1, 2, 5, 9) }, { 0 }, { 0 }, { 0 }, S (1, 2, 9, 5), call_upsample,
    NULL },
  { "concat/axis1", 3, { S (2, 3, 4), S (2, 1, 4), S (2, 5, 4) }, { 0 }, { 0 }, { 0 },
    S (2, 9, 4), call_concat, GINT_TO_POINTER (1) },
  { "concat/last", 3, { S (3, 2), S (3, 5), S (3, 1) }, { 0 }, { 0 }, { 0 }, S (3, 8),
    call_concat, GINT_TO_POINTER (1) },
  { "slice", 1, { S (2, 9, 5) }, { 0 }, { 0 }, { 0 }, S (2, 4, 5), call_slice, NULL },
  { "permute/0213", 1, { S (2, 3, 5, 7) }, { 0 }, { 0 }, { 0 }, S (2, 5, 3, 7), call_permute,
    perm_0213 },
  { "permute/3120", 1, { S (2, 3, 5, 7) }, { 0 }, { 0 }, { 0 }, S (7, 3, 5, 2), call_permute,
    perm_3120 },
  { "rope/3-axes", 2, { S (2, 33, 4 * 24), S (33, 3) }, { 0 }, { 0, 0.0f }, { 0, 40.0f },
    S (2, 33, 4 * 24), call_rope, NULL },
  { "rope/in-place", 2, { S (1, 17, 2 * 16), S (17, 1) }, { 0 }, { 0, 0.0f }, { 0, 1000.0f },
    S (1, 17, 2 * 16), call_rope_in_place, NULL },
  { "timestep", 1, { S (5) }, { 0 }, { 0.0f }, { 999.0f }, S (5, 320), call_timestep,
    GINT_TO_POINTER (1) },
  { "timestep/odd", 1, { S (3) }, { 0 }, { 0.0f }, { 999.0f }, S (3, 7), call_timestep,
    GINT_TO_POINTER (0) },
  { "attention/d64", 3, { S (2, 77, 4 * 64), S (2, 50, 4 * 64), S (2, 50, 4 * 64) }, { 0 },
    { 0 }, { 0 }, S (2, 77, 4 * 64), call_attention, &att_4 },
  { "attention/d32", 3, { S (1, 130, 4 * 32), S (1, 130, 4 * 32), S (1, 130, 4 * 32) }, { 0 },
    { 0 }, { 0 }, S (1, 130, 4 * 32), call_attention, &att_4 },
  { "attention/d48", 3, { S (1, 65, 2 * 48), S (1, 97, 2 * 48), S (1, 97, 2 * 48) }, { 0 },
    { 0 }, { 0 }, S (1, 65, 2 * 48), call_attention, &att_2 },
  { "attention/d80", 3, { S (1, 64, 2 * 80), S (1, 33, 2 * 80), S (1, 33, 2 * 80) }, { 0 },
    { 0 }, { 0 }, S (1, 64, 2 * 80), call_attention, &att_2 },
  { "attention/d128", 3, { S (2, 100, 128), S (2, 300, 128), S (2, 300, 128) }, { 0 }, { 0 },
    { 0 }, S (2, 100, 128), call_attention, &att_1 },
  { "attention/d512", 3, { S (1, 96, 512), S (1, 96, 512), S (1, 96, 512) }, { 0 }, { 0 },
    { 0 }, S (1, 96, 512), call_attention, &att_1 },
  { "attention/dv-differs", 3, { S (1, 20, 2 * 24), S (1, 31, 2 * 24), S (1, 31, 2 * 40) },
    { 0 }, { 0 }, { 0 }, S (1, 20, 2 * 40), call_attention, &att_2 },
  { "attention/one-key", 3, { S (2, 9, 4 * 16), S (2, 1, 4 * 16), S (2, 1, 4 * 16) }, { 0 },
    { 0 }, { 0 }, S (2, 9, 4 * 16), call_attention, &att_4 },
  { "attention/temporal", 3, { S (3000, 14, 2 * 40), S (3000, 14, 2 * 40),
    S (3000, 14, 2 * 40) }, { 0 }, { 0 }, { 0 }, S (3000, 14, 2 * 40), call_attention, &att_2 },
  { "attention/block-diagonal", 3, { S (2, 77, 2 * 64), S (2, 55, 2 * 64), S (2, 55, 2 * 64) },
    { 0 }, { 0 }, { 0 }, S (2, 77, 2 * 64), call_attention, &att_blocks },
};

/* Unsupported requests fail with a message naming the op, never silently. */
static void
test_unsupported (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdTensor) q = jd_tensor_new_f32 (gpu_f32, &error, 3, (int64_t) 1, (int64_t) 2,
                                              (int64_t) 2048);
  g_autoptr (JdTensor) out = jd_tensor_new_f32 (gpu_f32, &error, 3, (int64_t) 1, (int64_t) 2,
                                                (int64_t) 2048);
  g_assert_no_error (error);
  g_assert_false (jd_attention (gpu_f32, q, q, q, 1, 1.0f, 0, NULL, NULL, out, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "attention"));
}

int
main (int argc, char **argv)
{
  gpu_test_require_device ();
  g_test_init (&argc, &argv, NULL);
  gpu_test_backends (&gpu_f32, &gpu_bf16);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cuda/op/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], run_case);
    }
  g_test_add_func ("/cuda/unsupported", test_unsupported);
  int status = g_test_run ();
  jd_backend_destroy (gpu_f32);
  jd_backend_destroy (gpu_bf16);
  return status;
}

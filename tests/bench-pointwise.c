/* bench-pointwise — times the CPU kernels of the norms, elementwise, layout and position ops on
 * shapes the models use, and prints a table: best-of-N milliseconds and the memory traffic
 * rate (bytes read + written once per element / time), to set against the machine's
 * bandwidth. Usage: bench-pointwise [threads]. */
#include <math.h>
#include <stdio.h>

#include "jd-cpu-activation.h"
#include "jd-ops.h"
#include "test-util.h"

typedef gboolean (*BenchFunc) (gpointer data, GError **error);

static double
best_ms (BenchFunc fn, gpointer data, int reps)
{
  double best = INFINITY;
  for (int r = 0; r < reps + 1; r++)
    {
      g_autoptr (GError) error = NULL;
      gint64 t0 = g_get_monotonic_time ();
      if (!fn (data, &error))
        g_error ("benchmark failed: %s", error->message);
      double ms = (g_get_monotonic_time () - t0) / 1000.0;
      if (r > 0) /* the first run warms caches and threads */
        best = MIN (best, ms);
    }
  return best;
}

static void
row (const char *op, const char *shape, double ms, double bytes)
{
  printf ("| %-28s | %-22s | %9.3f | %7.2f |\n", op, shape, ms, bytes / (ms * 1e-3) / 1e9);
}

typedef struct {
  JdBackend *be;
  JdTensor  *a, *b, *c, *dst, *gamma, *beta, *pos;
  JdUnaryKind kind;
  int        perm[5];
  int        dims[3];
} Bench;

static gboolean
run_unary (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_unary (b->be, b->kind, 0.1f, 0, b->a, b->dst, e);
}

static gboolean
run_group_norm (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_group_norm (b->be, b->a, b->gamma, b->beta, 32, 1e-5f, JD_UNARY_SILU, b->dst, e);
}

static gboolean
run_layer_norm (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_layer_norm (b->be, b->a, b->gamma, b->beta, 1e-6f, b->dst, e);
}

static gboolean
run_add (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_add (b->be, b->a, b->b, b->dst, e);
}

static gboolean
run_mul (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_mul (b->be, b->a, b->b, b->dst, e);
}

static gboolean
run_upsample (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_upsample_nearest (b->be, b->a, b->dst, e);
}

static gboolean
run_permute (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_permute (b->be, b->a, b->perm, b->dst, e);
}

static gboolean
run_rope (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_rope (b->be, b->a, b->pos, 16, 3, b->dims, 10000.0f, b->dst, e);
}

static gboolean
run_scalar_unary (gpointer p, GError **e)
{
  Bench *b = p;
  jd_cpu_unary_row_scalar (b->kind, 0.1f, 0, b->a->data, b->dst->data, jd_tensor_numel (b->a));
  return TRUE;
}

static gboolean
run_concat (gpointer p, GError **e)
{
  Bench *b = p;
  const JdTensor *src[2] = { b->a, b->b };
  return jd_concat (b->be, 2, src, 1, b->dst, e);
}

static JdTensor *
tensor (GRand *rng, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
  const int64_t shape[4] = { d0, d1, d2, d3 };
  return jd_test_tensor_random (rng, -2.0f, 2.0f, ndim, shape);
}

int
main (int argc, char **argv)
{
  if (argc > 1)
    g_setenv ("JD_TEST_THREADS", argv[1], TRUE);
  g_autoptr (GRand) rng = g_rand_new_with_seed (1);
  JdBackend *be = jd_test_backend ();
  printf ("threads: %d, AVX2: %s\n\n",
          jd_thread_pool_get_n_threads (jd_cpu_backend_get_thread_pool (be)),
          jd_cpu_have_avx2 () ? "yes" : "no");
  printf ("| %-28s | %-22s | %9s | %7s |\n", "op", "shape", "ms", "GB/s");
  printf ("|------------------------------|------------------------|-----------|---------|\n");
  const int reps = 10;
  const double f = sizeof (float);

  /* Unary over 2·320·64·64 = 2.6M elements. */
  {
    Bench b = { .be = be, .a = tensor (rng, 4, 2, 320, 64, 64),
                .dst = tensor (rng, 4, 2, 320, 64, 64) };
    const double n = (double) jd_tensor_numel (b.a);
    const struct { JdUnaryKind kind; const char *name; } kinds[] = {
      { JD_UNARY_SILU, "silu" }, { JD_UNARY_GELU_TANH, "gelu tanh" },
      { JD_UNARY_GELU, "gelu exact" }, { JD_UNARY_SIGMOID, "sigmoid" }, { JD_UNARY_TANH, "tanh" },
      { JD_UNARY_AFFINE, "affine" },
    };
    for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
      {
        b.kind = kinds[k].kind;
        row (kinds[k].name, "2x320x64x64", best_ms (run_unary, &b, reps), 2 * n * f);
      }
    b.kind = JD_UNARY_SILU;
    row ("silu scalar path, 1 thread", "2x320x64x64", best_ms (run_scalar_unary, &b, reps),
         2 * n * f);

    b.gamma = tensor (rng, 1, 320, 0, 0, 0);
    b.beta = tensor (rng, 1, 320, 0, 0, 0);
    row ("group norm 32 + silu", "2x320x64x64", best_ms (run_group_norm, &b, reps),
         2 * n * f);
    jd_tensor_free (b.gamma);
    jd_tensor_free (b.beta);

    b.b = tensor (rng, 4, 2, 320, 64, 64);
    row ("add same shape", "2x320x64x64", best_ms (run_add, &b, reps), 3 * n * f);
    jd_tensor_free (b.b);
    b.b = tensor (rng, 3, 320, 1, 1, 0);
    row ("mul per channel", "2x320x64x64 * 320x1x1", best_ms (run_mul, &b, reps), 2 * n * f);
    jd_tensor_free (b.b);
    b.b = tensor (rng, 4, 2, 320, 64, 64);
    jd_tensor_free (b.dst);
    b.dst = tensor (rng, 4, 2, 640, 64, 64);
    row ("concat axis 1", "2x(320+320)x64x64", best_ms (run_concat, &b, reps), 4 * n * f);
    jd_tensor_free (b.dst);
    jd_tensor_free (b.b);
    b.dst = tensor (rng, 4, 2, 64, 64, 320);
    memcpy (b.perm, (int[]) { 0, 2, 3, 1 }, 4 * sizeof (int));
    row ("permute NCHW->NHWC", "2x320x64x64", best_ms (run_permute, &b, reps), 2 * n * f);
    jd_tensor_free (b.dst);
    b.dst = tensor (rng, 4, 2, 320, 128, 128);
    row ("upsample nearest x2", "2x320x64x64", best_ms (run_upsample, &b, reps), 5 * n * f);
    jd_tensor_free (b.dst);
    b.dst = tensor (rng, 4, 2, 320, 127, 127);
    row ("upsample nearest 64->127", "2x320x64x64", best_ms (run_upsample, &b, reps),
         n * f + (double) jd_tensor_numel (b.dst) * f);
    jd_tensor_free (b.dst);
    jd_tensor_free (b.a);
  }
  /* Token-shaped tensors: 2 x 4096 tokens x 1024. */
  {
    Bench b = { .be = be, .a = tensor (rng, 3, 2, 4096, 1024, 0),
                .dst = tensor (rng, 3, 2, 4096, 1024, 0),
                .gamma = tensor (rng, 1, 1024, 0, 0, 0), .beta = tensor (rng, 1, 1024, 0, 0, 0) };
    const double n = (double) jd_tensor_numel (b.a);
    row ("layer norm", "2x4096x1024", best_ms (run_layer_norm, &b, reps), 2 * n * f);
    b.pos = tensor (rng, 2, 4096, 3, 0, 0);
    memcpy (b.dims, (int[]) { 16, 24, 24 }, 3 * sizeof (int));
    row ("rope 3 axes, 16 heads x 64", "2x4096x1024", best_ms (run_rope, &b, reps),
         2 * n * f);
    jd_tensor_free (b.dst);
    b.dst = tensor (rng, 3, 2, 1024, 4096, 0);
    memcpy (b.perm, (int[]) { 0, 2, 1 }, 3 * sizeof (int));
    row ("permute last two", "2x4096x1024", best_ms (run_permute, &b, reps), 2 * n * f);
    jd_tensor_free (b.a);
    jd_tensor_free (b.dst);
    jd_tensor_free (b.gamma);
    jd_tensor_free (b.beta);
    jd_tensor_free (b.pos);
  }
  return 0;
}

/* Unary functions, add/mul with broadcasting, and broadcast against float64 references. */
#include <math.h>

#include "jd-cpu-activation.h"
#include "test-ops-common.h"

static double
unary_reference (JdUnaryKind kind, double alpha, double beta, double x)
{
  switch (kind)
    {
    case JD_UNARY_IDENTITY: return x;
    case JD_UNARY_SILU: return x / (1.0 + exp (-x));
    /* 0.5·x·(1 + erf(x/√2)) and 0.5·x·(1 + tanh u) = x·σ(2u), written so that even double
     * does not cancel for very negative x. */
    case JD_UNARY_GELU: return 0.5 * x * erfc (-x / sqrt (2.0));
    case JD_UNARY_GELU_TANH:
      return x / (1.0 + exp (-2.0 * sqrt (2.0 / G_PI) * (x + 0.044715 * x * x * x)));
    case JD_UNARY_LEAKY_RELU: return x >= 0 ? x : alpha * x;
    case JD_UNARY_TANH: return tanh (x);
    case JD_UNARY_SIGMOID: return 1.0 / (1.0 + exp (-x));
    case JD_UNARY_AFFINE: return alpha * x + beta;
    default: g_assert_not_reached ();
    }
}

static const TestShape unary_shapes[] = {
  { 1, { 1 } }, { 1, { 7 } }, { 1, { 8 } }, { 1, { 9 } }, { 3, { 3, 5, 17 } },
  { 4, { 2, 1, 3, 33 } }, { 2, { 129, 31 } }, { 1, { 70001 } },
};

static void
test_unary_functions (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  for (int kind = 0; kind < JD_UNARY_COUNT; kind++)
    for (gsize s = 0; s < G_N_ELEMENTS (unary_shapes); s++)
      {
        const float alpha = kind == JD_UNARY_LEAKY_RELU ? 0.2f : -1.75f, beta = 0.625f;
        g_autoptr (JdTensor) x = test_random (rng, -8.0f, 8.0f, unary_shapes[s]);
        g_autoptr (JdTensor) y = test_poisoned (unary_shapes[s]);
        g_autoptr (GError) error = NULL;
        g_assert_true (jd_unary (be, kind, alpha, beta, x, y, &error));
        g_assert_no_error (error);
        int64_t n = jd_tensor_numel (x);
        g_autofree double *ref = test_doubles (n);
        const float *xs = x->data;
        for (int64_t i = 0; i < n; i++)
          ref[i] = unary_reference (kind, alpha, beta, xs[i]);
        /* Far tighter than the project's 1e-4; a one-element tensor makes this a per-element
         * bound, and the tanh GELU's float argument alone costs ~1e-6 at x = -8. */
        jd_test_assert_close (y->data, ref, n, 1e-5);
      }
}

static void
test_unary_in_place (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  for (int kind = 0; kind < JD_UNARY_COUNT; kind++)
    {
      g_autoptr (JdTensor) x = test_random (rng, -6.0f, 6.0f, TEST_SHAPE (5, 37));
      g_autofree double *ref = test_doubles (5 * 37);
      const float *xs = x->data;
      for (int i = 0; i < 5 * 37; i++)
        ref[i] = unary_reference (kind, 0.1, 2.0, xs[i]);
      g_autoptr (GError) error = NULL;
      g_assert_true (jd_unary (be, kind, 0.1f, 2.0f, x, x, &error));
      g_assert_no_error (error);
      jd_test_assert_close (x->data, ref, 5 * 37, 1e-6);
    }
}

/* Element by element over a wide range, both the dispatching row function (AVX2 where the CPU
 * has it) and the scalar one: relative error ≤ 2e-6, or an absolute error too small to matter
 * where the true value is below float's normal range. */
static void
check_row_accuracy (JdUnaryKind kind, const float *x, gsize n)
{
  g_autofree float *fast = g_new (float, n);
  g_autofree float *scalar = g_new (float, n);
  jd_cpu_unary_row (kind, 0.01f, 0.0f, x, fast, (int64_t) n);
  jd_cpu_unary_row_scalar (kind, 0.01f, 0.0f, x, scalar, (int64_t) n);
  for (gsize i = 0; i < n; i++)
    {
      double ref = unary_reference (kind, 0.01, 0.0, x[i]);
      /* The argument of the tanh GELU is itself rounded in float: u ≈ 0.07·x³ carries ~6e-8
       * relative error, which exp turns into 6e-8·|2u| relative error of the result. */
      double arg_error = kind == JD_UNARY_GELU_TANH
                         ? 1.2e-7 * fabs (1.6 * (x[i] + 0.044715 * x[i] * x[i] * x[i])) : 0.0;
      double limit = (2e-6 + arg_error) * fabs (ref) + 1e-35;
      if (!(fabs (fast[i] - ref) <= limit) || !(fabs (scalar[i] - ref) <= limit))
        g_error ("unary kind %d at x = %.9g: fast %.9g, scalar %.9g, reference %.9g", kind,
                 (double) x[i], (double) fast[i], (double) scalar[i], ref);
    }
}

static void
test_unary_accuracy (void)
{
  g_test_message ("AVX2 path %s", jd_cpu_have_avx2 () ? "in use" : "not available");
  /* The special values come first so they fall in the vector body of the row, not only in the
   * scalar tail (the scalar function sees every value anyway). */
  const float special[] = {
    0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, -1e-6f, 0.5f, -0.5f, 80.0f, -80.0f, 87.0f, -87.0f,
    87.3f, -87.3f, 88.0f, -88.0f, 88.8f, -88.8f, 89.0f, -89.0f, 100.0f, -100.0f, 104.0f,
    -104.0f, 1000.0f, -1000.0f, 14.0f, -14.0f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX,
  };
  const gsize n_special = G_N_ELEMENTS (special);
  /* Then a wide grid, and a dense one over [-2, 2] where the polynomial pieces join. */
  const gsize n_wide = 40001, n_dense = 8001, n = n_special + n_wide + n_dense;
  g_autofree float *values = g_new (float, n);
  memcpy (values, special, sizeof special);
  for (gsize i = 0; i < n_wide; i++)
    values[n_special + i] = (float) (-120.0 + 240.0 * (double) i / (double) (n_wide - 1));
  for (gsize i = 0; i < n_dense; i++)
    values[n_special + n_wide + i] = (float) (-2.0 + 4.0 * (double) i / (double) (n_dense - 1));
  const JdUnaryKind kinds[] = { JD_UNARY_SILU, JD_UNARY_SIGMOID, JD_UNARY_GELU,
                                JD_UNARY_GELU_TANH, JD_UNARY_TANH };
  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      /* The tanh GELU cubes x, which overflows beyond ±1e12; gelu-tanh-limits covers those. */
      if (kinds[k] == JD_UNARY_GELU_TANH)
        check_row_accuracy (kinds[k], values + n_special, n - n_special);
      else
        check_row_accuracy (kinds[k], values, n);
    }
}

static void
test_unary_gelu_tanh_limits (void)
{
  /* Beyond where x³ overflows, the tanh GELU must still give x for large x and -0 for very
   * negative x, never NaN. */
  const float x[9] = { 1e30f, -1e30f, FLT_MAX, -FLT_MAX, 1e13f, -1e13f, 3.0f, -3.0f, 1.0f };
  float y[9];
  jd_cpu_unary_row (JD_UNARY_GELU_TANH, 0, 0, x, y, 9);
  for (int i = 0; i < 9; i++)
    {
      g_assert_true (isfinite (y[i]));
      if (x[i] > 1e6f)
        g_assert_cmpfloat (y[i], ==, x[i]);
      if (x[i] < -1e6f)
        g_assert_cmpfloat (y[i], ==, 0.0f);
    }
}

/* --- binary --- */

typedef struct {
  TestShape a, b, dst;
} BinaryCase;

static const BinaryCase binary_cases[] = {
  { { 1, { 1 } }, { 1, { 1 } }, { 1, { 1 } } },
  { { 3, { 3, 5, 17 } }, { 3, { 3, 5, 17 } }, { 3, { 3, 5, 17 } } },          /* same shape */
  { { 1, { 70001 } }, { 1, { 70001 } }, { 1, { 70001 } } },                   /* threads */
  { { 3, { 2, 7, 9 } }, { 1, { 1 } }, { 3, { 2, 7, 9 } } },                   /* b scalar */
  { { 1, { 1 } }, { 3, { 2, 7, 9 } }, { 3, { 2, 7, 9 } } },                   /* a scalar */
  { { 4, { 2, 5, 3, 7 } }, { 3, { 5, 1, 1 } }, { 4, { 2, 5, 3, 7 } } },       /* per channel */
  { { 4, { 2, 5, 3, 7 } }, { 4, { 2, 5, 1, 1 } }, { 4, { 2, 5, 3, 7 } } },    /* per (n, c) */
  { { 3, { 4, 1, 9 } }, { 2, { 6, 1 } }, { 3, { 4, 6, 9 } } },                /* both broadcast */
  { { 3, { 3, 1, 5 } }, { 3, { 1, 4, 1 } }, { 3, { 3, 4, 5 } } },
  { { 2, { 5, 33 } }, { 4, { 2, 3, 5, 33 } }, { 4, { 2, 3, 5, 33 } } },       /* rank differs */
  { { 5, { 2, 1, 3, 1, 5 } }, { 4, { 4, 1, 6, 1 } }, { 5, { 2, 4, 3, 6, 5 } } },
  { { 5, { 1, 3, 1, 2, 1 } }, { 5, { 2, 1, 4, 1, 3 } }, { 5, { 2, 3, 4, 2, 3 } } },
  { { 3, { 64, 300, 1 } }, { 2, { 1, 77 } }, { 3, { 64, 300, 77 } } },        /* large, threads */
};

static void
check_binary (GRand *rng, const BinaryCase *c, JdBinaryKind kind, float alpha, float beta,
              gboolean in_place)
{
  JdBackend *be = jd_test_backend ();
  g_autoptr (JdTensor) a = test_random (rng, -2.0f, 2.0f, c->a);
  g_autoptr (JdTensor) b = test_random (rng, -2.0f, 2.0f, c->b);
  g_autoptr (JdTensor) out = in_place ? NULL : test_poisoned (c->dst);
  JdTensor *dst = in_place ? a : out;
  int64_t n = test_shape_numel (c->dst);
  g_autofree double *ref = test_doubles (n);
  const float *as = a->data, *bs = b->data;
  for (int64_t i = 0; i < n; i++)
    {
      double va = as[test_broadcast_index (c->dst.d, c->dst.ndim, c->a.d, c->a.ndim, i)];
      double vb = bs[test_broadcast_index (c->dst.d, c->dst.ndim, c->b.d, c->b.ndim, i)];
      ref[i] = kind == JD_BINARY_ADD ? alpha * va + beta * vb : va * vb;
    }
  g_autoptr (GError) error = NULL;
  gboolean ok;
  if (kind == JD_BINARY_MUL)
    ok = jd_mul (be, a, b, dst, &error);
  else if (alpha == 1.0f && beta == 1.0f)
    ok = jd_add (be, a, b, dst, &error);
  else
    ok = jd_axpby (be, alpha, a, beta, b, dst, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  jd_test_assert_close (dst->data, ref, n, 1e-6);
}

static void
test_binary_broadcasting (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  for (gsize i = 0; i < G_N_ELEMENTS (binary_cases); i++)
    {
      check_binary (rng, &binary_cases[i], JD_BINARY_ADD, 1.0f, 1.0f, FALSE);
      check_binary (rng, &binary_cases[i], JD_BINARY_ADD, 0.75f, -1.5f, FALSE);
      check_binary (rng, &binary_cases[i], JD_BINARY_MUL, 1.0f, 1.0f, FALSE);
    }
}

static void
test_binary_in_place (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  for (gsize i = 0; i < G_N_ELEMENTS (binary_cases); i++)
    if (binary_cases[i].a.ndim == binary_cases[i].dst.ndim
        && memcmp (binary_cases[i].a.d, binary_cases[i].dst.d,
                   sizeof (int64_t) * (gsize) binary_cases[i].a.ndim) == 0)
      {
        check_binary (rng, &binary_cases[i], JD_BINARY_ADD, 0.5f, 2.0f, TRUE);
        check_binary (rng, &binary_cases[i], JD_BINARY_MUL, 1.0f, 1.0f, TRUE);
      }
}

static void
test_broadcast (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  const struct { TestShape src, dst; } cases[] = {
    { { 1, { 1 } }, { 1, { 13 } } },
    { { 2, { 3, 1 } }, { 3, { 2, 3, 4 } } },
    { { 3, { 2, 3, 4 } }, { 3, { 2, 3, 4 } } },
    { { 5, { 1, 3, 1, 1, 2 } }, { 5, { 2, 3, 4, 5, 2 } } },
    { { 2, { 1, 9 } }, { 4, { 3, 1, 7, 9 } } },
    { { 3, { 40, 1, 1 } }, { 4, { 2, 40, 30, 31 } } },
  };
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (JdTensor) src = test_random (rng, -3.0f, 3.0f, cases[c].src);
      g_autoptr (JdTensor) dst = test_poisoned (cases[c].dst);
      int64_t n = test_shape_numel (cases[c].dst);
      g_autofree double *ref = test_doubles (n);
      const float *s = src->data;
      for (int64_t i = 0; i < n; i++)
        ref[i] = s[test_broadcast_index (cases[c].dst.d, cases[c].dst.ndim, cases[c].src.d,
                                         cases[c].src.ndim, i)];
      g_autoptr (GError) error = NULL;
      g_assert_true (jd_broadcast (be, src, dst, &error));
      g_assert_no_error (error);
      jd_test_assert_close (dst->data, ref, n, 0.0);
    }
}

static void
test_invalid_arguments (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  g_autoptr (JdTensor) a = test_random (rng, -1, 1, TEST_SHAPE (2, 3, 4));
  g_autoptr (JdTensor) b = test_random (rng, -1, 1, TEST_SHAPE (5, 4));
  g_autoptr (JdTensor) small = test_random (rng, -1, 1, TEST_SHAPE (3, 1));
  g_autoptr (JdTensor) out = test_poisoned (TEST_SHAPE (2, 3, 4));
  g_autoptr (JdTensor) wrong = test_poisoned (TEST_SHAPE (2, 3, 5));
  g_autoptr (GError) error = NULL;
  g_autoptr (JdTensor) host = jd_tensor_new_f32 (NULL, &error, 3, (int64_t) 2, (int64_t) 3,
                                                 (int64_t) 4);
  g_autoptr (JdTensor) half = jd_tensor_new (be, JD_DTYPE_F16, 3, a->shape, &error);
  g_assert_no_error (error);

  test_assert_refused (jd_unary (be, JD_UNARY_COUNT, 0, 0, a, out, error_out), "unary");
  test_assert_refused (jd_unary (be, JD_UNARY_SILU, 0, 0, a, wrong, error_out), "unary");
  test_assert_refused (jd_unary (be, JD_UNARY_SILU, 0, 0, host, out, error_out), "unary");
  test_assert_refused (jd_unary (be, JD_UNARY_SILU, 0, 0, half, out, error_out), "unary");
  test_assert_refused (jd_unary (be, JD_UNARY_SILU, 0, 0, NULL, out, error_out), "unary");
  test_assert_refused (jd_add (be, a, b, out, error_out), "add");
  test_assert_refused (jd_axpby (be, 1, a, 2, small, wrong, error_out), "add");
  test_assert_refused (jd_mul (be, a, b, out, error_out), "mul");
  test_assert_refused (jd_mul (be, a, half, out, error_out), "mul");
  test_assert_refused (jd_mul (be, a, small, NULL, error_out), "mul");
  /* The output may not overlay an input that is broadcast. */
  g_autoptr (JdTensor) view = jd_tensor_new_view (be, JD_DTYPE_F32, 3, a->shape, small->data);
  test_assert_refused (jd_add (be, a, small, view, error_out), "add");
  test_assert_refused (jd_broadcast (be, a, small, error_out), "broadcast");
  test_assert_refused (jd_broadcast (be, b, out, error_out), "broadcast");
  test_assert_refused (jd_broadcast (be, a, wrong, error_out), "broadcast");
  /* The refused calls wrote nothing. */
  const float *o = out->data;
  for (int i = 0; i < 24; i++)
    g_assert_true (isnan (o[i]));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/elementwise/unary/functions", test_unary_functions);
  g_test_add_func ("/elementwise/unary/in-place", test_unary_in_place);
  g_test_add_func ("/elementwise/unary/accuracy", test_unary_accuracy);
  g_test_add_func ("/elementwise/unary/gelu-tanh-limits", test_unary_gelu_tanh_limits);
  g_test_add_func ("/elementwise/binary/broadcasting", test_binary_broadcasting);
  g_test_add_func ("/elementwise/binary/in-place", test_binary_in_place);
  g_test_add_func ("/elementwise/broadcast", test_broadcast);
  g_test_add_func ("/elementwise/invalid-arguments", test_invalid_arguments);
  return g_test_run ();
}

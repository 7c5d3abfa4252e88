/* Linear layers through oneDNN against a float64 reference, and the arguments they refuse. */
#include <math.h>
#include <string.h>

#include "jd-error.h"
#include "jd-ops.h"
#include "test-util.h"

/* dst[m, n] = bias[n] + Σ_k x[m, k] · w[n, k], in float64. */
static double *
reference_linear (const JdTensor *x, const JdTensor *w, const JdTensor *bias)
{
  int64_t k = w->shape[1], n = w->shape[0], m = jd_tensor_numel (x) / k;
  const float *xd = x->data, *wd = w->data, *bd = bias ? bias->data : NULL;
  double *out = g_new (double, m * n);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++)
      {
        double sum = bd ? bd[j] : 0.0;
        for (int64_t l = 0; l < k; l++)
          sum += (double) xd[i * k + l] * wd[j * k + l];
        out[i * n + j] = sum;
      }
  return out;
}

static void
check_linear (GRand *rng, int ndim, const int64_t *x_shape, int64_t n, gboolean with_bias)
{
  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_test_backend ();
  int64_t k = x_shape[ndim - 1];
  int64_t w_shape[2] = { n, k }, dst_shape[JD_MAX_DIMS];
  memcpy (dst_shape, x_shape, ndim * sizeof (int64_t));
  dst_shape[ndim - 1] = n;
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1.0f, 1.0f, ndim, x_shape);
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -0.5f, 0.5f, 2, w_shape);
  g_autoptr (JdTensor) bias = with_bias ? jd_test_tensor_random (rng, -1.0f, 1.0f, 1, &n) : NULL;
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (ndim, dst_shape);

  g_assert_true (jd_linear (backend, x, w, bias, dst, &error));
  g_assert_no_error (error);
  g_autofree double *want = reference_linear (x, w, bias);
  jd_test_assert_close (dst->data, want, jd_tensor_numel (dst), 1e-4);
}

static void
test_edge_shapes (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  static const struct { int ndim; int64_t shape[4]; int64_t n; } cases[] = {
    { 1, { 1 }, 1 },                 /* K = N = 1 */
    { 1, { 7 }, 5 },                 /* 1-D x */
    { 2, { 1, 320 }, 1 },            /* one row, N = 1 */
    { 2, { 13, 1 }, 9 },             /* K = 1 */
    { 2, { 17, 33 }, 31 },           /* odd, not multiples of the SIMD width */
    { 3, { 2, 9, 40 }, 24 },
    { 4, { 2, 3, 5, 19 }, 7 },       /* 4-D x */
    { 2, { 64, 257 }, 65 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int with_bias = 0; with_bias < 2; with_bias++)
      check_linear (rng, cases[i].ndim, cases[i].shape, cases[i].n, with_bias);
}

static void
test_random_shapes (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 25; i++)
    {
      int ndim = g_rand_int_range (rng, 1, 5);
      int64_t shape[4];
      for (int d = 0; d < ndim; d++)
        shape[d] = g_rand_int_range (rng, 1, d == ndim - 1 ? 150 : 6);
      check_linear (rng, ndim, shape, g_rand_int_range (rng, 1, 100), g_rand_boolean (rng));
    }
}

/* Same shapes, new buffers: the primitive cache must not keep data pointers. */
static void
test_cache_rebinds (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  const int64_t shape[2] = { 11, 23 };
  for (int i = 0; i < 4; i++)
    check_linear (rng, 2, shape, 6, i % 2);
}

/* oneDNN may split sums differently per thread count: results stay close, not identical. */
static void
test_thread_counts (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *backend = jd_test_backend ();
  const int64_t shape[2] = { 300, 130 };
  for (int threads = 1; threads <= 3; threads++)
    {
      jd_cpu_backend_set_n_threads (backend, threads);
      check_linear (rng, 2, shape, 70, TRUE);
    }
  jd_cpu_backend_set_n_threads (backend, 2);
}

static void
assert_refused (GError *error, const char *fragment)
{
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message, "linear: "));
  if (strstr (error->message, fragment) == NULL)
    g_error ("message '%s' does not name '%s'", error->message, fragment);
}

static void
test_refusals (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *backend = jd_test_backend ();
  const int64_t xs[2] = { 4, 6 }, ws[2] = { 3, 6 }, bad_ws[2] = { 3, 5 }, ds[2] = { 4, 3 };
  const int64_t bad_ds[2] = { 4, 4 }, bs = 3, bad_bs = 4;
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 2, xs);
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -1, 1, 2, ws);
  g_autoptr (JdTensor) bad_w = jd_test_tensor_random (rng, -1, 1, 2, bad_ws);
  g_autoptr (JdTensor) bias = jd_test_tensor_random (rng, -1, 1, 1, &bs);
  g_autoptr (JdTensor) bad_bias = jd_test_tensor_random (rng, -1, 1, 1, &bad_bs);
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (2, ds);
  g_autoptr (JdTensor) bad_dst = jd_test_tensor_poisoned (2, bad_ds);
  g_autoptr (JdTensor) half = jd_tensor_new (backend, JD_DTYPE_F16, 2, xs, NULL);
  g_autoptr (JdTensor) w3 = jd_test_tensor_random (rng, -1, 1, 1, &xs[1]);

  {
    g_autoptr (GError) error = NULL;
    g_assert_false (jd_linear (backend, x, bad_w, NULL, dst, &error));
    assert_refused (error, "[3, 5]");
    assert_refused (error, "[4, 6]");
  }
  {
    g_autoptr (GError) error = NULL;
    g_assert_false (jd_linear (backend, x, w, NULL, bad_dst, &error));
    assert_refused (error, "[4, 4]");
    assert_refused (error, "[4, 3]");
  }
  {
    g_autoptr (GError) error = NULL;
    g_assert_false (jd_linear (backend, x, w, bad_bias, dst, &error));
    assert_refused (error, "bias");
  }
  {
    g_autoptr (GError) error = NULL;
    g_assert_false (jd_linear (backend, half, w, bias, dst, &error));
    assert_refused (error, "F16");
  }
  {
    g_autoptr (GError) error = NULL;
    g_assert_false (jd_linear (backend, x, w3, bias, dst, &error));
    assert_refused (error, "weight");
  }
  {
    /* In place: a (4, 6) x written as its own (4, 3) output would overwrite unread input. */
    g_autoptr (GError) error = NULL;
    g_autoptr (JdTensor) alias = jd_tensor_new_view (backend, JD_DTYPE_F32, 2, ds, x->data);
    g_assert_false (jd_linear (backend, x, w, bias, alias, &error));
    assert_refused (error, "shares memory with x");
  }
  /* Nothing was written by the refused calls. */
  for (int i = 0; i < 12; i++)
    g_assert_true (isnan (((float *) dst->data)[i]));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/linear/edge-shapes", test_edge_shapes);
  g_test_add_func ("/linear/random-shapes", test_random_shapes);
  g_test_add_func ("/linear/cache-rebinds", test_cache_rebinds);
  g_test_add_func ("/linear/thread-counts", test_thread_counts);
  g_test_add_func ("/linear/refusals", test_refusals);
  return g_test_run ();
}

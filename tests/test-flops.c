/* The backend's op counter: jd_backend_run counts calls and FLOPs per op kind, each op's FLOPs
 * as jd_op_flops defines them; written out here from the op's sizes so a changed formula
 * shows. */
#include "jd-error.h"
#include "jd-ops.h"
#include "test-util.h"

static double
flops_since_reset (JdBackend *backend, JdOpKind kind, guint64 *calls)
{
  JdBackendStats stats;
  double total = -1.0;
  jd_backend_get_stats (backend, &stats, &total);
  /* Only the op under test ran: its kind holds every FLOP counted. */
  g_assert_cmpfloat (total, ==, stats.flops[kind]);
  *calls = stats.calls[kind];
  return stats.flops[kind];
}

static void
test_nothing_ran (void)
{
  JdBackend *backend = jd_test_backend ();
  jd_backend_reset_stats (backend);
  JdBackendStats stats;
  double total = -1.0;
  jd_backend_get_stats (backend, &stats, &total);
  g_assert_cmpfloat (total, ==, 0.0);
  for (int kind = 0; kind < JD_OP_COUNT; kind++)
    {
      g_assert_cmpuint (stats.calls[kind], ==, 0);
      g_assert_cmpfloat (stats.flops[kind], ==, 0.0);
    }
}

static void
test_linear (void)
{
  JdBackend *backend = jd_test_backend ();
  g_autoptr (GRand) rng = jd_test_rng ();
  /* x (2, 3, 7): M = 6 rows of K = 7; N = 5. */
  const int64_t xs[] = { 2, 3, 7 }, ws[] = { 5, 7 }, bs[] = { 5 }, ds[] = { 2, 3, 5 };
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 3, xs);
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -1, 1, 2, ws);
  g_autoptr (JdTensor) b = jd_test_tensor_random (rng, -1, 1, 1, bs);
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (3, ds);
  jd_backend_reset_stats (backend);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_linear (backend, x, w, b, dst, &error));
  g_assert_true (jd_linear (backend, x, w, NULL, dst, &error));
  g_assert_no_error (error);
  guint64 calls;
  g_assert_cmpfloat (flops_since_reset (backend, JD_OP_LINEAR, &calls), ==, 2 * 2.0 * 6 * 5 * 7);
  g_assert_cmpuint (calls, ==, 2);
}

static void
test_convolutions (void)
{
  JdBackend *backend = jd_test_backend ();
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autoptr (GError) error = NULL;
  guint64 calls;
  {
    /* conv2d 3×3, stride 2, padding 1: (1, 3, 9, 7) → (1, 4, 5, 4). */
    const int64_t xs[] = { 1, 3, 9, 7 }, ws[] = { 4, 3, 3, 3 }, ds[] = { 1, 4, 5, 4 };
    g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 4, xs);
    g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -1, 1, 4, ws);
    g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (4, ds);
    jd_backend_reset_stats (backend);
    g_assert_true (jd_conv2d (backend, x, w, NULL, 2, 1, dst, &error));
    g_assert_cmpfloat (flops_since_reset (backend, JD_OP_CONV2D, &calls), ==,
                       2.0 * (4 * 5 * 4) * (3 * 3 * 3));
    g_assert_cmpuint (calls, ==, 1);
  }
  {
    /* temporal conv kt 3: (1, 2, 5, 3, 2) → (1, 6, 5, 3, 2). */
    const int64_t xs[] = { 1, 2, 5, 3, 2 }, ws[] = { 6, 2, 3, 1, 1 }, ds[] = { 1, 6, 5, 3, 2 };
    g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 5, xs);
    g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -1, 1, 5, ws);
    g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (5, ds);
    jd_backend_reset_stats (backend);
    g_assert_true (jd_conv_temporal (backend, x, w, NULL, dst, &error));
    g_assert_cmpfloat (flops_since_reset (backend, JD_OP_CONV_TEMPORAL, &calls), ==,
                       2.0 * (6 * 5 * 3 * 2) * (2 * 3));
  }
  {
    /* conv1d k 5, padding 2, dilation 1: (2, 3, 11) → (2, 4, 11). */
    const int64_t xs[] = { 2, 3, 11 }, ws[] = { 4, 3, 5 }, ds[] = { 2, 4, 11 };
    g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 3, xs);
    g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -1, 1, 3, ws);
    g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (3, ds);
    jd_backend_reset_stats (backend);
    g_assert_true (jd_conv1d (backend, x, w, NULL, 1, 2, 1, dst, &error));
    g_assert_cmpfloat (flops_since_reset (backend, JD_OP_CONV1D, &calls), ==,
                       2.0 * (2 * 4 * 11) * (3 * 5));
  }
  {
    /* transposed conv1d k 4, stride 2, padding 1: (1, 3, 6) → (1, 2, 12); each of the 18
     * input elements feeds Cout · k = 8 products. */
    const int64_t xs[] = { 1, 3, 6 }, ws[] = { 3, 2, 4 }, ds[] = { 1, 2, 12 };
    g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 3, xs);
    g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -1, 1, 3, ws);
    g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (3, ds);
    jd_backend_reset_stats (backend);
    g_assert_true (jd_conv_transpose1d (backend, x, w, NULL, 2, 1, 0, dst, &error));
    g_assert_cmpfloat (flops_since_reset (backend, JD_OP_CONV_TRANSPOSE1D, &calls), ==,
                       2.0 * (3 * 6) * (2 * 4));
  }
  g_assert_no_error (error);
}

static void
test_attention (void)
{
  JdBackend *backend = jd_test_backend ();
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autoptr (GError) error = NULL;
  guint64 calls;
  /* B 2, H 3, Dqk 4, Dv 5, Lq 7, Lk 9. */
  const int64_t qs[] = { 2, 7, 12 }, ks[] = { 2, 9, 12 }, vs[] = { 2, 9, 15 }, ds[] = { 2, 7, 15 };
  g_autoptr (JdTensor) q = jd_test_tensor_random (rng, -1, 1, 3, qs);
  g_autoptr (JdTensor) k = jd_test_tensor_random (rng, -1, 1, 3, ks);
  g_autoptr (JdTensor) v = jd_test_tensor_random (rng, -1, 1, 3, vs);
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (3, ds);
  jd_backend_reset_stats (backend);
  g_assert_true (jd_attention (backend, q, k, v, 3, 0.5f, 0, NULL, NULL, dst, &error));
  g_assert_cmpfloat (flops_since_reset (backend, JD_OP_ATTENTION, &calls), ==,
                     2.0 * 2 * 3 * (7 * 9) * (4 + 5));
  /* Block-diagonal: queries 3 + 4, keys 5 + 4: only the pairs within a segment count. */
  const int64_t q_segments[] = { 3, 4 }, k_segments[] = { 5, 4 };
  jd_backend_reset_stats (backend);
  g_assert_true (jd_attention (backend, q, k, v, 3, 0.5f, 2, q_segments, k_segments, dst,
                               &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (flops_since_reset (backend, JD_OP_ATTENTION, &calls), ==,
                     2.0 * 2 * 3 * (3 * 5 + 4 * 4) * (4 + 5));
  g_assert_cmpuint (calls, ==, 1);
}

static void
test_uncounted_and_failed (void)
{
  JdBackend *backend = jd_test_backend ();
  g_autoptr (GRand) rng = jd_test_rng ();
  const int64_t xs[] = { 3, 8 }, ws[] = { 5, 7 }, ds[] = { 3, 5 };
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 2, xs);
  g_autoptr (JdTensor) y = jd_test_tensor_poisoned (2, xs);
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -1, 1, 2, ws);
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (2, ds);
  jd_backend_reset_stats (backend);
  /* Elementwise work is a call but no FLOPs. */
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_unary (backend, JD_UNARY_SILU, 1, 0, x, y, &error));
  g_assert_no_error (error);
  /* A refused op (K 8 against a weight of K 7) never reaches the backend: nothing counted. */
  g_assert_false (jd_linear (backend, x, w, NULL, dst, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  JdBackendStats stats;
  double total = -1.0;
  jd_backend_get_stats (backend, &stats, &total);
  g_assert_cmpfloat (total, ==, 0.0);
  g_assert_cmpuint (stats.calls[JD_OP_UNARY], ==, 1);
  g_assert_cmpuint (stats.calls[JD_OP_LINEAR], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flops/nothing-ran", test_nothing_ran);
  g_test_add_func ("/flops/linear", test_linear);
  g_test_add_func ("/flops/convolutions", test_convolutions);
  g_test_add_func ("/flops/attention", test_attention);
  g_test_add_func ("/flops/uncounted-and-failed", test_uncounted_and_failed);
  return g_test_run ();
}

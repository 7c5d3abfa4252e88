/* jd_weights_new_random (the weights of `jointdit bench gpu`): every tensor asked for exists
 * with the shape asked for, N(0, 1/fan_in), the same for the same seed and name order,
 * different between tensors and seeds, and kept (asked twice, the same tensor). */
#include <math.h>
#include <string.h>

#include "jd-error.h"
#include "jd-weights.h"
#include "test-util.h"

static void
moments (const JdTensor *t, double *mean, double *std)
{
  const float *x = t->data;
  const int64_t n = jd_tensor_numel (t);
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++)
    {
      g_assert_true (isfinite (x[i]));
      s += x[i];
      s2 += (double) x[i] * x[i];
    }
  *mean = s / n;
  *std = sqrt (s2 / n - *mean * *mean);
}

static void
test_shapes_and_scale (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdWeights) weights = jd_weights_new_random (jd_test_backend (), 7);
  const JdTensor *w = jd_weights_get (weights, "a.weight", 2, (int64_t[]) { 64, 400 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (w->ndim, ==, 2);
  g_assert_cmpint (w->shape[0], ==, 64);
  g_assert_cmpint (w->shape[1], ==, 400);
  g_assert_true (w->constant);
  double mean, std;
  moments (w, &mean, &std);
  /* 25 600 draws: the std of the sample std is about 0.5 %. */
  g_assert_cmpfloat (fabs (std * sqrt (400.0) - 1.0), <, 0.03);
  g_assert_cmpfloat (fabs (mean) * sqrt (400.0), <, 0.03);

  const JdTensor *conv = jd_weights_get (weights, "b.weight", 4,
                                         (int64_t[]) { 8, 16, 3, 3 }, &error);
  g_assert_no_error (error);
  moments (conv, &mean, &std);
  g_assert_cmpfloat (fabs (std * sqrt (16.0 * 9.0) - 1.0), <, 0.1);

  const JdTensor *bias = jd_weights_get (weights, "b.bias", 1, (int64_t[]) { 5000 }, &error);
  g_assert_no_error (error);
  moments (bias, &mean, &std);
  g_assert_cmpfloat (fabs (std - 1.0), <, 0.05);

  /* Asked again: the same tensor; with another shape: refused, naming both. */
  g_assert_true (jd_weights_get (weights, "a.weight", 2, (int64_t[]) { 64, 400 }, &error) == w);
  g_assert_null (jd_weights_get (weights, "a.weight", 2, (int64_t[]) { 400, 64 }, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_clear_error (&error);
  /* Not a file: "has" stays FALSE, so optional tensors stay absent. */
  g_assert_false (jd_weights_has (weights, "c.weight"));
}

static void
test_deterministic (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdWeights) a = jd_weights_new_random (jd_test_backend (), 3);
  g_autoptr (JdWeights) b = jd_weights_new_random (jd_test_backend (), 3);
  g_autoptr (JdWeights) c = jd_weights_new_random (jd_test_backend (), 4);
  const int64_t shape[2] = { 10, 30 };
  const JdTensor *a1 = jd_weights_get (a, "x", 2, shape, &error);
  const JdTensor *a2 = jd_weights_get (a, "y", 2, shape, &error);
  const JdTensor *b1 = jd_weights_get (b, "x", 2, shape, &error);
  const JdTensor *c1 = jd_weights_get (c, "x", 2, shape, &error);
  g_assert_no_error (error);
  const gsize bytes = jd_tensor_nbytes (a1);
  g_assert_cmpint (memcmp (a1->data, b1->data, bytes), ==, 0);
  g_assert_cmpint (memcmp (a1->data, a2->data, bytes), !=, 0);
  g_assert_cmpint (memcmp (a1->data, c1->data, bytes), !=, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/weights/random/shapes-and-scale", test_shapes_and_scale);
  g_test_add_func ("/weights/random/deterministic", test_deterministic);
  return g_test_run ();
}

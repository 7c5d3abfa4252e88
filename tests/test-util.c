#include "test-util.h"

#include <math.h>

static JdBackend *test_backend;

static void
free_backend (void)
{
  g_clear_pointer (&test_backend, jd_backend_destroy);
}

JdBackend *
jd_test_backend (void)
{
  if (test_backend == NULL)
    {
      g_autoptr (GError) error = NULL;
      const char *threads = g_getenv ("JD_TEST_THREADS");
      test_backend = jd_cpu_backend_new (threads ? atoi (threads) : 2, &error);
      g_assert_no_error (error);
      atexit (free_backend);
    }
  return test_backend;
}

JdTensor *
jd_test_tensor_random (GRand *rng, float lo, float hi, int ndim, const int64_t *shape)
{
  g_autoptr (GError) error = NULL;
  JdTensor *tensor = jd_tensor_new (jd_test_backend (), JD_DTYPE_F32, ndim, shape, &error);
  g_assert_no_error (error);
  float *data = tensor->data;
  int64_t n = jd_tensor_numel (tensor);
  for (int64_t i = 0; i < n; i++)
    data[i] = (float) g_rand_double_range (rng, lo, hi);
  return tensor;
}

JdTensor *
jd_test_tensor_poisoned (int ndim, const int64_t *shape)
{
  g_autoptr (GError) error = NULL;
  JdTensor *tensor = jd_tensor_new (jd_test_backend (), JD_DTYPE_F32, ndim, shape, &error);
  g_assert_no_error (error);
  float *data = tensor->data;
  int64_t n = jd_tensor_numel (tensor);
  for (int64_t i = 0; i < n; i++)
    data[i] = NAN;
  return tensor;
}

GRand *
jd_test_rng (void)
{
  const char *seed = g_getenv ("JD_TEST_SEED");
  if (seed != NULL)
    return g_rand_new_with_seed ((guint32) g_ascii_strtoull (seed, NULL, 10));
  const char *path = g_test_get_path ();
  return g_rand_new_with_seed (g_str_hash (path ? path : "jointdit"));
}

double
jd_test_rel_error (const float *a, const double *b, gsize n)
{
  double diff = 0.0, norm = 0.0;
  for (gsize i = 0; i < n; i++)
    {
      if (!isfinite (a[i]))
        return INFINITY;
      double d = (double) a[i] - b[i];
      diff += d * d;
      norm += b[i] * b[i];
    }
  if (norm == 0.0)
    return diff == 0.0 ? 0.0 : INFINITY;
  return sqrt (diff / norm);
}

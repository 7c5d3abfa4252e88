/* Tensors, shapes with overflow checks, and the thread pool. */
#include <string.h>

#include "jd-error.h"
#include "jd-thread-pool.h"
#include "test-util.h"

static void
test_shapes (void)
{
  int64_t numel, nbytes;
  const int64_t ok[] = { 2, 3, 4, 5, 6 };
  g_assert_true (jd_shape_checked_numel (5, ok, 4, &numel, &nbytes));
  g_assert_cmpint (numel, ==, 720);
  g_assert_cmpint (nbytes, ==, 2880);
  const int64_t huge[] = { INT64_C (1) << 40, INT64_C (1) << 30 };
  g_assert_false (jd_shape_checked_numel (2, huge, 1, NULL, NULL));
  const int64_t edge[] = { INT64_MAX / 4 + 1 };
  g_assert_true (jd_shape_checked_numel (1, edge, 1, NULL, NULL));
  g_assert_false (jd_shape_checked_numel (1, edge, 4, NULL, NULL));
  const int64_t negative[] = { 3, -1 };
  g_assert_false (jd_shape_checked_numel (2, negative, 4, NULL, NULL));
  g_assert_false (jd_shape_checked_numel (6, ok, 4, NULL, NULL));
  const int64_t with_zero[] = { 0, INT64_MAX };
  g_assert_true (jd_shape_checked_numel (2, with_zero, 4, &numel, NULL));
  g_assert_cmpint (numel, ==, 0);
}

static void
test_tensor_lifecycle (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdTensor) t = jd_tensor_new_f32 (jd_test_backend (), &error, 3, (int64_t) 2,
                                              (int64_t) 3, (int64_t) 5);
  g_assert_no_error (error);
  g_assert_cmpint (jd_tensor_numel (t), ==, 30);
  g_assert_cmpuint (jd_tensor_nbytes (t), ==, 120);
  g_assert_cmpuint ((guintptr) t->data % 64, ==, 0);
  g_autofree char *text = jd_tensor_shape_string (t);
  g_assert_cmpstr (text, ==, "[2, 3, 5]");

  float host[30];
  for (int i = 0; i < 30; i++)
    host[i] = (float) i * 0.5f - 3.0f;
  g_assert_true (jd_tensor_upload_f32 (t, host, &error));
  float back[30] = { 0 };
  g_assert_true (jd_tensor_download_f32 (t, back, &error));
  g_assert_cmpmem (host, sizeof host, back, sizeof back);

  g_autoptr (JdTensor) view = jd_tensor_new_view (NULL, JD_DTYPE_F32, 1,
                                                  (const int64_t[]) { 30 }, host);
  g_assert_false (view->owns_data);
  g_assert_true (view->data == host);

  const int64_t bad[] = { -2, 3 };
  JdTensor *none = jd_tensor_new (NULL, JD_DTYPE_F32, 2, bad, &error);
  g_assert_null (none);
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "[-2, 3]"));
}

static void
count_range (int64_t begin, int64_t end, gpointer user_data)
{
  gint *hits = user_data;
  for (int64_t i = begin; i < end; i++)
    g_atomic_int_inc (&hits[i]);
}

static void
test_thread_pool (void)
{
  g_autoptr (JdThreadPool) pool = jd_thread_pool_new (0);
  g_assert_cmpint (jd_thread_pool_get_n_threads (pool), ==, jd_cpu_count ());
  const int64_t sizes[] = { 1, 2, 3, 7, 64, 1000, 4097 };
  for (int threads = 1; threads <= 5; threads++)
    for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
      {
        jd_thread_pool_set_n_threads (pool, threads);
        g_autofree gint *hits = g_new0 (gint, sizes[s]);
        jd_thread_pool_parallel_for (pool, sizes[s], 3, count_range, hits);
        for (int64_t i = 0; i < sizes[s]; i++)
          g_assert_cmpint (hits[i], ==, 1);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tensor/shapes", test_shapes);
  g_test_add_func ("/tensor/lifecycle", test_tensor_lifecycle);
  g_test_add_func ("/tensor/thread-pool", test_thread_pool);
  return g_test_run ();
}

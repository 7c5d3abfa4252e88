/* Philox 4x32-10 known answers and the Gaussian mapping. */
#include <math.h>

#include "jd-ops.h"
#include "jd-philox.h"
#include "test-util.h"

static void
test_known_answers (void)
{
  /* Known-answer vectors published with Random123 (kat_vectors, philox4x32 R=10). */
  static const struct {
    uint32_t ctr[4], key[2], out[4];
  } kat[] = {
    { { 0, 0, 0, 0 }, { 0, 0 }, { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 } },
    { { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }, { 0xffffffff, 0xffffffff },
      { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd } },
    { { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 }, { 0xa4093822, 0x299f31d0 },
      { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 } },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (kat); i++)
    {
      JdPhilox4x32 ctr = { { kat[i].ctr[0], kat[i].ctr[1], kat[i].ctr[2], kat[i].ctr[3] } };
      JdPhilox4x32 out = jd_philox4x32_10 (ctr, kat[i].key[0], kat[i].key[1]);
      for (int w = 0; w < 4; w++)
        g_assert_cmphex (out.v[w], ==, kat[i].out[w]);
    }
}

static void
test_log_and_cos (void)
{
  /* The engine's own ln and cos against libm in float64 on random arguments. */
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 100000; i++)
    {
      double x = ((double) g_rand_int (rng) + 0.5) / 4294967296.0;
      double u = ((double) g_rand_int (rng) + 0.5) / 4294967296.0;
      g_assert_cmpfloat (fabs (jd_philox_log (x) - log (x)), <=, 4e-16 * MAX (1.0, fabs (log (x))));
      g_assert_cmpfloat (fabs (jd_philox_cos2pi (u) - cos (2 * G_PI * u)), <=, 2e-15);
    }
  g_assert_cmpfloat (jd_philox_log (1.0), ==, 0.0);
  g_assert_cmpfloat (fabs (jd_philox_log (0.5 / 4294967296.0) - log (0.5 / 4294967296.0)), <=,
                     1e-14);
}

static void
test_normal_statistics (void)
{
  /* Mean 0, variance 1, kurtosis 3 within sampling error of 200k draws. */
  const int n = 200000;
  double sum = 0, sum2 = 0, sum4 = 0;
  int beyond_3 = 0;
  for (int i = 0; i < n; i++)
    {
      double z = jd_philox_normal (42, (uint64_t) i);
      sum += z;
      sum2 += z * z;
      sum4 += z * z * z * z;
      beyond_3 += fabs (z) > 3.0;
    }
  double mean = sum / n, var = sum2 / n - mean * mean;
  g_assert_cmpfloat (fabs (mean), <, 5.0 / sqrt (n));
  g_assert_cmpfloat (fabs (var - 1.0), <, 0.02);
  g_assert_cmpfloat (fabs (sum4 / n - 3.0), <, 0.1);
  /* P(|z| > 3) = 0.0027 */
  g_assert_cmpint (beyond_3, >, 400);
  g_assert_cmpint (beyond_3, <, 700);
}

static void
test_keys_and_offsets (void)
{
  /* Seeds differ; an offset draw equals the tail of a longer draw; the backend op matches the
   * scalar definition bit for bit, whatever the thread split. */
  g_assert_cmpfloat (jd_philox_normal (1, 0), !=, jd_philox_normal (2, 0));
  g_assert_cmpfloat (jd_philox_normal (1, 0), !=, jd_philox_normal (1, 1));
  g_assert_cmpfloat (jd_philox_normal (1ull << 32, 0), !=, jd_philox_normal (0, 0));

  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_test_backend ();
  g_autoptr (JdTensor) all = jd_tensor_new_f32 (backend, &error, 3, (int64_t) 3, (int64_t) 7,
                                                (int64_t) 1001);
  g_autoptr (JdTensor) tail = jd_tensor_new_f32 (backend, &error, 1, (int64_t) 1000);
  g_assert_no_error (error);
  g_assert_true (jd_normal_noise (backend, 77, 5, all, &error));
  g_assert_true (jd_normal_noise (backend, 77, 5 + 500, tail, &error));
  g_assert_no_error (error);
  const float *a = all->data, *t = tail->data;
  for (int i = 0; i < 1000; i++)
    g_assert_cmpuint (*(const uint32_t *) &a[500 + i], ==, *(const uint32_t *) &t[i]);
  for (int64_t i = 0; i < jd_tensor_numel (all); i += 37)
    g_assert_cmpfloat (a[i], ==, jd_philox_normal (77, 5 + (uint64_t) i));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/philox/known-answers", test_known_answers);
  g_test_add_func ("/philox/log-cos", test_log_and_cos);
  g_test_add_func ("/philox/normal-statistics", test_normal_statistics);
  g_test_add_func ("/philox/keys-offsets", test_keys_and_offsets);
  return g_test_run ();
}

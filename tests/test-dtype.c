/* F16/BF16 conversions: exact round trips, round-to-nearest-even, specials. */
#include <math.h>

#include "jd-dtype.h"
#include "test-util.h"

static void
test_f16_round_trip_all_finite (void)
{
  /* Every finite half converts to F32 and back unchanged. */
  for (uint32_t h = 0; h < 0x10000; h++)
    {
      if ((h & 0x7c00u) == 0x7c00u)
        continue;
      float f = jd_f16_to_f32 ((uint16_t) h);
      g_assert_cmpuint (jd_f32_to_f16 (f), ==, h);
    }
}

static void
test_f16_values (void)
{
  g_assert_cmpfloat (jd_f16_to_f32 (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (jd_f16_to_f32 (0xc000), ==, -2.0f);
  g_assert_cmpfloat (jd_f16_to_f32 (0x7bff), ==, 65504.0f);
  g_assert_cmpfloat (jd_f16_to_f32 (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_true (isinf (jd_f16_to_f32 (0x7c00)));
  g_assert_true (isnan (jd_f16_to_f32 (0x7e00)));
  /* ties to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10 */
  g_assert_cmpuint (jd_f32_to_f16 (1.0f + ldexpf (1.0f, -11)), ==, 0x3c00);
  g_assert_cmpuint (jd_f32_to_f16 (1.0f + 3 * ldexpf (1.0f, -11)), ==, 0x3c02);
  g_assert_cmpuint (jd_f32_to_f16 (65520.0f), ==, 0x7c00);
  g_assert_cmpuint (jd_f32_to_f16 (65519.0f), ==, 0x7bff);
  g_assert_cmpuint (jd_f32_to_f16 (-1e-9f), ==, 0x8000);
  g_assert_true ((jd_f32_to_f16 (NAN) & 0x7fffu) > 0x7c00u);
}

static void
test_f16_nearest_random (void)
{
  /* Against a float64 search of the nearest half on random normal-range values. */
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 20000; i++)
    {
      float f = (float) g_rand_double_range (rng, -60000.0, 60000.0) *
                (float) pow (2.0, -g_rand_int_range (rng, 0, 30));
      uint16_t h = jd_f32_to_f16 (f);
      double err = fabs ((double) jd_f16_to_f32 (h) - f);
      double err_up = fabs ((double) jd_f16_to_f32 ((uint16_t) (h + 1)) - f);
      double err_down = fabs ((double) jd_f16_to_f32 ((uint16_t) (h - 1)) - f);
      g_assert_cmpfloat (err, <=, err_up);
      g_assert_cmpfloat (err, <=, err_down);
    }
}

static void
test_bf16 (void)
{
  g_assert_cmpfloat (jd_bf16_to_f32 (0x3f80), ==, 1.0f);
  g_assert_cmpuint (jd_f32_to_bf16 (1.0f), ==, 0x3f80);
  /* ties to even */
  g_assert_cmpuint (jd_f32_to_bf16 (1.0f + ldexpf (1.0f, -8)), ==, 0x3f80);
  g_assert_cmpuint (jd_f32_to_bf16 (1.0f + 3 * ldexpf (1.0f, -8)), ==, 0x3f82);
  g_assert_true (isnan (jd_bf16_to_f32 (jd_f32_to_bf16 (NAN))));
  for (uint32_t b = 0; b < 0x10000; b++)
    {
      if ((b & 0x7f80u) == 0x7f80u)
        continue;
      g_assert_cmpuint (jd_f32_to_bf16 (jd_bf16_to_f32 ((uint16_t) b)), ==, b);
    }
}

static void
test_convert_arrays (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  float src[37], back[37];
  uint16_t half[37];
  for (int i = 0; i < 37; i++)
    src[i] = (float) g_rand_double_range (rng, -4, 4);
  for (JdDType t = JD_DTYPE_F16; t <= JD_DTYPE_BF16; t++)
    {
      jd_convert_from_f32 (t, src, half, 37);
      jd_convert_to_f32 (t, half, back, 37);
      double tolerance = t == JD_DTYPE_F16 ? ldexp (1.0, -11) : ldexp (1.0, -8);
      for (int i = 0; i < 37; i++)
        g_assert_cmpfloat (fabs (back[i] - src[i]), <=, tolerance * fabs (src[i]));
    }
  JdDType parsed;
  g_assert_true (jd_dtype_from_name ("BF16", &parsed) && parsed == JD_DTYPE_BF16);
  g_assert_false (jd_dtype_from_name ("F64", &parsed));
  g_assert_cmpuint (jd_dtype_size (JD_DTYPE_F16), ==, 2);
}

/* Tensors in a model file may start at an odd byte: conversions of misaligned half-precision
 * arrays give the same values as aligned ones (and UBSan, in build-asan, sees no misaligned
 * access; the fuzzer found one here). */
static void
test_convert_misaligned (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  float src[29], aligned_back[29], back[29];
  uint16_t aligned[29];
  guint8 storage[2 * 29 + 1];
  for (int i = 0; i < 29; i++)
    src[i] = (float) g_rand_double_range (rng, -4, 4);
  for (JdDType t = JD_DTYPE_F16; t <= JD_DTYPE_BF16; t++)
    {
      jd_convert_from_f32 (t, src, aligned, 29);
      jd_convert_from_f32 (t, src, storage + 1, 29);
      g_assert_cmpmem (storage + 1, sizeof aligned, aligned, sizeof aligned);
      jd_convert_to_f32 (t, aligned, aligned_back, 29);
      jd_convert_to_f32 (t, storage + 1, back, 29);
      g_assert_cmpmem (back, sizeof back, aligned_back, sizeof aligned_back);
      g_assert_cmpfloat (back[7], !=, 0.0f);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dtype/f16/round-trip", test_f16_round_trip_all_finite);
  g_test_add_func ("/dtype/f16/values", test_f16_values);
  g_test_add_func ("/dtype/f16/nearest", test_f16_nearest_random);
  g_test_add_func ("/dtype/bf16", test_bf16);
  g_test_add_func ("/dtype/arrays", test_convert_arrays);
  g_test_add_func ("/dtype/misaligned", test_convert_misaligned);
  return g_test_run ();
}

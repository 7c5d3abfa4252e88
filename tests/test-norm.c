/* Group norm and layer norm against float64 references. */
#include <math.h>

#include "test-ops-common.h"

/* Mean and biased variance of `count` consecutive values, two-pass in double. */
static void
reference_moments (const float *x, int64_t count, double *mean, double *variance)
{
  double sum = 0;
  for (int64_t i = 0; i < count; i++)
    sum += x[i];
  *mean = sum / (double) count;
  double m2 = 0;
  for (int64_t i = 0; i < count; i++)
    m2 += ((double) x[i] - *mean) * ((double) x[i] - *mean);
  *variance = m2 / (double) count;
}

static void
reference_group_norm (const JdTensor *x, const float *gamma, const float *beta, int groups,
                      double eps, gboolean silu, double *out)
{
  const float *xs = x->data;
  const int64_t batch = x->shape[0], channels = x->shape[1];
  int64_t spatial = 1;
  for (int i = 2; i < x->ndim; i++)
    spatial *= x->shape[i];
  const int64_t cpg = channels / groups, count = cpg * spatial;
  for (int64_t n = 0; n < batch; n++)
    for (int g = 0; g < groups; g++)
      {
        const int64_t base = (n * channels + g * cpg) * spatial;
        double mean, variance;
        reference_moments (xs + base, count, &mean, &variance);
        for (int64_t i = 0; i < count; i++)
          {
            int64_t c = g * cpg + i / spatial;
            double y = ((double) xs[base + i] - mean) / sqrt (variance + eps);
            y = y * (gamma ? gamma[c] : 1.0) + (beta ? beta[c] : 0.0);
            out[base + i] = silu ? y / (1.0 + exp (-y)) : y;
          }
      }
}

typedef struct {
  TestShape shape;
  int       groups;
} GroupNormCase;

static const GroupNormCase group_cases[] = {
  { { 4, { 2, 32, 9, 7 } }, 8 },
  { { 4, { 1, 6, 1, 1 } }, 3 },          /* one element per channel */
  { { 3, { 1, 4, 5 } }, 4 },             /* one channel per group, 1-D trailing */
  { { 2, { 3, 4 } }, 2 },                /* no trailing dims */
  { { 5, { 1, 8, 3, 5, 6 } }, 4 },       /* SVD's temporal norm over (C, T, H, W) */
  { { 4, { 2, 5, 3, 3 } }, 1 },          /* one group */
  { { 4, { 1, 64, 32, 33 } }, 32 },      /* large enough for threads */
  { { 4, { 1, 4, 129, 131 } }, 2 },      /* few large groups: rows cut into pieces */
  { { 3, { 1, 3, 10007 } }, 3 },         /* pieces of unequal length */
  { { 5, { 1, 2, 4, 33, 65 } }, 1 },
};

static void
check_group_norm (GRand *rng, const GroupNormCase *c, float offset, float spread, float eps,
                  gboolean affine, gboolean silu)
{
  JdBackend *be = jd_test_backend ();
  const int64_t channels = c->shape.d[1];
  g_autoptr (JdTensor) x = test_random (rng, offset - spread, offset + spread, c->shape);
  const TestShape vector = TEST_SHAPE (channels);
  g_autoptr (JdTensor) gamma = affine ? test_random (rng, 0.5f, 1.5f, vector) : NULL;
  g_autoptr (JdTensor) beta = affine ? test_random (rng, -1.0f, 1.0f, vector) : NULL;
  g_autoptr (JdTensor) y = test_poisoned (c->shape);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_group_norm (be, x, gamma, beta, c->groups, eps,
                                silu ? JD_UNARY_SILU : JD_UNARY_IDENTITY, y, &error));
  g_assert_no_error (error);
  int64_t n = jd_tensor_numel (x);
  g_autofree double *ref = test_doubles (n);
  reference_group_norm (x, gamma ? gamma->data : NULL, beta ? beta->data : NULL, c->groups,
                        eps, silu, ref);
  jd_test_assert_close (y->data, ref, n, 1e-5);
}

static void
test_group_norm_shapes (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  for (gsize i = 0; i < G_N_ELEMENTS (group_cases); i++)
    {
      check_group_norm (rng, &group_cases[i], 0.3f, 2.0f, 1e-5f, TRUE, FALSE);
      check_group_norm (rng, &group_cases[i], -0.5f, 1.0f, 1e-6f, TRUE, TRUE);
      check_group_norm (rng, &group_cases[i], 0.0f, 3.0f, 1e-5f, FALSE, FALSE);
    }
}

static void
test_group_norm_eps (void)
{
  /* With a spread comparable to eps, the result depends on eps: a kernel that ignored it or
   * used another value would be far off. */
  g_autoptr (GRand) rng = jd_test_rng ();
  check_group_norm (rng, &group_cases[0], 0.0f, 0.1f, 0.01f, TRUE, FALSE);
  check_group_norm (rng, &group_cases[0], 0.0f, 0.1f, 1.0f, FALSE, TRUE);
}

static void
test_group_norm_large_mean (void)
{
  /* 1000 + noise of ±1e-3: the variance (~3e-7) is 1e-13 of the squared mean, so summing x and
   * x² in float, or even centring on a float mean, would lose it. */
  g_autoptr (GRand) rng = jd_test_rng ();
  for (gsize i = 0; i < G_N_ELEMENTS (group_cases); i++)
    {
      check_group_norm (rng, &group_cases[i], 1000.0f, 1e-3f, 1e-12f, TRUE, FALSE);
      check_group_norm (rng, &group_cases[i], -1000.0f, 1e-2f, 1e-10f, FALSE, TRUE);
    }
}

static void
test_layer_norm (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  const TestShape shapes[] = {
    { 1, { 7 } }, { 2, { 3, 1 } }, { 3, { 2, 5, 33 } }, { 2, { 64, 1024 } }, { 4, { 2, 1, 3, 9 } },
    { 5, { 1, 2, 1, 3, 17 } },
  };
  const struct { float offset, spread, eps; } data[] = {
    { 0.2f, 2.0f, 1e-5f }, { 1000.0f, 1e-3f, 1e-12f }, { 0.0f, 0.1f, 0.05f },
  };
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (gsize d = 0; d < G_N_ELEMENTS (data); d++)
      for (int affine = 0; affine < 4; affine++)
        {
          const int64_t width = shapes[s].d[shapes[s].ndim - 1];
          g_autoptr (JdTensor) x = test_random (rng, data[d].offset - data[d].spread,
                                                data[d].offset + data[d].spread, shapes[s]);
          const TestShape vector = TEST_SHAPE (width);
          g_autoptr (JdTensor) gamma = affine & 1 ? test_random (rng, 0.5f, 1.5f, vector) : NULL;
          g_autoptr (JdTensor) beta = affine & 2 ? test_random (rng, -1.0f, 1.0f, vector) : NULL;
          g_autoptr (JdTensor) y = test_poisoned (shapes[s]);
          g_autoptr (GError) error = NULL;
          g_assert_true (jd_layer_norm (be, x, gamma, beta, data[d].eps, y, &error));
          g_assert_no_error (error);

          const int64_t n = jd_tensor_numel (x);
          g_autofree double *ref = test_doubles (n);
          const float *xs = x->data;
          const float *gs = gamma ? gamma->data : NULL, *bs = beta ? beta->data : NULL;
          for (int64_t r = 0; r < n / width; r++)
            {
              double mean, variance;
              reference_moments (xs + r * width, width, &mean, &variance);
              for (int64_t i = 0; i < width; i++)
                ref[r * width + i] = ((double) xs[r * width + i] - mean)
                                     / sqrt (variance + data[d].eps) * (gs ? gs[i] : 1.0)
                                     + (bs ? bs[i] : 0.0);
            }
          /* A width of 1 normalises to exactly beta (or 0): the relative measure needs a
           * non-zero reference, so compare directly there. */
          if (width == 1 && beta == NULL)
            {
              for (int64_t i = 0; i < n; i++)
                g_assert_cmpfloat (((float *) y->data)[i], ==, 0.0f);
              continue;
            }
          jd_test_assert_close (y->data, ref, n, 1e-5);
        }
}

static void
test_invalid_arguments (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  g_autoptr (JdTensor) x = test_random (rng, -1, 1, TEST_SHAPE (2, 6, 3, 3));
  g_autoptr (JdTensor) y = test_poisoned (TEST_SHAPE (2, 6, 3, 3));
  g_autoptr (JdTensor) wrong = test_poisoned (TEST_SHAPE (2, 6, 3, 4));
  g_autoptr (JdTensor) g6 = test_random (rng, -1, 1, TEST_SHAPE (6));
  g_autoptr (JdTensor) g5 = test_random (rng, -1, 1, TEST_SHAPE (5));
  g_autoptr (JdTensor) g3 = test_random (rng, -1, 1, TEST_SHAPE (3));
  g_autoptr (JdTensor) g2d = test_random (rng, -1, 1, TEST_SHAPE (1, 6));
  g_autoptr (JdTensor) flat = test_random (rng, -1, 1, TEST_SHAPE (6));
  g_autoptr (GError) error = NULL;
  g_autoptr (JdTensor) host = jd_tensor_new_f32 (NULL, &error, 4, (int64_t) 2, (int64_t) 6,
                                                 (int64_t) 3, (int64_t) 3);
  g_assert_no_error (error);

  const char *gn = "group norm", *ln = "layer norm";
  const JdUnaryKind ID = JD_UNARY_IDENTITY;
  test_assert_refused (jd_group_norm (be, x, g6, g6, 4, 1e-5f, ID, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, g6, g6, 0, 1e-5f, ID, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, g6, g6, -3, 1e-5f, ID, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, g6, g6, 3, 0.0f, ID, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, g6, g6, 3, -1e-5f, ID, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, g6, g6, 3, NAN, ID, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, g5, g6, 3, 1e-5f, ID, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, g6, g2d, 3, 1e-5f, ID, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, g6, g6, 3, 1e-5f, ID, wrong, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, g6, g6, 3, 1e-5f, JD_UNARY_GELU, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, flat, NULL, NULL, 1, 1e-5f, ID, flat, error_out), gn);
  test_assert_refused (jd_group_norm (be, host, NULL, NULL, 3, 1e-5f, ID, y, error_out), gn);
  test_assert_refused (jd_group_norm (be, x, NULL, NULL, 3, 1e-5f, ID, NULL, error_out), gn);
  test_assert_refused (jd_layer_norm (be, x, g3, g3, 0.0f, y, error_out), ln);
  test_assert_refused (jd_layer_norm (be, x, g6, NULL, 1e-5f, y, error_out), ln);
  test_assert_refused (jd_layer_norm (be, x, NULL, g5, 1e-5f, y, error_out), ln);
  test_assert_refused (jd_layer_norm (be, x, g3, g3, 1e-5f, wrong, error_out), ln);
  test_assert_refused (jd_layer_norm (be, host, NULL, NULL, 1e-5f, y, error_out), ln);
  test_assert_refused (jd_layer_norm (be, NULL, NULL, NULL, 1e-5f, y, error_out), ln);
  const float *o = y->data;
  for (int i = 0; i < 2 * 6 * 9; i++)
    g_assert_true (isnan (o[i]));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/norm/group/shapes", test_group_norm_shapes);
  g_test_add_func ("/norm/group/eps", test_group_norm_eps);
  g_test_add_func ("/norm/group/large-mean", test_group_norm_large_mean);
  g_test_add_func ("/norm/layer", test_layer_norm);
  g_test_add_func ("/norm/invalid-arguments", test_invalid_arguments);
  return g_test_run ();
}

/* Rotary position embedding and sinusoidal timestep embedding against float64 references. */
#include <math.h>

#include "test-ops-common.h"

/* --- RoPE --- */

typedef struct {
  int64_t batch, length;
  int     heads, head_dim, n_axes;
  int     axis_dims[JD_ROPE_MAX_AXES];
  float   base;
} RopeCase;

static void
reference_rope (const RopeCase *c, const float *x, const float *positions, double *out)
{
  const int64_t width = (int64_t) c->heads * c->head_dim;
  for (int64_t b = 0; b < c->batch; b++)
    for (int64_t l = 0; l < c->length; l++)
      for (int h = 0; h < c->heads; h++)
        {
          const int64_t at = (b * c->length + l) * width + (int64_t) h * c->head_dim;
          for (int i = 0; i < c->head_dim; i++)
            out[at + i] = x[at + i];
          int start = 0;
          for (int a = 0; a < c->n_axes; a++)
            {
              const int d = c->axis_dims[a];
              for (int j = 0; j < d / 2; j++)
                {
                  double theta = (double) positions[l * c->n_axes + a]
                                 * pow ((double) c->base, -2.0 * j / d);
                  double x0 = x[at + start + 2 * j], x1 = x[at + start + 2 * j + 1];
                  out[at + start + 2 * j] = x0 * cos (theta) - x1 * sin (theta);
                  out[at + start + 2 * j + 1] = x0 * sin (theta) + x1 * cos (theta);
                }
              start += d;
            }
        }
}

/* positions (L, n_axes): a grid over the axes (row-major, axis 0 slowest) with sizes `grid`,
 * each coordinate scaled by `step` and shifted by `origin`. */
static JdTensor *
grid_positions (const RopeCase *c, const int64_t *grid, float origin, float step)
{
  g_autoptr (GError) error = NULL;
  JdTensor *p = jd_tensor_new_f32 (jd_test_backend (), &error, 2, c->length, (int64_t) c->n_axes);
  g_assert_no_error (error);
  float *ps = p->data;
  for (int64_t l = 0; l < c->length; l++)
    {
      int64_t rest = l;
      for (int a = c->n_axes - 1; a >= 0; a--)
        {
          ps[l * c->n_axes + a] = origin + step * (float) (rest % grid[a]);
          rest /= grid[a];
        }
    }
  return p;
}

static void
check_rope (GRand *rng, const RopeCase *c, const JdTensor *positions, gboolean in_place)
{
  JdBackend *be = jd_test_backend ();
  const TestShape shape = TEST_SHAPE (c->batch, c->length, (int64_t) c->heads * c->head_dim);
  g_autoptr (JdTensor) x = test_random (rng, -1.0f, 1.0f, shape);
  g_autoptr (JdTensor) out = in_place ? NULL : test_poisoned (shape);
  JdTensor *dst = in_place ? x : out;
  const int64_t n = test_shape_numel (shape);
  g_autofree double *ref = test_doubles (n);
  reference_rope (c, x->data, positions->data, ref);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_rope (be, x, positions, c->heads, c->n_axes, c->axis_dims, c->base, dst,
                          &error));
  g_assert_no_error (error);
  jd_test_assert_close (dst->data, ref, n, 1e-5);

  /* The dims past the rotated ones are copied bit for bit. */
  int rotated = 0;
  for (int a = 0; a < c->n_axes; a++)
    rotated += c->axis_dims[a];
  const float *ds = dst->data;
  for (int64_t row = 0; row < c->batch * c->length * c->heads; row++)
    for (int i = rotated; i < c->head_dim; i++)
      g_assert_cmpfloat (ds[row * c->head_dim + i], ==, (float) ref[row * c->head_dim + i]);
}

static void
test_rope_1d (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  const RopeCase cases[] = {
    { 2, 7, 3, 10, 1, { 8 }, 10000.0f },       /* tail of 2 untouched */
    { 1, 1, 1, 2, 1, { 2 }, 10000.0f },
    { 3, 5, 2, 6, 1, { 0 }, 10000.0f },        /* nothing rotated */
    { 2, 300, 8, 64, 1, { 64 }, 10000.0f },    /* threads */
    { 1, 9, 5, 18, 1, { 18 }, 500.0f },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const int64_t grid[1] = { cases[i].length };
      g_autoptr (JdTensor) integer = grid_positions (&cases[i], grid, 0.0f, 1.0f);
      g_autoptr (JdTensor) fractional = grid_positions (&cases[i], grid, 0.37f, 0.8125f);
      g_autoptr (JdTensor) far = grid_positions (&cases[i], grid, 1000.3f, 1.5f);
      check_rope (rng, &cases[i], integer, FALSE);
      check_rope (rng, &cases[i], fractional, FALSE);
      check_rope (rng, &cases[i], far, TRUE);
    }
}

static void
test_rope_2d (void)
{
  /* (time, frequency) grids as an audio transformer uses them. */
  g_autoptr (GRand) rng = jd_test_rng ();
  const RopeCase cases[] = {
    { 2, 12, 2, 16, 2, { 8, 8 }, 10000.0f },
    { 1, 15, 3, 14, 2, { 6, 4 }, 10000.0f },   /* unequal split, tail of 4 */
    { 1, 64, 4, 32, 2, { 16, 16 }, 100.0f },
  };
  const int64_t grids[][2] = { { 3, 4 }, { 5, 3 }, { 8, 8 } };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JdTensor) p = grid_positions (&cases[i], grids[i], 0.0f, 1.0f);
      g_autoptr (JdTensor) q = grid_positions (&cases[i], grids[i], 2.5f, 0.25f);
      check_rope (rng, &cases[i], p, FALSE);
      check_rope (rng, &cases[i], q, TRUE);
    }
}

static void
test_rope_3d (void)
{
  /* (t, h, w) grids of video latents. */
  g_autoptr (GRand) rng = jd_test_rng ();
  const RopeCase cases[] = {
    { 1, 24, 4, 24, 3, { 8, 8, 8 }, 10000.0f },
    { 2, 30, 2, 20, 3, { 4, 6, 6 }, 10000.0f },  /* tail of 4 */
    { 1, 1, 1, 6, 3, { 2, 2, 2 }, 10000.0f },
  };
  const int64_t grids[][3] = { { 2, 3, 4 }, { 5, 3, 2 }, { 1, 1, 1 } };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JdTensor) p = grid_positions (&cases[i], grids[i], 0.0f, 1.0f);
      g_autoptr (JdTensor) q = grid_positions (&cases[i], grids[i], 7.75f, 1.5f);
      check_rope (rng, &cases[i], p, FALSE);
      check_rope (rng, &cases[i], q, FALSE);
    }
}

static double
dot (const float *a, const float *b, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

static void
test_rope_relative (void)
{
  /* ⟨rope(q, p), rope(k, r)⟩ depends only on p − r: rows [q, k, q, k] at positions
   * [p, r, p + s, r + s] give equal products for the two pairs, for any shift s. */
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  const int dim = 24, axis_dims[3] = { 8, 8, 8 };
  g_autoptr (JdTensor) x = test_random (rng, -1.0f, 1.0f, TEST_SHAPE (1, 4, dim));
  g_autoptr (JdTensor) y = test_poisoned (TEST_SHAPE (1, 4, dim));
  g_autoptr (JdTensor) positions = test_random (rng, 0.0f, 1.0f, TEST_SHAPE (4, 3));
  float *xs = x->data, *ps = positions->data;
  memcpy (xs + 2 * dim, xs, 2 * dim * sizeof (float));
  for (int trial = 0; trial < 20; trial++)
    {
      for (int a = 0; a < 3; a++)
        {
          ps[0 * 3 + a] = (float) g_rand_double_range (rng, -50, 50);
          ps[1 * 3 + a] = (float) g_rand_double_range (rng, -50, 50);
          float shift = (float) g_rand_int_range (rng, -200, 200);
          ps[2 * 3 + a] = ps[0 * 3 + a] + shift;
          ps[3 * 3 + a] = ps[1 * 3 + a] + shift;
        }
      g_autoptr (GError) error = NULL;
      g_assert_true (jd_rope (be, x, positions, 1, 3, axis_dims, 10000.0f, y, &error));
      g_assert_no_error (error);
      const float *ys = y->data;
      double first = dot (ys, ys + dim, dim), second = dot (ys + 2 * dim, ys + 3 * dim, dim);
      double scale = sqrt (dot (xs, xs, dim) * dot (xs + dim, xs + dim, dim));
      g_assert_cmpfloat (fabs (first - second), <=, 1e-5 * scale);
      /* ... and the rotation did something: the product differs from the unrotated one. */
      g_assert_cmpfloat (fabs (first - dot (xs, xs + dim, dim)), >, 1e-3 * scale);
    }
}

/* --- timestep embedding --- */

static void
reference_timestep (const float *t, int64_t n, int dim, gboolean flip, double shift,
                    double scale, double max_period, double *out)
{
  const int half = dim / 2;
  for (int64_t r = 0; r < n; r++)
    {
      double *row = out + r * dim;
      for (int i = 0; i < half; i++)
        {
          double arg = scale * t[r] * exp (-log (max_period) * i / (half - shift));
          row[flip ? half + i : i] = sin (arg);
          row[flip ? i : half + i] = cos (arg);
        }
      if (dim % 2)
        row[dim - 1] = 0.0;
    }
}

static void
check_timestep (const JdTensor *t, int dim, gboolean flip, float shift, float scale,
                float max_period)
{
  const int64_t n = t->shape[0];
  g_autoptr (JdTensor) y = test_poisoned (TEST_SHAPE (n, dim));
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_timestep_embedding (jd_test_backend (), t, dim, flip, shift, scale,
                                        max_period, y, &error));
  g_assert_no_error (error);
  g_autofree double *ref = test_doubles (n * dim);
  reference_timestep (t->data, n, dim, flip, shift, scale, max_period, ref);
  jd_test_assert_close (y->data, ref, n * dim, 1e-6);
  if (dim % 2)
    for (int64_t r = 0; r < n; r++)
      g_assert_cmpfloat (((float *) y->data)[r * dim + dim - 1], ==, 0.0f);
}

static void
test_timestep_known_settings (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  /* SVD: 320 dims, flip_sin_to_cos, shift 0, timesteps c_noise = 0.25·ln σ. */
  const double sigmas[] = { 0.002, 0.03, 0.5, 1.0, 7.3, 80.0, 700.0 };
  g_autoptr (JdTensor) svd_t = test_poisoned (TEST_SHAPE (G_N_ELEMENTS (sigmas)));
  for (gsize i = 0; i < G_N_ELEMENTS (sigmas); i++)
    ((float *) svd_t->data)[i] = (float) (0.25 * log (sigmas[i]));
  check_timestep (svd_t, 320, TRUE, 0.0f, 1.0f, 10000.0f);

  /* AudioLDM2: 128 dims, flip_sin_to_cos, shift 0, integer timesteps 0..999. */
  g_autoptr (JdTensor) int_t = test_poisoned (TEST_SHAPE (9));
  for (int i = 0; i < 9; i++)
    ((float *) int_t->data)[i] = (float) g_rand_int_range (rng, 0, 1000);
  ((float *) int_t->data)[0] = 999.0f;
  ((float *) int_t->data)[1] = 1.0f;
  check_timestep (int_t, 128, TRUE, 0.0f, 1.0f, 10000.0f);

  /* diffusers' defaults elsewhere: no flip, shift 1. */
  check_timestep (int_t, 320, FALSE, 1.0f, 1.0f, 10000.0f);
}

static void
test_timestep_options (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autoptr (JdTensor) t = test_random (rng, -3.0f, 900.0f, TEST_SHAPE (5));
  const int dims[] = { 1, 2, 3, 7, 64, 257 };
  for (gsize d = 0; d < G_N_ELEMENTS (dims); d++)
    for (int flip = 0; flip < 2; flip++)
      {
        if (dims[d] == 1)
          {
            /* dim 1: no frequencies, one zero column. */
            g_autoptr (JdTensor) y = test_poisoned (TEST_SHAPE (5, 1));
            g_autoptr (GError) error = NULL;
            g_assert_true (jd_timestep_embedding (jd_test_backend (), t, 1, flip, 1.0f, 1.0f,
                                                  10000.0f, y, &error));
            for (int i = 0; i < 5; i++)
              g_assert_cmpfloat (((float *) y->data)[i], ==, 0.0f);
            continue;
          }
        /* shift 1 with one frequency divides by zero; refused, see test_invalid_arguments */
        if (dims[d] / 2 != 1)
          check_timestep (t, dims[d], flip, 1.0f, 1.0f, 10000.0f);
        check_timestep (t, dims[d], flip, 0.0f, 2.5f, 1000.0f);
        check_timestep (t, dims[d], flip, 0.5f, 0.1f, 50.0f);
      }
}

static void
test_timestep_known_answer (void)
{
  /* dim 4, no flip, shift 1: frequencies 1 and 1/10000, so t = 1 gives
   * [sin 1, sin 1e-4, cos 1, cos 1e-4]; flipped, cos first. */
  g_autoptr (JdTensor) t = test_poisoned (TEST_SHAPE (1));
  ((float *) t->data)[0] = 1.0f;
  g_autoptr (JdTensor) y = test_poisoned (TEST_SHAPE (1, 4));
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_timestep_embedding (jd_test_backend (), t, 4, FALSE, 1.0f, 1.0f, 10000.0f,
                                        y, &error));
  const float *ys = y->data;
  g_assert_cmpfloat_with_epsilon (ys[0], sin (1.0), 1e-7);
  g_assert_cmpfloat_with_epsilon (ys[1], sin (1e-4), 1e-10);
  g_assert_cmpfloat_with_epsilon (ys[2], cos (1.0), 1e-7);
  g_assert_cmpfloat_with_epsilon (ys[3], cos (1e-4), 1e-7);
  g_assert_true (jd_timestep_embedding (jd_test_backend (), t, 4, TRUE, 1.0f, 1.0f, 10000.0f,
                                        y, &error));
  g_assert_cmpfloat_with_epsilon (ys[0], cos (1.0), 1e-7);
  g_assert_cmpfloat_with_epsilon (ys[3], sin (1e-4), 1e-10);
}

static void
test_invalid_arguments (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  g_autoptr (JdTensor) x = test_random (rng, -1, 1, TEST_SHAPE (2, 6, 24));
  g_autoptr (JdTensor) y = test_poisoned (TEST_SHAPE (2, 6, 24));
  g_autoptr (JdTensor) wrong = test_poisoned (TEST_SHAPE (2, 6, 25));
  g_autoptr (JdTensor) x2 = test_random (rng, -1, 1, TEST_SHAPE (6, 24));
  g_autoptr (JdTensor) p2 = test_random (rng, 0, 5, TEST_SHAPE (6, 2));
  g_autoptr (JdTensor) p_short = test_random (rng, 0, 5, TEST_SHAPE (5, 2));
  g_autoptr (JdTensor) p1d = test_random (rng, 0, 5, TEST_SHAPE (12));
  const char *rp = "rotary embedding", *ts = "timestep embedding";
  const int dims[3] = { 4, 4, 4 }, odd[2] = { 4, 3 }, big[2] = { 8, 6 }, neg[2] = { -2, 4 };

  test_assert_refused (jd_rope (be, x2, p2, 2, 2, dims, 10000, x2, error_out), rp);
  test_assert_refused (jd_rope (be, x, p_short, 2, 2, dims, 10000, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p1d, 2, 2, dims, 10000, y, error_out), rp);
  /* one axis declared, two in the table */
  test_assert_refused (jd_rope (be, x, p2, 2, 1, dims, 10000, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 2, 0, dims, 10000, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 2, 4, dims, 10000, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 0, 2, dims, 10000, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 5, 2, dims, 10000, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 2, 2, odd, 10000, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 2, 2, neg, 10000, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 2, 2, big, 10000, y, error_out), rp);  /* 14 > 12 */
  test_assert_refused (jd_rope (be, x, p2, 2, 2, dims, 0, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 2, 2, dims, INFINITY, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 2, 2, dims, 10000, wrong, error_out), rp);
  test_assert_refused (jd_rope (be, x, p2, 2, 2, NULL, 10000, y, error_out), rp);
  test_assert_refused (jd_rope (be, x, NULL, 2, 2, dims, 10000, y, error_out), rp);

  g_autoptr (JdTensor) t = test_random (rng, 0, 999, TEST_SHAPE (3));
  g_autoptr (JdTensor) t2 = test_random (rng, 0, 999, TEST_SHAPE (3, 1));
  g_autoptr (JdTensor) e = test_poisoned (TEST_SHAPE (3, 8));
  g_autoptr (JdTensor) e_wrong = test_poisoned (TEST_SHAPE (3, 9));
  test_assert_refused (jd_timestep_embedding (be, t, 0, TRUE, 0, 1, 10000, e, error_out), ts);
  test_assert_refused (jd_timestep_embedding (be, t, -8, TRUE, 0, 1, 10000, e, error_out), ts);
  test_assert_refused (jd_timestep_embedding (be, t2, 8, TRUE, 0, 1, 10000, e, error_out), ts);
  test_assert_refused (jd_timestep_embedding (be, t, 8, TRUE, 0, 1, 10000, e_wrong, error_out), ts);
  test_assert_refused (jd_timestep_embedding (be, t, 8, TRUE, 0, 1, 0, e, error_out), ts);
  test_assert_refused (jd_timestep_embedding (be, t, 8, TRUE, 4, 1, 10000, e, error_out), ts);
  test_assert_refused (jd_timestep_embedding (be, t, 8, TRUE, 0, NAN, 10000, e, error_out), ts);
  test_assert_refused (jd_timestep_embedding (be, NULL, 8, TRUE, 0, 1, 10000, e, error_out), ts);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/position/rope/1d", test_rope_1d);
  g_test_add_func ("/position/rope/2d", test_rope_2d);
  g_test_add_func ("/position/rope/3d", test_rope_3d);
  g_test_add_func ("/position/rope/relative", test_rope_relative);
  g_test_add_func ("/position/timestep/known-settings", test_timestep_known_settings);
  g_test_add_func ("/position/timestep/options", test_timestep_options);
  g_test_add_func ("/position/timestep/known-answer", test_timestep_known_answer);
  g_test_add_func ("/position/invalid-arguments", test_invalid_arguments);
  return g_test_run ();
}

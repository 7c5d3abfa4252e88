/* The unified timestep: EDM σ and DDPM ᾱ schedules, the sampling grid, the step algebra. */
#include <math.h>
#include <string.h>

#include "jd-error.h"
#include "jd-schedule.h"
#include "test-util.h"

static JdSchedule *
default_schedule (void)
{
  JdScheduleConfig config;
  jd_schedule_config_init_default (&config);
  g_autoptr (GError) error = NULL;
  JdSchedule *schedule = jd_schedule_new (&config, &error);
  g_assert_no_error (error);
  return schedule;
}

static void
test_normal_quantile (void)
{
  g_assert_cmpfloat (fabs (jd_normal_quantile (0.975) - 1.959963984540054), <, 1e-13);
  g_assert_cmpfloat (fabs (jd_normal_quantile (0.5)), <, 1e-15);
  g_assert_true (isinf (jd_normal_quantile (0.0)) && jd_normal_quantile (0.0) < 0);
  g_assert_true (isnan (jd_normal_quantile (1.5)));
  /* Φ(Φ⁻¹(p)) = p on random p spanning many decades, and the symmetry Φ⁻¹(1−p) = −Φ⁻¹(p). */
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 2000; i++)
    {
      double p = pow (10.0, -g_rand_double_range (rng, 0.31, 14.0));
      double x = jd_normal_quantile (p);
      g_assert_cmpfloat (fabs (jd_normal_cdf (x) - p), <=, 1e-12 * p);
      g_assert_cmpfloat (fabs (jd_normal_quantile (1.0 - p) + jd_normal_quantile (1.0 - (1.0 - p))),
                         <, 1e-6);
    }
}

static void
test_alpha_bar (void)
{
  g_autoptr (JdSchedule) schedule = default_schedule ();
  /* scaled linear: √β linear from √0.0015 to √0.0195 over 1000 steps */
  long double product = 1.0L;
  for (int i = 0; i < 1000; i++)
    {
      long double root = sqrtl (0.0015L) + (sqrtl (0.0195L) - sqrtl (0.0015L)) * i / 999.0L;
      product *= 1.0L - root * root;
      g_assert_cmpfloat (fabs (schedule->alpha_bar[i] - (double) product), <=,
                         1e-13 * (double) product);
      if (i > 0)
        g_assert_cmpfloat (schedule->alpha_bar[i], <, schedule->alpha_bar[i - 1]);
    }
  g_assert_cmpfloat (fabs (schedule->alpha_bar[0] - 0.9985), <, 1e-15);
}

static void
test_training_map (void)
{
  g_autoptr (JdSchedule) schedule = default_schedule ();
  g_assert_cmpint (jd_schedule_audio_index (schedule, 1.0), ==, 999);
  g_assert_cmpint (jd_schedule_audio_index (schedule, 0.0005), ==, 0);
  g_assert_cmpint (jd_schedule_audio_index (schedule, 0.5), ==, 499);
  g_assert_cmpint (jd_schedule_audio_index (schedule, 0.5001), ==, 500);
  /* ln σ = P_mean + P_std Φ⁻¹(t): at t = ½ the median σ is e^0.7 */
  g_assert_cmpfloat (fabs (jd_schedule_sigma (schedule, 0.5) - exp (0.7)), <, 1e-12);
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 1000; i++)
    {
      double t = g_rand_double_range (rng, 1e-6, 1.0 - 1e-6);
      double sigma = jd_schedule_sigma (schedule, t);
      g_assert_cmpfloat (fabs (jd_schedule_t_uni_of_sigma (schedule, sigma) - t), <, 1e-12);
      double expected = exp (0.7 + 1.6 * jd_normal_quantile (t));
      g_assert_cmpfloat (fabs (sigma - expected), <=, 1e-14 * expected);
    }
}

static void
check_grid (const JdSchedule *schedule, int n)
{
  g_autofree JdSchedulePoint *points = g_new (JdSchedulePoint, n);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_schedule_make_grid (schedule, n, points, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (points[0].sigma - 700.0), <, 1e-9 * 700.0);
  if (n > 1)
    g_assert_cmpfloat (points[n - 1].sigma, <, 0.01);
  for (int i = 0; i < n; i++)
    {
      /* every point lies on the training map */
      g_assert_cmpint (points[i].audio_index, ==, jd_schedule_audio_index (schedule, points[i].t_uni));
      g_assert_cmpfloat (points[i].sigma, ==, jd_schedule_sigma (schedule, points[i].t_uni));
      g_assert_cmpfloat (points[i].alpha_bar, ==, schedule->alpha_bar[points[i].audio_index]);
      if (i > 0)
        {
          g_assert_cmpfloat (points[i].t_uni, <, points[i - 1].t_uni);
          g_assert_cmpfloat (points[i].sigma, <, points[i - 1].sigma);
          g_assert_cmpint (points[i].audio_index, <, points[i - 1].audio_index);
        }
    }
}

static void
test_grid (void)
{
  g_autoptr (JdSchedule) schedule = default_schedule ();
  const int counts[] = { 1, 2, 4, 25, 50, 200, 999 };
  for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
    check_grid (schedule, counts[i]);

  /* The default map spans audio indices 0..999: 1000 distinct points at most. */
  g_autoptr (GError) error = NULL;
  JdSchedulePoint points[1];
  g_assert_false (jd_schedule_make_grid (schedule, 0, points, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_autofree JdSchedulePoint *many = g_new (JdSchedulePoint, 2000);
  g_assert_false (jd_schedule_make_grid (schedule, 2000, many, &error));
  g_assert_nonnull (strstr (error->message, "2000"));
}

static void
test_invalid_config (void)
{
  JdScheduleConfig config;
  jd_schedule_config_init_default (&config);
  config.sigma_min = 800;
  g_autoptr (GError) error = NULL;
  g_assert_null (jd_schedule_new (&config, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  jd_schedule_config_init_default (&config);
  config.beta_end = 1.5;
  g_assert_null (jd_schedule_new (&config, &error));
  g_assert_nonnull (strstr (error->message, "β"));
}

static void
test_steps_are_exact_for_a_point_mass (void)
{
  /* With the true x̂₀ of a one-point data distribution, both samplers land exactly on the next
   * noise level's marginal: EDM x = x₀ + σ n, DDPM x = √ᾱ x₀ + √(1−ᾱ) ε. */
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 200; i++)
    {
      double x0 = g_rand_double_range (rng, -3, 3), n = g_rand_double_range (rng, -3, 3);
      double sigma = exp (g_rand_double_range (rng, -6, 6)), sigma_next = sigma * 0.37;
      JdLinearStep euler = jd_edm_euler_step (sigma, sigma_next);
      double x = x0 + sigma * n;
      g_assert_cmpfloat (fabs (euler.a * x + euler.b * x0 - (x0 + sigma_next * n)), <,
                         1e-12 * (fabs (x) + 1));

      double ab = g_rand_double_range (rng, 0.01, 0.9), ab_prev = MIN (0.999, ab * 1.1);
      JdLinearStep ddim = jd_ddim_step (ab, ab_prev);
      double xa = sqrt (ab) * x0 + sqrt (1 - ab) * n;
      g_assert_cmpfloat (fabs (ddim.a * xa + ddim.b * x0
                               - (sqrt (ab_prev) * x0 + sqrt (1 - ab_prev) * n)), <, 1e-12);

      /* ε-prediction and v-prediction recover x₀ from their exact targets */
      JdLinearStep from_eps = jd_eps_prediction_to_x0 (ab);
      g_assert_cmpfloat (fabs (from_eps.a * xa + from_eps.b * n - x0), <, 1e-10);
      double c_skip = 1 / (sigma * sigma + 1), c_out = -sigma / sqrt (sigma * sigma + 1);
      double v_target = (x0 - c_skip * x) / c_out;
      JdLinearStep from_v = jd_v_prediction_to_x0 (sigma);
      g_assert_cmpfloat (fabs (from_v.a * x + from_v.b * v_target - x0), <, 1e-9 * (1 + fabs (x)));
    }
  g_assert_cmpfloat (fabs (jd_edm_c_noise (M_E) - 0.25), <, 1e-15);
  g_assert_cmpfloat (fabs (jd_edm_c_in (1.0) - 1 / G_SQRT2), <, 1e-15);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/schedule/normal-quantile", test_normal_quantile);
  g_test_add_func ("/schedule/alpha-bar", test_alpha_bar);
  g_test_add_func ("/schedule/training-map", test_training_map);
  g_test_add_func ("/schedule/grid", test_grid);
  g_test_add_func ("/schedule/invalid-config", test_invalid_config);
  g_test_add_func ("/schedule/steps-exact", test_steps_are_exact_for_a_point_mass);
  return g_test_run ();
}

#include "jd-schedule.h"

#include <math.h>

#include "jd-error.h"

void
jd_schedule_config_init_default (JdScheduleConfig *config)
{
  *config = (JdScheduleConfig) {
    .sigma_min = 0.002,
    .sigma_max = 700.0,
    .p_mean = 0.7,
    .p_std = 1.6,
    .train_steps = 1000,
    .beta_schedule = JD_BETA_SCALED_LINEAR,
    .beta_start = 0.0015,
    .beta_end = 0.0195,
  };
}

double
jd_normal_cdf (double x)
{
  return 0.5 * erfc (-x / G_SQRT2);
}

double
jd_normal_quantile (double p)
{
  if (!(p > 0.0 && p < 1.0))
    return p == 0.0 ? -INFINITY : p == 1.0 ? INFINITY : NAN;

  /* Newton on Φ(x) − p, safeguarded by bisection; Φ' is the normal density. Work on the
   * lower tail (p ≤ ½) where erfc keeps full relative precision, and mirror. */
  gboolean upper = p > 0.5;
  double q = upper ? 1.0 - p : p;
  double lo = -40.0, hi = 0.0;
  double x = -sqrt (-2.0 * log (q)); /* a start inside the bracket */
  for (int i = 0; i < 100; i++)
    {
      double f = jd_normal_cdf (x) - q;
      if (f > 0)
        hi = x;
      else
        lo = x;
      double density = exp (-0.5 * x * x) / sqrt (2.0 * G_PI);
      double next = density > 0 ? x - f / density : 0.5 * (lo + hi);
      if (!(next > lo && next < hi))
        next = 0.5 * (lo + hi);
      if (fabs (next - x) <= 1e-15 * MAX (1.0, fabs (x)))
        {
          x = next;
          break;
        }
      x = next;
    }
  return upper ? -x : x;
}

JdSchedule *
jd_schedule_new (const JdScheduleConfig *config,
                 GError                **error)
{
  const char *problem = NULL;
  if (!(config->sigma_min > 0 && config->sigma_max > config->sigma_min
        && isfinite (config->sigma_max)))
    problem = "σ_min and σ_max must satisfy 0 < σ_min < σ_max";
  else if (!(config->p_std > 0 && isfinite (config->p_std) && isfinite (config->p_mean)))
    problem = "P_std must be positive and P_mean finite";
  else if (config->train_steps < 1 || config->train_steps > 100000)
    problem = "the audio schedule must have 1 to 100000 training steps";
  else if (!(config->beta_start > 0 && config->beta_end >= config->beta_start
             && config->beta_end < 1))
    problem = "β must satisfy 0 < β_start ≤ β_end < 1";
  else if (config->beta_schedule != JD_BETA_LINEAR
           && config->beta_schedule != JD_BETA_SCALED_LINEAR)
    problem = "the β schedule must be linear or scaled linear";
  if (problem != NULL)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT, "Invalid noise schedule: %s",
                   problem);
      return NULL;
    }

  JdSchedule *schedule = g_new0 (JdSchedule, 1);
  schedule->config = *config;
  int steps = config->train_steps;
  schedule->alpha_bar = g_new (double, steps);
  double product = 1.0;
  for (int i = 0; i < steps; i++)
    {
      double fraction = steps > 1 ? (double) i / (steps - 1) : 0.0;
      double beta;
      if (config->beta_schedule == JD_BETA_SCALED_LINEAR)
        {
          double root = sqrt (config->beta_start)
                        + fraction * (sqrt (config->beta_end) - sqrt (config->beta_start));
          beta = root * root;
        }
      else
        beta = config->beta_start + fraction * (config->beta_end - config->beta_start);
      product *= 1.0 - beta;
      schedule->alpha_bar[i] = product;
    }
  return schedule;
}

void
jd_schedule_free (JdSchedule *schedule)
{
  if (schedule == NULL)
    return;
  g_free (schedule->alpha_bar);
  g_free (schedule);
}

double
jd_schedule_sigma (const JdSchedule *schedule,
                   double            t_uni)
{
  const JdScheduleConfig *c = &schedule->config;
  return exp (c->p_mean + c->p_std * jd_normal_quantile (t_uni));
}

double
jd_schedule_t_uni_of_sigma (const JdSchedule *schedule,
                            double            sigma)
{
  const JdScheduleConfig *c = &schedule->config;
  return jd_normal_cdf ((log (sigma) - c->p_mean) / c->p_std);
}

int
jd_schedule_audio_index (const JdSchedule *schedule,
                         double            t_uni)
{
  int steps = schedule->config.train_steps;
  int index = (int) ceil (steps * t_uni) - 1;
  return CLAMP (index, 0, steps - 1);
}

JdSchedulePoint
jd_schedule_point (const JdSchedule *schedule,
                   double            t_uni)
{
  int index = jd_schedule_audio_index (schedule, t_uni);
  return (JdSchedulePoint) {
    .t_uni = t_uni,
    .sigma = jd_schedule_sigma (schedule, t_uni),
    .audio_index = index,
    .alpha_bar = schedule->alpha_bar[index],
  };
}

gboolean
jd_schedule_make_grid (const JdSchedule *schedule,
                       int               n_steps,
                       JdSchedulePoint  *points,
                       GError          **error)
{
  double t_hi = jd_schedule_t_uni_of_sigma (schedule, schedule->config.sigma_max);
  double t_lo = jd_schedule_t_uni_of_sigma (schedule, schedule->config.sigma_min);
  int index_hi = jd_schedule_audio_index (schedule, t_hi);
  int index_lo = jd_schedule_audio_index (schedule, t_lo);
  int available = index_hi - index_lo + 1;
  if (n_steps < 1 || n_steps > available)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "The step count must be between 1 and %d for this model's schedule, not %d",
                   available, n_steps);
      return FALSE;
    }

  int steps = schedule->config.train_steps;
  for (int i = 0; i < n_steps; i++)
    {
      double t = n_steps == 1 ? t_hi : t_hi + (t_lo - t_hi) * i / (n_steps - 1);
      JdSchedulePoint point = jd_schedule_point (schedule, t);
      /* The last points must leave room for the ones after them, down to index_lo. */
      int lowest_allowed = index_lo + (n_steps - 1 - i);
      int highest_allowed = i > 0 ? points[i - 1].audio_index - 1 : index_hi;
      int wanted = CLAMP (point.audio_index, lowest_allowed, highest_allowed);
      if (wanted != point.audio_index)
        point = jd_schedule_point (schedule, (wanted + 0.5) / steps);
      points[i] = point;
    }
  return TRUE;
}

JdLinearStep
jd_edm_euler_step (double sigma,
                   double sigma_next)
{
  double d = (sigma_next - sigma) / sigma;
  return (JdLinearStep) { .a = 1.0 + d, .b = -d };
}

JdLinearStep
jd_ddim_step (double alpha_bar,
              double alpha_bar_prev)
{
  double noise_ratio = sqrt (1.0 - alpha_bar_prev) / sqrt (1.0 - alpha_bar);
  return (JdLinearStep) {
    .a = noise_ratio,
    .b = sqrt (alpha_bar_prev) - noise_ratio * sqrt (alpha_bar),
  };
}

JdLinearStep
jd_v_prediction_to_x0 (double sigma)
{
  double s2 = sigma * sigma + 1.0;
  return (JdLinearStep) { .a = 1.0 / s2, .b = -sigma / sqrt (s2) };
}

JdLinearStep
jd_eps_prediction_to_x0 (double alpha_bar)
{
  double root = sqrt (alpha_bar);
  return (JdLinearStep) { .a = 1.0 / root, .b = -sqrt (1.0 - alpha_bar) / root };
}

double
jd_edm_c_in (double sigma)
{
  return 1.0 / sqrt (sigma * sigma + 1.0);
}

double
jd_edm_c_noise (double sigma)
{
  return 0.25 * log (sigma);
}

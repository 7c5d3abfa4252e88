/* jd-schedule.h — the noise schedules of both modalities and the unified timestep that pairs
 * them (paper §3.3–3.4, DESIGN.md §4–§5).
 *
 * One unified timestep t_uni in (0, 1) drives both noise processes:
 *   video (EDM):  ln σ_v = P_mean + P_std · Φ⁻¹(t_uni)
 *   audio (DDPM): index t_a = ⌈T · t_uni⌉ − 1 in 0..T−1, with ᾱ from the β schedule.
 * The sampler walks a decreasing grid of t_uni and gives the denoiser the pair (σ_v, t_a) that
 * this map assigns to each grid point — never unpaired noise levels.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  JD_BETA_LINEAR,         /* β_i linear from β_start to β_end */
  JD_BETA_SCALED_LINEAR,  /* √β_i linear from √β_start to √β_end (AudioLDM2's) */
} JdBetaSchedule;

typedef struct {
  /* video, EDM */
  double sigma_min;       /* 0.002 for SVD */
  double sigma_max;       /* 700 for SVD */
  double p_mean;          /* 0.7 (SVD fine-tuning) */
  double p_std;           /* 1.6 */
  /* audio, DDPM */
  int            train_steps;  /* T = 1000 */
  JdBetaSchedule beta_schedule;
  double         beta_start;   /* 0.0015 for AudioLDM2 */
  double         beta_end;     /* 0.0195 */
} JdScheduleConfig;

typedef struct {
  JdScheduleConfig config;
  double          *alpha_bar;  /* ᾱ_i for i in 0..T−1 */
} JdSchedule;

/* One point of the sampling grid. */
typedef struct {
  double t_uni;
  double sigma;       /* σ_v */
  int    audio_index; /* t_a */
  double alpha_bar;   /* ᾱ at t_a */
} JdSchedulePoint;

/* The published constants of SVD (EDM) and AudioLDM2 (DDPM) that DESIGN.md names. */
void        jd_schedule_config_init_default (JdScheduleConfig *config);

/* Validates config (σ_min < σ_max, both > 0, P_std > 0, 1 ≤ T ≤ 100000, 0 < β_start ≤ β_end < 1)
 * and tabulates ᾱ. */
JdSchedule *jd_schedule_new         (const JdScheduleConfig *config,
                                     GError                **error);
void        jd_schedule_free        (JdSchedule             *schedule);

/* The training map and its inverse on the video side. */
double      jd_schedule_sigma       (const JdSchedule *schedule,
                                     double            t_uni);
double      jd_schedule_t_uni_of_sigma (const JdSchedule *schedule,
                                        double            sigma);
int         jd_schedule_audio_index (const JdSchedule *schedule,
                                     double            t_uni);
JdSchedulePoint jd_schedule_point   (const JdSchedule *schedule,
                                     double            t_uni);

/* The default sampling grid: n_steps points uniform in t_uni from t(σ_max) down to t(σ_min),
 * decreasing, with pairwise distinct audio indices (a point whose index repeats its
 * predecessor's is moved to the next lower index and its t_uni to that index's interval, so
 * the pair stays on the training map). Fails when n_steps is < 1 or exceeds the number of
 * distinct audio indices in the range. points must hold n_steps entries. */
gboolean    jd_schedule_make_grid   (const JdSchedule *schedule,
                                     int               n_steps,
                                     JdSchedulePoint  *points,
                                     GError          **error);

/* Every update here is a linear combination a·x + b·y of the current latent x and one other
 * tensor y. For the sampler steps y is the (guided) clean-latent prediction x̂₀:
 *   EDM Euler, σ → σ_next:  x + (x − x̂₀)/σ · (σ_next − σ)
 *   DDIM (η = 0), ᾱ → ᾱ_prev: √ᾱ_prev · x̂₀ + √(1 − ᾱ_prev) · ε̂,  ε̂ = (x − √ᾱ · x̂₀)/√(1 − ᾱ) */
typedef struct {
  double a;  /* multiplies x */
  double b;  /* multiplies y */
} JdLinearStep;

JdLinearStep jd_edm_euler_step (double sigma,
                                double sigma_next);
JdLinearStep jd_ddim_step      (double alpha_bar,
                                double alpha_bar_prev);

/* The denoisers' parameterisations, as x̂₀ = a·x + b·y with y the network's output:
 *   SVD v-prediction (EDM preconditioning): a = 1/(σ² + 1), b = −σ/√(σ² + 1);
 *   AudioLDM2 ε-prediction: a = 1/√ᾱ, b = −√(1 − ᾱ)/√ᾱ.
 * The network's input scaling c_in = 1/√(σ² + 1) and noise input c_noise = ¼ ln σ are here too. */
JdLinearStep jd_v_prediction_to_x0   (double sigma);
JdLinearStep jd_eps_prediction_to_x0 (double alpha_bar);
double       jd_edm_c_in             (double sigma);
double       jd_edm_c_noise          (double sigma);

/* Φ⁻¹ and Φ of the standard normal, in float64 (exposed for tests). */
double      jd_normal_quantile      (double p);
double      jd_normal_cdf           (double x);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdSchedule, jd_schedule_free)

G_END_DECLS

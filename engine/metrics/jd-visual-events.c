/* jd-visual-events.c — impacts and brightness jumps from frames. */
#include "jd-visual-events.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jd-error.h"

#define FOREGROUND_NOISE 6.0    /* summed RGB levels below which a pixel is background */
#define MIN_MASS_FRACTION 2e-4  /* foreground mass (levels × pixels) / (765 × pixels) */
#define IMPACT_MIN 0.015        /* |Δa| in fractions of the shorter image side */
#define IMPACT_NOISE 1.5        /* … and this many noise deviations (estimated from the quietest
                                 * quarter, which still holds some motion in a busy clip) */
#define BRIGHT_MIN 0.6          /* luma levels */
#define BRIGHT_NOISE 5.0
#define MOVING_PIXELS 0.5       /* centroid speed (pixels per frame) that counts as moving */
#define ACCELERATING_PIXELS 0.3 /* |second difference| that counts as accelerating */
#define QUIET_FRAMES 2          /* motion this close to a brightness jump is ignored */

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (const double *values, gsize n)
{
  if (n == 0)
    return 0;
  g_autofree double *copy = g_memdup2 (values, n * sizeof (double));
  qsort (copy, n, sizeof (double), compare_doubles);
  return n % 2 ? copy[n / 2] : 0.5 * (copy[n / 2 - 1] + copy[n / 2]);
}

static int
compare_bytes (const void *a, const void *b)
{
  return *(const guint8 *) a - *(const guint8 *) b;
}

double
jd_visual_kink_time (const double *w, int k)
{
  double sum = 0, moment = 0;
  for (int j = 0; j < 3; j++)
    if (w[j] > 0)
      sum += w[j], moment += w[j] * (k - 1 + j);
  return sum > 0 ? moment / sum : k;
}

double
jd_visual_step_phase (double b0, double b1, double b2)
{
  /* Excess brightness A·e^(−(t − t0)/τ) after t0 = φ inside frame 0 (frame-averaged):
   * b0 = Aτ(1 − q), b1 = Aτ·q·(1 − r), b2 = b1·r, with r = e^(−1/τ) and q = e^(−(1 − φ)/τ). */
  if (b1 <= 0)
    return 0;
  double r = b2 / b1, rho = b0 / b1;
  if (rho <= 0)
    return 0.999;
  double lit;  /* 1 − φ: the lit part of frame 0 */
  if (r > 0.02 && r < 0.98)
    {
      double tau = -1.0 / log (r);
      double q = 1.0 / (1.0 + (1.0 - r) * rho);
      lit = -tau * log (q);
    }
  else
    lit = rho;  /* a plain step (or no usable decay): the lit fraction is b0 / b1 */
  return 1.0 - CLAMP (lit, 0.0, 1.0) * 0.999999;
}

/* Local maxima of x[1..n-2] (strictly above the left neighbour, at least the right one) that
 * reach limit. */
static gboolean
is_peak (const double *x, gsize n, gsize k, double limit)
{
  return k > 0 && k + 1 < n && x[k] >= limit && x[k] > x[k - 1] && x[k] >= x[k + 1];
}

JdVisualEvent *
jd_visual_events (const guint8 *rgb, gsize n_frames, int width, int height, double fps,
                  gsize *n_events, GError **error)
{
  if (n_frames < 4 || width < 2 || height < 2 || !(fps > 0))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "visual events: %" G_GSIZE_FORMAT " frames of %d×%d at %g fps cannot be "
                   "analysed (need at least 4 frames, 2×2 pixels and a positive frame rate)",
                   n_frames, width, height, fps);
      return NULL;
    }
  const gsize plane = (gsize) width * height, frame_bytes = plane * 3;
  const gsize n = n_frames;

  /* The background: each pixel's median over time, per channel. */
  g_autofree guint8 *background = g_new (guint8, frame_bytes);
  g_autofree guint8 *column = g_new (guint8, n);
  for (gsize i = 0; i < frame_bytes; i++)
    {
      for (gsize k = 0; k < n; k++)
        column[k] = rgb[k * frame_bytes + i];
      qsort (column, n, 1, compare_bytes);
      background[i] = column[n / 2];
    }

  g_autofree double *cx = g_new (double, n);
  g_autofree double *cy = g_new (double, n);
  g_autofree double *mass = g_new (double, n);
  g_autofree double *luma = g_new (double, n);
  for (gsize k = 0; k < n; k++)
    {
      const guint8 *f = rgb + k * frame_bytes;
      double m = 0, sx = 0, sy = 0, l = 0;
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            gsize p = ((gsize) y * width + x) * 3;
            double d = abs (f[p] - background[p]) + abs (f[p + 1] - background[p + 1])
                       + abs (f[p + 2] - background[p + 2]);
            l += 0.299 * f[p] + 0.587 * f[p + 1] + 0.114 * f[p + 2];
            d = MAX (0.0, d - FOREGROUND_NOISE);
            m += d, sx += d * x, sy += d * y;
          }
      mass[k] = m;
      cx[k] = m > 0 ? sx / m : 0;
      cy[k] = m > 0 ? sy / m : 0;
      luma[k] = l / plane;
    }

  GArray *events = g_array_new (FALSE, FALSE, sizeof (JdVisualEvent));

  /* Brightness jumps: d[k] = B(k+1) − B(k), the step between frames k and k+1. */
  g_autofree double *jump = g_new (double, n);
  g_autofree double *absjump = g_new (double, n);
  for (gsize k = 0; k + 1 < n; k++)
    jump[k] = luma[k + 1] - luma[k], absjump[k] = MAX (0.0, jump[k]);
  jump[n - 1] = absjump[n - 1] = 0;
  /* The noise of the rises only: a fading light makes every later step negative, which must
   * not raise the bar for the next flash. */
  double jump_noise = 1.4826 * median (absjump, n - 1);
  double jump_limit = MAX (BRIGHT_MIN, BRIGHT_NOISE * jump_noise);
  g_autofree gboolean *quiet = g_new0 (gboolean, n);
  for (gsize k = 0; k + 1 < n; k++)
    {
      /* rising steps only: a flash fades, so its fall is no event */
      gboolean left = k == 0 || jump[k] > jump[k - 1];
      if (!(jump[k] >= jump_limit && left && jump[k] >= jump[k + 1]))
        continue;
      gsize j = k + 1;                      /* the first frame that is brighter */
      double base = luma[k];
      double b0 = luma[j] - base;
      double b1 = j + 1 < n ? luma[j + 1] - base : b0;
      double b2 = j + 2 < n ? luma[j + 2] - base : b1;
      /* If the frame before the jump already rose a little, the step began in it. */
      if (k > 0 && luma[k] - luma[k - 1] > 0.02 * b0 && luma[k] - luma[k - 1] > jump_noise)
        {
          j = k;
          base = luma[k - 1];
          b0 = luma[j] - base;
          b1 = luma[j + 1] - base;
          b2 = j + 2 < n ? luma[j + 2] - base : b1;
        }
      double phase = jd_visual_step_phase (b0, b1, b2);
      JdVisualEvent e = { .time = (j + phase) / fps, .kind = JD_VISUAL_EVENT_BRIGHTNESS,
                          .strength = jump[k] };
      g_array_append_val (events, e);
      for (gsize q = j > QUIET_FRAMES ? j - QUIET_FRAMES : 0; q <= MIN (n - 1, j + QUIET_FRAMES); q++)
        quiet[q] = TRUE;
    }

  /* Impacts: second differences of the centroid, steady acceleration removed. */
  double min_mass = MIN_MASS_FRACTION * 765.0 * plane;
  g_autofree double *ax = g_new0 (double, n);
  g_autofree double *ay = g_new0 (double, n);
  g_autofree gboolean *valid = g_new0 (gboolean, n);
  g_autofree double *list_x = g_new (double, n);
  g_autofree double *list_y = g_new (double, n);
  for (gsize k = 1; k + 1 < n; k++)
    if (mass[k - 1] >= min_mass && mass[k] >= min_mass && mass[k + 1] >= min_mass)
      {
        ax[k] = cx[k + 1] - 2 * cx[k] + cx[k - 1];
        ay[k] = cy[k + 1] - 2 * cy[k] + cy[k - 1];
        valid[k] = TRUE;
      }
  /* The steady acceleration (gravity, a steady swing) from the frames where the foreground
   * moves and accelerates: an object that rests or rolls evenly would otherwise pull the
   * median to zero. */
  gsize n_moving = 0;
  for (gsize k = 1; k + 1 < n; k++)
    if (valid[k] && hypot (cx[k + 1] - cx[k - 1], cy[k + 1] - cy[k - 1]) > MOVING_PIXELS
        && hypot (ax[k], ay[k]) > ACCELERATING_PIXELS)
      {
        list_x[n_moving] = ax[k];
        list_y[n_moving++] = ay[k];
      }
  double steady_x = median (list_x, n_moving), steady_y = median (list_y, n_moving);
  /* Impacts pull that median towards themselves when the flights are short; once more
   * without the frames far from it. */
  gsize n_steady = 0;
  double reach = MAX (1.5, IMPACT_MIN * MIN (width, height));
  for (gsize i = 0; i < n_moving; i++)
    if (hypot (list_x[i] - steady_x, list_y[i] - steady_y) <= reach)
      {
        list_x[n_steady] = list_x[i];
        list_y[n_steady++] = list_y[i];
      }
  if (n_steady > 0)
    {
      steady_x = median (list_x, n_steady);
      steady_y = median (list_y, n_steady);
    }
  /* The noise level from the raw second differences (before the steady part is removed, which
   * shifts every resting frame by it): their quietest quarter (|a| of a Gaussian is below
   * 0.319σ a quarter of the time), because a busy clip has events in most frames. */
  gsize m = 0;
  for (gsize k = 0; k < n; k++)
    if (valid[k])
      list_x[m++] = hypot (ax[k], ay[k]);
  qsort (list_x, m, sizeof (double), compare_doubles);
  double size_noise = m ? list_x[m / 4] / 0.319 : 0;
  g_autofree double *size = g_new0 (double, n);
  for (gsize k = 0; k < n; k++)
    if (valid[k])
      {
        ax[k] -= steady_x;
        ay[k] -= steady_y;
        size[k] = hypot (ax[k], ay[k]);
      }
  double impact_limit = MAX (IMPACT_MIN * MIN (width, height), IMPACT_NOISE * size_noise);
  for (gsize k = 1; k + 1 < n; k++)
    {
      if (!valid[k] || quiet[k] || !is_peak (size, n, k, impact_limit))
        continue;
      /* A velocity jump spreads over k − 1 … k + 1 only: it must stand out from at least one
       * side two frames away (a resting object minus the steady part is a plateau, not an
       * event; two impacts 2–3 frames apart each have a quiet side). */
      double around = MIN (k >= 2 && valid[k - 2] ? size[k - 2] : 0,
                           k + 2 < n && valid[k + 2] ? size[k + 2] : 0);
      if (size[k] - around < 0.5 * impact_limit)
        continue;
      double ux = ax[k] / size[k], uy = ay[k] / size[k];
      /* An impact stops or turns the motion before it; a jump along the motion is not one
       * (it is what the start of a steady acceleration looks like next to a rest). */
      if (valid[k - 1] || k == 1)
        {
          /* the velocity over the frame pair before the peak (at the start: the first pair) */
          gsize b = k >= 2 ? k - 2 : 0;
          double vx = cx[b + 1] - cx[b], vy = cy[b + 1] - cy[b];
          if (hypot (vx, vy) > MOVING_PIXELS && vx * ux + vy * uy > 0)
            continue;
        }
      double w[3];
      for (int j = 0; j < 3; j++)
        {
          gsize q = k - 1 + j;
          w[j] = valid[q] ? ax[q] * ux + ay[q] * uy : 0;
        }
      double frames = jd_visual_kink_time (w, (int) k);
      JdVisualEvent e = { .time = (frames + 0.5) / fps, .kind = JD_VISUAL_EVENT_IMPACT,
                          .strength = size[k] };
      g_array_append_val (events, e);
    }

  /* ascending time */
  JdVisualEvent *list = (JdVisualEvent *) events->data;
  for (guint i = 1; i < events->len; i++)
    for (guint j = i; j > 0 && list[j].time < list[j - 1].time; j--)
      {
        JdVisualEvent t = list[j];
        list[j] = list[j - 1];
        list[j - 1] = t;
      }
  *n_events = events->len;
  if (events->len == 0)
    {
      g_array_free (events, TRUE);
      return g_new0 (JdVisualEvent, 1);   /* an empty list, not a failure */
    }
  return (JdVisualEvent *) g_array_free (events, FALSE);
}

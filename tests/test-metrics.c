/* The metrics' numeric routines against float64 references computed here on random inputs
 * (polynomial expansion, onset strength, resampling, sub-frame estimators), behaviour on
 * synthetic signals with known answers (flow of a shifted texture, onsets of clicks, event
 * matching under known offsets) and refusal of bad arguments. */
#include <math.h>
#include <string.h>

#include "jd-audio-onsets.h"
#include "jd-av-align.h"
#include "jd-error.h"
#include "jd-farneback.h"
#include "jd-mel.h"
#include "jd-onset-strength.h"
#include "jd-resample.h"
#include "jd-sync-match.h"
#include "jd-visual-events.h"
#include "test-util.h"

static double
rel_error_d (const double *a, const double *b, gsize n)
{
  double d = 0, r = 0;
  for (gsize i = 0; i < n; i++)
    d += (a[i] - b[i]) * (a[i] - b[i]), r += b[i] * b[i];
  return sqrt (d / r);
}

/* A smooth random texture: a sum of random sinusoids, 0…255, evaluated at (x − dx, y − dy). */
static void
texture (GRand *rng_seeded, int width, int height, double dx, double dy, float *out)
{
  double fx[6], fy[6], ph[6], amp[6];
  GRand *rng = g_rand_copy (rng_seeded);
  for (int i = 0; i < 6; i++)
    {
      fx[i] = g_rand_double_range (rng, 0.05, 0.35);
      fy[i] = g_rand_double_range (rng, 0.05, 0.35);
      ph[i] = g_rand_double_range (rng, 0, 2 * G_PI);
      amp[i] = g_rand_double_range (rng, 8, 20);
    }
  g_rand_free (rng);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        double v = 128;
        for (int i = 0; i < 6; i++)
          v += amp[i] * sin (fx[i] * (x - dx) + fy[i] * (y - dy) + ph[i]) * (i % 2 ? 1 : cos (fy[i] * (x - dx)));
        out[y * width + x] = (float) v;
      }
}

static void
test_poly_expansion (void)
{
  /* The separable expansion against the direct (2n+1)² weighted sums in double, with the
   * same weights and inverse-matrix entries; odd sizes and images smaller than the window. */
  static const int sizes[][2] = { { 37, 23 }, { 8, 5 }, { 1, 9 }, { 64, 64 } };
  g_autoptr (GRand) rng = jd_test_rng ();
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (int poly_n = 5; poly_n <= 7; poly_n += 2)
      {
        int w = sizes[s][0], h = sizes[s][1];
        double sigma = poly_n == 5 ? 1.1 : 1.5;
        g_autofree float *img = g_new (float, w * h);
        for (int i = 0; i < w * h; i++)
          img[i] = (float) g_rand_double_range (rng, 1, 255);
        g_autofree float *got = g_new (float, w * h * 5);
        for (int i = 0; i < w * h * 5; i++)
          got[i] = NAN;
        jd_farneback_poly_expansion (img, w, h, poly_n, sigma, got);

        /* Weights as OpenCV rounds them (float), the normal matrix and its inverse in double. */
        int n = poly_n;
        double g[17], sum = 0;
        for (int x = -n; x <= n; x++)
          sum += g[x + n] = (float) exp (-x * x / (2 * sigma * sigma));
        for (int x = -n; x <= n; x++)
          g[x + n] = (float) (g[x + n] / sum);
        double G00 = 0, G11 = 0, G33 = 0, G55 = 0;
        for (int y = -n; y <= n; y++)
          for (int x = -n; x <= n; x++)
            {
              double wt = g[y + n] * g[x + n];
              G00 += wt, G11 += wt * x * x, G33 += wt * x * x * x * x, G55 += wt * x * x * y * y;
            }
        /* The inverse of the 3×3 block [[G00, G11, G11], [G11, G33, G55], [G11, G55, G33]]
         * (basis 1, x², y²) and of the diagonal entries for x, y and xy. */
        double a = G00, b = G11, c = G33, d = G55;
        double det = a * (c * c - d * d) - b * (b * c - b * d) + b * (b * d - c * b);
        double ig03 = (b * d - b * c) / det;            /* cofactor (0,1) / det */
        double ig33 = (a * c - b * b) / det;            /* cofactor (1,1) / det */
        double ig11 = 1 / G11, ig55 = 1 / G55;
        g_autofree double *want = g_new (double, w * h * 5);
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++)
            {
              double b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
              for (int j = -n; j <= n; j++)
                for (int i = -n; i <= n; i++)
                  {
                    double f = img[CLAMP (y + j, 0, h - 1) * w + CLAMP (x + i, 0, w - 1)];
                    double wt = g[j + n] * g[i + n] * f;
                    b1 += wt, b2 += wt * i, b3 += wt * j, b4 += wt * i * i, b5 += wt * j * j;
                    b6 += wt * i * j;
                  }
              double *o = want + (y * w + x) * 5;
              o[0] = b3 * ig11;
              o[1] = b2 * ig11;
              o[2] = b1 * ig03 + b5 * ig33;
              o[3] = b1 * ig03 + b4 * ig33;
              o[4] = b6 * ig55;
            }
        jd_test_assert_close (got, want, (gsize) w * h * 5, 1e-4);
      }
}

static void
test_flow_of_shift (void)
{
  /* A smooth texture moved by a known sub-pixel shift: the flow in the interior is the shift.
   * Sizes that use 1, 2 and 3 pyramid levels. */
  static const int sizes[][2] = { { 48, 40 }, { 64, 64 }, { 131, 97 } };
  g_autoptr (GRand) rng = jd_test_rng ();
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      int w = sizes[s][0], h = sizes[s][1];
      double dx = g_rand_double_range (rng, -2.5, 2.5), dy = g_rand_double_range (rng, -2.5, 2.5);
      g_autofree float *a = g_new (float, w * h);
      g_autofree float *b = g_new (float, w * h);
      g_autofree float *flow = g_new (float, w * h * 2);
      texture (rng, w, h, 0, 0, a);
      texture (rng, w, h, dx, dy, b);
      JdFarnebackParams p = jd_farneback_params_default ();
      g_autoptr (GError) error = NULL;
      g_assert_true (jd_farneback_flow (a, b, w, h, &p, flow, &error));
      g_assert_no_error (error);
      double sx = 0, sy = 0;
      int count = 0;
      for (int y = 10; y < h - 10; y++)
        for (int x = 10; x < w - 10; x++)
          sx += flow[(y * w + x) * 2], sy += flow[(y * w + x) * 2 + 1], count++;
      g_test_message ("%d×%d: shift (%.3f, %.3f), mean interior flow (%.3f, %.3f)", w, h, dx, dy,
                      sx / count, sy / count);
      g_assert_cmpfloat (fabs (sx / count - dx), <, 0.05);
      g_assert_cmpfloat (fabs (sy / count - dy), <, 0.05);
      /* the mean magnitude of a pure shift is about its length */
      double m = jd_flow_mean_magnitude (flow, w, h);
      g_assert_cmpfloat (fabs (m - hypot (dx, dy)), <, 0.25 * hypot (dx, dy) + 0.05);
    }
}

static void
test_flow_refuses (void)
{
  float img[16] = { 1 }, flow[32];
  JdFarnebackParams p = jd_farneback_params_default ();
  p.poly_n = 6;
  g_autoptr (GError) error = NULL;
  g_assert_false (jd_farneback_flow (img, img, 4, 4, &p, flow, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "poly_n 6"));
  g_clear_error (&error);
  p = jd_farneback_params_default ();
  g_assert_false (jd_farneback_flow (img, img, 1, 16, &p, flow, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "1×16"));
}

static void
test_grey (void)
{
  /* OpenCV's fixed-point rounding against the exact formula: never more than half a level off,
   * and exact on greys. */
  g_autoptr (GRand) rng = jd_test_rng ();
  guint8 rgb[3 * 257];
  float grey[257];
  for (int i = 0; i < 256; i++)
    for (int c = 0; c < 3; c++)
      rgb[3 * i + c] = (guint8) (c == 0 ? i : g_rand_int_range (rng, 0, 256));
  rgb[3 * 256] = rgb[3 * 256 + 1] = rgb[3 * 256 + 2] = 77;
  jd_rgb_to_grey (rgb, 257, grey);
  for (int i = 0; i < 257; i++)
    {
      double exact = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
      g_assert_cmpfloat (fabs (grey[i] - exact), <=, 0.51);
      g_assert_cmpfloat (grey[i], ==, floor (grey[i]));
    }
  g_assert_cmpfloat (grey[256], ==, 77);
}

static void
test_resample (void)
{
  /* A random mix of tones below 7 kHz, 16 kHz → 22,050 Hz, against the tones evaluated at the
   * new rate in double (away from the ends, where the filter sees zeros). */
  g_autoptr (GRand) rng = jd_test_rng ();
  const gsize n = 4000;
  double f[4], a[4], ph[4];
  for (int i = 0; i < 4; i++)
    f[i] = g_rand_double_range (rng, 50, 7000), a[i] = g_rand_double_range (rng, 0.1, 0.3),
    ph[i] = g_rand_double_range (rng, 0, 6.28);
  g_autofree float *x = g_new (float, n);
  for (gsize t = 0; t < n; t++)
    {
      double v = 0;
      for (int i = 0; i < 4; i++)
        v += a[i] * sin (2 * G_PI * f[i] * t / 16000.0 + ph[i]);
      x[t] = (float) v;
    }
  gsize m = 0;
  g_autoptr (GError) error = NULL;
  g_autofree float *y = jd_resample (x, n, 16000, 22050, &m, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (m, ==, (gsize) ceil (n * 22050.0 / 16000));
  gsize from = 200, to = m - 200;
  g_autofree double *want = g_new (double, to - from);
  for (gsize t = from; t < to; t++)
    {
      double v = 0;
      for (int i = 0; i < 4; i++)
        v += a[i] * sin (2 * G_PI * f[i] * t / 22050.0 + ph[i]);
      want[t - from] = v;
    }
  jd_test_assert_close (y + from, want, to - from, 3e-3);

  g_assert_null (jd_resample (x, 0, 16000, 22050, &m, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
}

static void
test_onset_strength (void)
{
  /* librosa's recipe written out naively in double (direct DFT of each frame) on random
   * noise bursts. */
  g_autoptr (GRand) rng = jd_test_rng ();
  const gsize samples = 5000;
  g_autofree float *x = g_new (float, samples);
  for (gsize t = 0; t < samples; t++)
    x[t] = (float) (g_rand_double_range (rng, -0.1, 0.1) * (t > 2500 ? 4 : 1));
  JdOnsetStrengthConfig config = { .sample_rate = 22050, .n_fft = 256, .hop = 64, .n_mels = 16 };
  gsize frames = 0;
  g_autoptr (GError) error = NULL;
  g_autofree double *got = jd_onset_strength (x, samples, &config, &frames, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (frames, ==, 1 + samples / 64);

  JdMelConfig mc = { .sample_rate = 22050, .n_fft = 256, .n_mels = 16, .fmin = 0, .fmax = 11025 };
  g_autoptr (JdMel) mel = jd_mel_new (&mc, &error);
  const double *fb = jd_mel_filterbank (mel);
  int bins = 129;
  g_autofree double *db = g_new (double, frames * 16);
  double top = -INFINITY;
  for (gsize f = 0; f < frames; f++)
    {
      double power[129];
      for (int k = 0; k < bins; k++)
        {
          double re = 0, im = 0;
          for (int i = 0; i < 256; i++)
            {
              long s = (long) (f * 64) - 128 + i;
              double v = s >= 0 && s < (long) samples ? x[s] : 0;
              v *= 0.5 - 0.5 * cos (2 * G_PI * i / 256);
              re += v * cos (2 * G_PI * k * i / 256);
              im -= v * sin (2 * G_PI * k * i / 256);
            }
          power[k] = re * re + im * im;
        }
      for (int m = 0; m < 16; m++)
        {
          double e = 0;
          for (int k = 0; k < bins; k++)
            e += fb[m * bins + k] * power[k];
          db[f * 16 + m] = 10 * log10 (fmax (e, 1e-10));
          top = fmax (top, db[f * 16 + m]);
        }
    }
  for (gsize i = 0; i < frames * 16; i++)
    db[i] = fmax (db[i], top - 80);
  g_autofree double *want = g_new0 (double, frames);
  gsize shift = 1 + 256 / (2 * 64);
  for (gsize f = shift; f < frames; f++)
    {
      double s = 0;
      for (int m = 0; m < 16; m++)
        s += fmax (0, db[(f - shift + 1) * 16 + m] - db[(f - shift) * 16 + m]);
      want[f] = s / 16;
    }
  g_assert_cmpfloat (rel_error_d (got, want, frames), <=, 1e-9);
}

static void
test_peak_pick (void)
{
  /* librosa's peak picker on a hand-made envelope: a rising edge counts where it is the
   * window maximum (the window ends before n + post_max), `wait` skips, small bumps do not. */
  const double env[] = { 0, 0, 0, 10, 2, 1, 1, 1, 6, 7, 1, 1, 1, 1, 1.2, 1, 1, 1, 9, 1 };
  gsize peaks[20];
  JdPeakPickConfig c = jd_peak_pick_config_librosa ();
  gsize n = jd_onset_peak_pick (env, G_N_ELEMENTS (env), &c, peaks);
  /* 3 (10), 8 (6 ≥ its predecessor; 9 is skipped by wait), 18 (9) */
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (peaks[0], ==, 3);
  g_assert_cmpuint (peaks[1], ==, 8);
  g_assert_cmpuint (peaks[2], ==, 18);
  const double flat[] = { 3, 3, 3, 3 };
  g_assert_cmpuint (jd_onset_peak_pick (flat, 4, &c, peaks), ==, 0);
}

static void
test_av_align_iou (void)
{
  /* Each audio peak takes the first free video peak strictly within ±1/fps. */
  const double video[] = { 0.40, 1.00, 1.08, 2.00 };
  const double audio[] = { 0.45, 1.05, 1.06, 1.90, 2.5 };
  gsize matched = 0;
  double s = jd_av_align_iou (audio, 5, video, 4, 12.5, &matched);
  /* 0.45↔0.40, 1.05↔1.00, 1.06↔1.08, 1.90 vs 2.00 is 0.1 > 0.08 → no */
  g_assert_cmpuint (matched, ==, 3);
  g_assert_cmpfloat (fabs (s - 3.0 / (5 + 4 - 3)), <, 1e-15);
  g_assert_cmpfloat (jd_av_align_iou (NULL, 0, NULL, 0, 12.5, NULL), ==, 0);
  const double m[] = { 0.05, 0.2, 0.1, 0.3, 0.3, 0.09, 0.5, 0.2 };
  double times[8];
  gsize nv = jd_av_align_video_peaks (m, 8, 10, times);
  /* 1 (0.2), 6 (0.5); 3–4 is a plateau (not strict), 0.09 is below 0.1 */
  g_assert_cmpuint (nv, ==, 2);
  g_assert_cmpfloat (times[0], ==, 0.1);
  g_assert_cmpfloat (times[1], ==, 0.6);
}

static void
test_parabolic_vertex (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 100; i++)
    {
      double v = g_rand_double_range (rng, -0.5, 0.5), c = g_rand_double_range (rng, -3, -0.1);
      double off = g_rand_double_range (rng, 1, 5);
      double y[3];
      for (int k = -1; k <= 1; k++)
        y[k + 1] = off + c * (k - v) * (k - v);
      g_assert_cmpfloat (fabs (jd_parabolic_vertex (y[0], y[1], y[2]) - v), <, 1e-12);
    }
  g_assert_cmpfloat (jd_parabolic_vertex (1, 1, 1), ==, 0);
}

/* The frame average over [k, k+1) of a ramp max(0, t − t0) (velocity jump of 1 at t0). */
static double
ramp_average (double t0, int k)
{
  double a = MAX (k, t0), b = k + 1;
  return b <= a ? 0 : ((b - t0) * (b - t0) - (a - t0) * (a - t0)) / 2;
}

static void
test_kink_time (void)
{
  /* Box-filtered frames of a velocity jump at a random time: the centre of mass of the three
   * second differences, at frame centres, is the jump time exactly. */
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 100; i++)
    {
      int j = g_rand_int_range (rng, 2, 20);
      double t0 = j + g_rand_double (rng);
      double p[24];
      for (int k = 0; k < 24; k++)
        p[k] = ramp_average (t0, k) * g_rand_double_range (rng, 0.999999, 1.000001);
      double a[24] = { 0 };
      for (int k = 1; k < 23; k++)
        a[k] = p[k + 1] - 2 * p[k] + p[k - 1];
      int peak = j;
      for (int k = j - 1; k <= j + 1; k++)
        if (a[k] > a[peak])
          peak = k;
      double frames = jd_visual_kink_time (a + peak - 1, peak);
      g_assert_cmpfloat (fabs (frames + 0.5 - t0), <, 1e-4);
    }
}

static void
test_step_phase (void)
{
  /* A step of height A at φ inside frame 0 that decays with τ (frames), frame-averaged in
   * closed form: the phase comes back exactly; a plain step too. */
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 100; i++)
    {
      double phi = g_rand_double_range (rng, 0.01, 0.99), tau = g_rand_double_range (rng, 0.3, 3);
      double A = g_rand_double_range (rng, 5, 50);
      double q = exp (-(1 - phi) / tau), r = exp (-1 / tau);
      double b0 = A * tau * (1 - q), b1 = A * tau * q * (1 - r), b2 = b1 * r;
      g_assert_cmpfloat (fabs (jd_visual_step_phase (b0, b1, b2) - phi), <, 1e-5);
      g_assert_cmpfloat (fabs (jd_visual_step_phase (A * (1 - phi), A, A) - phi), <, 1e-5);
    }
}

static void
test_audio_onsets (void)
{
  /* Decaying tones with a click, starting at random sub-sample times over quiet noise: each
   * onset is found within 1.5 ms, and nothing else. */
  g_autoptr (GRand) rng = jd_test_rng ();
  const int rate = 16000;
  const gsize n = 40960;
  g_autofree float *x = g_new (float, n);
  double times[5];
  for (int e = 0; e < 5; e++)
    times[e] = 0.2 + 0.45 * e + g_rand_double_range (rng, 0, 0.1);
  for (gsize t = 0; t < n; t++)
    {
      double v = g_rand_double_range (rng, -1e-4, 1e-4);
      for (int e = 0; e < 5; e++)
        {
          double s = t / (double) rate - times[e];
          if (s >= 0)
            v += 0.3 * exp (-s / 0.05) * sin (2 * G_PI * (300 + 200 * e) * s + 1)
                 + 0.2 * exp (-s / 0.002) * sin (2 * G_PI * 3000 * s);
        }
      x[t] = (float) v;
    }
  gsize count = 0;
  g_autoptr (GError) error = NULL;
  g_autofree double *onsets = jd_audio_onsets (x, n, rate, &count, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, 5);
  for (int e = 0; e < 5; e++)
    {
      g_test_message ("onset %d: %.2f ms off", e, (onsets[e] - times[e]) * 1000);
      g_assert_cmpfloat (fabs (onsets[e] - times[e]), <, 0.0015);
    }
  g_assert_null (jd_audio_onsets (x, 100, rate, &count, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
}

static void
test_sync_match (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  /* Random event trains with sound moved by known shifts (some beyond the 100 ms matching
   * window), small jitter, one missing and one extra onset. */
  static const double shifts[] = { -0.25, -0.15, -0.08, 0.0, 0.03, 0.08, 0.15, 0.25 };
  for (gsize s = 0; s < G_N_ELEMENTS (shifts); s++)
    {
      double visual[6], audio[7];
      double t = 0.15;
      for (int i = 0; i < 6; i++)
        visual[i] = t += g_rand_double_range (rng, 0.2, 0.5);
      int na = 0;
      for (int i = 0; i < 6; i++)
        if (i != 2)
          audio[na++] = visual[i] + shifts[s] + g_rand_double_range (rng, -0.004, 0.004);
      audio[na++] = 3.5;
      JdSyncMatch m;
      jd_sync_match (visual, NULL, 6, audio, na, &m);
      g_assert_true (m.has_offset);
      g_assert_cmpuint (m.offset_pairs, ==, 5);
      g_assert_cmpfloat (fabs (m.offset - shifts[s]), <, 0.005);
      if (fabs (shifts[s]) <= 0.08)
        {
          g_assert_true (m.has_error);
          g_assert_cmpfloat (fabs (m.error - fabs (shifts[s])), <, 0.005);
          g_assert_cmpuint (m.matched, ==, 5);
        }
      if (fabs (shifts[s]) <= 0.03)
        {
          g_assert_cmpfloat (m.precision, ==, 5.0 / na);
          g_assert_cmpfloat (m.recall, ==, 5.0 / 6);
        }
    }
  JdSyncMatch none;
  jd_sync_match (NULL, NULL, 0, NULL, 0, &none);
  g_assert_false (none.has_offset);
  g_assert_false (none.has_error);
}

static void
test_visual_refuses (void)
{
  guint8 rgb[3 * 4 * 4 * 3] = { 0 };
  gsize n = 0;
  g_autoptr (GError) error = NULL;
  g_assert_null (jd_visual_events (rgb, 3, 4, 4, 12.5, &n, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "3 frames"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/poly-expansion", test_poly_expansion);
  g_test_add_func ("/metrics/flow-of-shift", test_flow_of_shift);
  g_test_add_func ("/metrics/flow-refuses", test_flow_refuses);
  g_test_add_func ("/metrics/grey", test_grey);
  g_test_add_func ("/metrics/resample", test_resample);
  g_test_add_func ("/metrics/onset-strength", test_onset_strength);
  g_test_add_func ("/metrics/peak-pick", test_peak_pick);
  g_test_add_func ("/metrics/av-align-iou", test_av_align_iou);
  g_test_add_func ("/metrics/parabolic-vertex", test_parabolic_vertex);
  g_test_add_func ("/metrics/kink-time", test_kink_time);
  g_test_add_func ("/metrics/step-phase", test_step_phase);
  g_test_add_func ("/metrics/audio-onsets", test_audio_onsets);
  g_test_add_func ("/metrics/sync-match", test_sync_match);
  g_test_add_func ("/metrics/visual-refuses", test_visual_refuses);
  return g_test_run ();
}

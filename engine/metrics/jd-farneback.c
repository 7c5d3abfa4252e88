/* jd-farneback.c — Farnebäck optical flow (OpenCV's algorithm and arithmetic). */
#include "jd-farneback.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "jd-error.h"

/* Below this many pixels a side OpenCV stops adding pyramid levels. */
#define MIN_LEVEL_SIZE 32

JdFarnebackParams
jd_farneback_params_default (void)
{
  return (JdFarnebackParams) { .pyr_scale = 0.5, .levels = 3, .winsize = 15, .iterations = 3,
                               .poly_n = 5, .poly_sigma = 1.2 };
}

static int
clampi (int v, int lo, int hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* ---- Gaussian smoothing (separable, reflect-101 borders, float kernel) ---- */

static int
reflect101 (int i, int n)
{
  if (n == 1)
    return 0;
  while (i < 0 || i >= n)
    i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

static void
gaussian_kernel (int size, double sigma, float *kernel)
{
  /* OpenCV's fixed small kernels for σ ≤ 0 and sizes ≤ 7; ours only needs size 3. */
  if (sigma <= 0 && size == 3)
    {
      kernel[0] = 0.25f;
      kernel[1] = 0.5f;
      kernel[2] = 0.25f;
      return;
    }
  if (sigma <= 0)
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8;
  double sum = 0, values[64];
  for (int i = 0; i < size; i++)
    {
      double x = i - (size - 1) * 0.5;
      values[i] = exp (-0.5 / (sigma * sigma) * x * x);
      sum += values[i];
    }
  for (int i = 0; i < size; i++)
    kernel[i] = (float) (values[i] / sum);
}

static void
gaussian_blur (const float *src, int width, int height, int size, double sigma, float *dst)
{
  float kernel[64];
  g_return_if_fail (size <= 63);
  gaussian_kernel (size, sigma, kernel);
  int r = size / 2;
  g_autofree float *rows = g_new (float, (gsize) width * height);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        float s = 0;
        for (int k = -r; k <= r; k++)
          s += kernel[k + r] * src[(gsize) y * width + reflect101 (x + k, width)];
        rows[(gsize) y * width + x] = s;
      }
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        float s = 0;
        for (int k = -r; k <= r; k++)
          s += kernel[k + r] * rows[(gsize) reflect101 (y + k, height) * width + x];
        dst[(gsize) y * width + x] = s;
      }
}

/* ---- bilinear resize (OpenCV INTER_LINEAR: pixel centres aligned, clamped at the edges) ---- */

static void
linear_taps (int dst_size, int src_size, int *index, float *frac)
{
  double scale = (double) src_size / dst_size;
  for (int d = 0; d < dst_size; d++)
    {
      float f = (float) ((d + 0.5) * scale - 0.5);
      int s = (int) floorf (f);
      f -= s;
      if (s < 0)
        f = 0, s = 0;
      if (s >= src_size - 1)
        f = 0, s = src_size - 1;
      index[d] = s;
      frac[d] = f;
    }
}

static void
resize_linear (const float *src, int sw, int sh, int channels, float *dst, int dw, int dh)
{
  g_autofree int *xi = g_new (int, dw);
  g_autofree int *yi = g_new (int, dh);
  g_autofree float *xf = g_new (float, dw);
  g_autofree float *yf = g_new (float, dh);
  linear_taps (dw, sw, xi, xf);
  linear_taps (dh, sh, yi, yf);
  for (int y = 0; y < dh; y++)
    {
      int y0 = yi[y], y1 = MIN (y0 + 1, sh - 1);
      for (int x = 0; x < dw; x++)
        {
          int x0 = xi[x], x1 = MIN (x0 + 1, sw - 1);
          for (int c = 0; c < channels; c++)
            {
              float a = src[((gsize) y0 * sw + x0) * channels + c] * (1 - xf[x])
                        + src[((gsize) y0 * sw + x1) * channels + c] * xf[x];
              float b = src[((gsize) y1 * sw + x0) * channels + c] * (1 - xf[x])
                        + src[((gsize) y1 * sw + x1) * channels + c] * xf[x];
              dst[((gsize) y * dw + x) * channels + c] = a * (1 - yf[y]) + b * yf[y];
            }
        }
    }
}

/* ---- polynomial expansion ---- */

typedef struct {
  float  g[2 * 8 + 1], xg[2 * 8 + 1], xxg[2 * 8 + 1]; /* index k + n */
  double ig11, ig03, ig33, ig55;
} PolyKernel;

/* Inverse of a symmetric positive definite 6×6 matrix by Gauss-Jordan elimination (tiny and
 * well conditioned, so no pivoting is needed). */
static void
invert6 (double m[6][6], double inv[6][6])
{
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      inv[i][j] = i == j;
  for (int c = 0; c < 6; c++)
    {
      double p = 1.0 / m[c][c];
      for (int j = 0; j < 6; j++)
        m[c][j] *= p, inv[c][j] *= p;
      for (int r = 0; r < 6; r++)
        if (r != c)
          {
            double f = m[r][c];
            for (int j = 0; j < 6; j++)
              m[r][j] -= f * m[c][j], inv[r][j] -= f * inv[c][j];
          }
    }
}

static void
poly_kernel (int n, double sigma, PolyKernel *k)
{
  if (sigma < FLT_EPSILON)
    sigma = n * 0.3;
  double s = 0;
  for (int x = -n; x <= n; x++)
    {
      k->g[x + n] = (float) exp (-x * x / (2 * sigma * sigma));
      s += k->g[x + n];
    }
  s = 1.0 / s;
  for (int x = -n; x <= n; x++)
    {
      k->g[x + n] = (float) (k->g[x + n] * s);
      k->xg[x + n] = (float) (x * k->g[x + n]);
      k->xxg[x + n] = (float) (x * x * k->g[x + n]);
    }
  /* The weighted normal matrix of the basis 1, x, y, x², y², xy. */
  double G[6][6] = { { 0 } }, inv[6][6];
  for (int y = -n; y <= n; y++)
    for (int x = -n; x <= n; x++)
      {
        double w = (double) k->g[y + n] * k->g[x + n];
        G[0][0] += w;
        G[1][1] += w * x * x;
        G[3][3] += w * x * x * x * x;
        G[5][5] += w * x * x * y * y;
      }
  G[2][2] = G[0][3] = G[0][4] = G[3][0] = G[4][0] = G[1][1];
  G[4][4] = G[3][3];
  G[3][4] = G[4][3] = G[5][5];
  invert6 (G, inv);
  k->ig11 = inv[1][1];
  k->ig03 = inv[0][3];
  k->ig33 = inv[3][3];
  k->ig55 = inv[5][5];
}

void
jd_farneback_poly_expansion (const float *src, int width, int height, int poly_n,
                             double poly_sigma, float *dst)
{
  PolyKernel k;
  poly_kernel (poly_n, poly_sigma, &k);
  const int n = poly_n;
  const float *g = k.g + n, *xg = k.xg + n, *xxg = k.xxg + n;
  /* One row of vertical sums (Σg·f, Σy·g·f, Σy²·g·f) with n replicated pixels on each side. */
  g_autofree float *buffer = g_new (float, (gsize) (width + 2 * n) * 3);
  float *row = buffer + 3 * n;

  for (int y = 0; y < height; y++)
    {
      const float *s0 = src + (gsize) y * width;
      for (int x = 0; x < width; x++)
        {
          row[3 * x] = s0[x] * g[0];
          row[3 * x + 1] = row[3 * x + 2] = 0.f;
        }
      for (int j = 1; j <= n; j++)
        {
          const float *up = src + (gsize) MAX (y - j, 0) * width;
          const float *down = src + (gsize) MIN (y + j, height - 1) * width;
          for (int x = 0; x < width; x++)
            {
              float p = up[x] + down[x];
              row[3 * x] += g[j] * p;
              row[3 * x + 1] += xg[j] * (down[x] - up[x]);
              row[3 * x + 2] += xxg[j] * p;
            }
        }
      for (int x = 1; x <= n; x++)
        for (int c = 0; c < 3; c++)
          {
            row[-3 * x + c] = row[c];
            row[3 * (width - 1 + x) + c] = row[3 * (width - 1) + c];
          }
      float *out = dst + (gsize) y * width * 5;
      for (int x = 0; x < width; x++)
        {
          double b1 = row[3 * x] * g[0], b2 = 0, b3 = row[3 * x + 1] * g[0], b4 = 0;
          double b5 = row[3 * x + 2] * g[0], b6 = 0;
          for (int j = 1; j <= n; j++)
            {
              const float *r = row + 3 * (x + j), *l = row + 3 * (x - j);
              double t = r[0] + l[0];
              b1 += t * g[j];
              b4 += t * xxg[j];
              b2 += (r[0] - l[0]) * xg[j];
              b3 += (r[1] + l[1]) * g[j];
              b6 += (r[1] - l[1]) * xg[j];
              b5 += (r[2] + l[2]) * g[j];
            }
          out[5 * x] = (float) (b3 * k.ig11);
          out[5 * x + 1] = (float) (b2 * k.ig11);
          out[5 * x + 2] = (float) (b1 * k.ig03 + b5 * k.ig33);
          out[5 * x + 3] = (float) (b1 * k.ig03 + b4 * k.ig33);
          out[5 * x + 4] = (float) (b6 * k.ig55);
        }
    }
}

/* ---- the displacement update ---- */

/* The per-pixel normal-equation terms (G11, G12, G22, h1, h2) for the current flow, comparing
 * R0's polynomial at (x, y) with R1's sampled at (x, y) + flow; pixels near the border count
 * less, as in OpenCV. */
static void
update_matrices (const float *R0, const float *R1, const float *flow, int width, int height,
                 float *M)
{
  static const float border[5] = { 0.14f, 0.14f, 0.4472f, 0.4472f, 0.4472f };
  const gsize step = (gsize) width * 5;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const float *f = flow + ((gsize) y * width + x) * 2;
        const float *r0 = R0 + ((gsize) y * width + x) * 5;
        float dx = f[0], dy = f[1];
        float fx = x + dx, fy = y + dy;
        int x1 = (int) floorf (fx), y1 = (int) floorf (fy);
        float r2, r3, r4, r5, r6;
        fx -= x1;
        fy -= y1;
        if ((unsigned) x1 < (unsigned) (width - 1) && (unsigned) y1 < (unsigned) (height - 1))
          {
            const float *p = R1 + (gsize) y1 * step + (gsize) x1 * 5;
            float a00 = (1.f - fx) * (1.f - fy), a01 = fx * (1.f - fy);
            float a10 = (1.f - fx) * fy, a11 = fx * fy;
            r2 = a00 * p[0] + a01 * p[5] + a10 * p[step] + a11 * p[step + 5];
            r3 = a00 * p[1] + a01 * p[6] + a10 * p[step + 1] + a11 * p[step + 6];
            r4 = a00 * p[2] + a01 * p[7] + a10 * p[step + 2] + a11 * p[step + 7];
            r5 = a00 * p[3] + a01 * p[8] + a10 * p[step + 3] + a11 * p[step + 8];
            r6 = a00 * p[4] + a01 * p[9] + a10 * p[step + 4] + a11 * p[step + 9];
            r4 = (r0[2] + r4) * 0.5f;
            r5 = (r0[3] + r5) * 0.5f;
            r6 = (r0[4] + r6) * 0.25f;
          }
        else
          {
            r2 = r3 = 0.f;
            r4 = r0[2];
            r5 = r0[3];
            r6 = r0[4] * 0.5f;
          }
        r2 = (r0[0] - r2) * 0.5f;
        r3 = (r0[1] - r3) * 0.5f;
        r2 += r4 * dy + r6 * dx;
        r3 += r6 * dy + r5 * dx;
        if (x < 5 || x >= width - 5 || y < 5 || y >= height - 5)
          {
            float scale = (x < 5 ? border[x] : 1.f) * (x >= width - 5 ? border[width - x - 1] : 1.f)
                          * (y < 5 ? border[y] : 1.f)
                          * (y >= height - 5 ? border[height - y - 1] : 1.f);
            r2 *= scale;
            r3 *= scale;
            r4 *= scale;
            r5 *= scale;
            r6 *= scale;
          }
        float *m = M + ((gsize) y * width + x) * 5;
        m[0] = r4 * r4 + r6 * r6;
        m[1] = (r4 + r5) * r6;
        m[2] = r5 * r5 + r6 * r6;
        m[3] = r4 * r2 + r6 * r3;
        m[4] = r6 * r2 + r5 * r3;
      }
}

/* Box-filters M over winsize² (replicated borders, double sums) and solves each pixel's 2×2
 * system for the new flow. OpenCV interleaves the next update_matrices with this pass in row
 * stripes; since each stripe only reads rows already final, doing it afterwards is the same. */
static void
update_flow (const float *M, int width, int height, int winsize, float *flow)
{
  int m = winsize / 2;
  double scale = 1.0 / ((double) winsize * winsize);
  g_autofree double *vsum = g_new (double, (gsize) width * height * 5);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width * 5; x++)
      {
        double s = 0;
        for (int j = -m; j <= m; j++)
          s += M[(gsize) clampi (y + j, 0, height - 1) * width * 5 + x];
        vsum[(gsize) y * width * 5 + x] = s;
      }
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        double t[5] = { 0 };
        for (int j = -m; j <= m; j++)
          {
            const double *v = vsum + ((gsize) y * width + clampi (x + j, 0, width - 1)) * 5;
            for (int c = 0; c < 5; c++)
              t[c] += v[c];
          }
        double g11 = t[0] * scale, g12 = t[1] * scale, g22 = t[2] * scale;
        double h1 = t[3] * scale, h2 = t[4] * scale;
        double idet = 1.0 / (g11 * g22 - g12 * g12 + 1e-3);
        flow[((gsize) y * width + x) * 2] = (float) ((g11 * h2 - g12 * h1) * idet);
        flow[((gsize) y * width + x) * 2 + 1] = (float) ((g22 * h1 - g12 * h2) * idet);
      }
}

gboolean
jd_farneback_flow (const float *prev, const float *next, int width, int height,
                   const JdFarnebackParams *p, float *flow_out, GError **error)
{
  if (!(p->pyr_scale > 0 && p->pyr_scale < 1) || p->levels < 1 || p->winsize < 1
      || p->iterations < 1 || (p->poly_n != 5 && p->poly_n != 7) || !(p->poly_sigma > 0)
      || width < 2 || height < 2 || p->winsize > 255)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Farnebäck flow: pyramid scale %g, %d levels, window %d, %d iterations, "
                   "poly_n %d, poly_sigma %g on a %d×%d image do not make sense (need a scale "
                   "in (0, 1), positive counts, poly_n 5 or 7 and at least 2×2 pixels)",
                   p->pyr_scale, p->levels, p->winsize, p->iterations, p->poly_n, p->poly_sigma,
                   width, height);
      return FALSE;
    }
  /* OpenCV counts `levels` as pyramid levels above the full size, then stops early. */
  int levels = 0;
  double scale = 1;
  for (; levels < p->levels; levels++)
    {
      scale *= p->pyr_scale;
      if (width * scale < MIN_LEVEL_SIZE || height * scale < MIN_LEVEL_SIZE)
        break;
    }

  gsize n = (gsize) width * height;
  g_autofree float *smooth = g_new (float, n);
  g_autofree float *level_img = g_new (float, n);
  g_autofree float *R0 = g_new (float, n * 5);
  g_autofree float *R1 = g_new (float, n * 5);
  g_autofree float *M = g_new (float, n * 5);
  g_autofree float *flow = g_new0 (float, n * 2);
  g_autofree float *prev_flow = g_new (float, n * 2);
  int prev_w = 0, prev_h = 0;

  for (int k = levels; k >= 0; k--)
    {
      scale = 1;
      for (int i = 0; i < k; i++)
        scale *= p->pyr_scale;
      double sigma = (1.0 / scale - 1) * 0.5;
      int smooth_size = MAX ((int) lrint (sigma * 5) | 1, 3);
      int w = (int) lrint (width * scale), h = (int) lrint (height * scale);
      if (smooth_size > 63)
        smooth_size = 63;

      if (prev_w == 0)
        memset (flow, 0, sizeof (float) * (gsize) w * h * 2);
      else
        {
          resize_linear (prev_flow, prev_w, prev_h, 2, flow, w, h);
          for (gsize i = 0; i < (gsize) w * h * 2; i++)
            flow[i] *= (float) (1.0 / p->pyr_scale);
        }
      for (int i = 0; i < 2; i++)
        {
          gaussian_blur (i == 0 ? prev : next, width, height, smooth_size, sigma, smooth);
          resize_linear (smooth, width, height, 1, level_img, w, h);
          jd_farneback_poly_expansion (level_img, w, h, p->poly_n, p->poly_sigma,
                                       i == 0 ? R0 : R1);
        }
      update_matrices (R0, R1, flow, w, h, M);
      for (int it = 0; it < p->iterations; it++)
        {
          update_flow (M, w, h, p->winsize, flow);
          if (it < p->iterations - 1)
            update_matrices (R0, R1, flow, w, h, M);
        }
      memcpy (prev_flow, flow, sizeof (float) * (gsize) w * h * 2);
      prev_w = w;
      prev_h = h;
    }
  memcpy (flow_out, flow, sizeof (float) * n * 2);
  return TRUE;
}

double
jd_flow_mean_magnitude (const float *flow, int width, int height)
{
  gsize n = (gsize) width * height;
  double sum = 0;
  for (gsize i = 0; i < n; i++)
    sum += sqrtf (flow[2 * i] * flow[2 * i] + flow[2 * i + 1] * flow[2 * i + 1]);
  return n ? sum / n : 0;
}

/* jd-clip-preprocess.c — antialiased bicubic resize and CLIP normalisation. */
#include "jd-clip-preprocess.h"

#include <math.h>

#include "jd-error.h"

const float jd_clip_mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
const float jd_clip_std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };

/* The blur's taps for shrinking `in` to `out` samples: normalised Gaussian, odd length. */
static double *
gaussian_taps (int in, int out, int *n_taps)
{
  double sigma = MAX (((double) in / out - 1.0) / 2.0, 0.001);
  int n = (int) MAX (2.0 * 2.0 * sigma, 3.0);
  if (n % 2 == 0)
    n++;
  double *taps = g_new (double, n), sum = 0.0;
  for (int i = 0; i < n; i++)
    {
      double x = i - n / 2;
      taps[i] = exp (-x * x / (2.0 * sigma * sigma));
      sum += taps[i];
    }
  for (int i = 0; i < n; i++)
    taps[i] /= sum;
  *n_taps = n;
  return taps;
}

static inline int
reflect (int i, int n)
{
  if (i < 0)
    return -i;
  if (i >= n)
    return 2 * (n - 1) - i;
  return i;
}

/* One axis of the blur: `lines` lines of `n` samples spaced `step` apart, lines `line_step`
 * apart. */
static void
blur_axis (double *data, int lines, gsize line_step, int n, gsize step, const double *taps,
           int n_taps)
{
  g_autofree double *line = g_new (double, n);
  for (int l = 0; l < lines; l++)
    {
      double *base = data + l * line_step;
      for (int i = 0; i < n; i++)
        line[i] = base[i * step];
      for (int i = 0; i < n; i++)
        {
          double sum = 0.0;
          for (int t = 0; t < n_taps; t++)
            sum += taps[t] * line[reflect (i + t - n_taps / 2, n)];
          base[i * step] = sum;
        }
    }
}

static double
cubic_near (double x)   /* |x| ≤ 1 */
{
  const double a = -0.75;
  return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
}

static double
cubic_far (double x)    /* 1 < |x| < 2 */
{
  const double a = -0.75;
  return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
}

typedef struct {
  double w[4];
} Taps4;

/* For each output index: the first of its 4 source taps and their weights (PyTorch's
 * bicubic with align_corners, indices clamped to the edge). */
static void
bicubic_plan (int in, int out, int *first, Taps4 *weights)
{
  double scale = out > 1 ? (double) (in - 1) / (out - 1) : 0.0;
  for (int o = 0; o < out; o++)
    {
      double real = scale * o;
      int index = (int) floor (real);
      double t = real - index;
      first[o] = index - 1;
      weights[o].w[0] = cubic_far (t + 1.0);
      weights[o].w[1] = cubic_near (t);
      weights[o].w[2] = cubic_near (1.0 - t);
      weights[o].w[3] = cubic_far (2.0 - t);
    }
}

gboolean
jd_clip_resize (const float *image, int channels, int height, int width, int size, float *out,
                GError **error)
{
  if (channels < 1 || height < 1 || width < 1 || size < 1)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "image encoder preprocessing: cannot resize a %d×%d image of %d channels to "
                   "%d×%d", width, height, channels, size, size);
      return FALSE;
    }
  int ny, nx;
  g_autofree double *ty = gaussian_taps (height, size, &ny);
  g_autofree double *tx = gaussian_taps (width, size, &nx);
  /* Reflect padding needs the pad to be shorter than the axis (as torch's pad demands). */
  if (nx / 2 >= width || ny / 2 >= height)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "image encoder preprocessing: a %d×%d image is too small for the %d×%d "
                   "antialiasing blur it needs to shrink to %d×%d", width, height, nx, ny, size,
                   size);
      return FALSE;
    }
  const gsize plane = (gsize) height * width;
  g_autofree double *work = g_new (double, plane * channels);
  for (gsize i = 0; i < plane * channels; i++)
    work[i] = image[i];
  for (int c = 0; c < channels; c++)
    {
      double *p = work + c * plane;
      blur_axis (p, height, width, width, 1, tx, nx);   /* along x first, as diffusers */
      blur_axis (p, width, 1, height, width, ty, ny);
    }

  g_autofree int *fy = g_new (int, size);
  g_autofree int *fx = g_new (int, size);
  g_autofree Taps4 *wy = g_new (Taps4, size);
  g_autofree Taps4 *wx = g_new (Taps4, size);
  bicubic_plan (height, size, fy, wy);
  bicubic_plan (width, size, fx, wx);
  for (int c = 0; c < channels; c++)
    {
      const double *p = work + c * plane;
      for (int oy = 0; oy < size; oy++)
        for (int ox = 0; ox < size; ox++)
          {
            double sum = 0.0;
            for (int j = 0; j < 4; j++)
              {
                int y = CLAMP (fy[oy] + j, 0, height - 1);
                double row = 0.0;
                for (int i = 0; i < 4; i++)
                  row += wx[ox].w[i] * p[(gsize) y * width + CLAMP (fx[ox] + i, 0, width - 1)];
                sum += wy[oy].w[j] * row;
              }
            out[((gsize) c * size + oy) * size + ox] = (float) sum;
          }
    }
  return TRUE;
}

gboolean
jd_clip_preprocess (const float *rgb, int height, int width, int size, float *out,
                    GError **error)
{
  if (!jd_clip_resize (rgb, 3, height, width, size, out, error))
    return FALSE;
  const gsize plane = (gsize) size * size;
  for (int c = 0; c < 3; c++)
    for (gsize i = 0; i < plane; i++)
      out[c * plane + i] = (out[c * plane + i] - jd_clip_mean[c]) / jd_clip_std[c];
  return TRUE;
}

/* jd-clip-preprocess.c — resize + CLIP normalisation for the image encoder. */
#include "jd-clip-preprocess.h"

#include <math.h>

#include "jd-backend.h"
#include "jd-error.h"

/* OpenAI CLIP's normalisation (the image processor of every CLIP checkpoint, SVD's included). */
const float jd_clip_mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
const float jd_clip_std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };

typedef struct {
  int     first;  /* first source index */
  int     count;
  double *weights;
} Taps;

/* For each output index, the source samples and weights of a triangle filter widened by the
 * scale when shrinking (so every source pixel contributes: antialiasing), normalised to sum 1. */
static Taps *
make_taps (int src, int dst)
{
  Taps *taps = g_new0 (Taps, dst);
  double scale = (double) src / dst;
  double support = scale > 1.0 ? scale : 1.0;
  for (int o = 0; o < dst; o++)
    {
      double centre = scale * (o + 0.5);
      int first = (int) floor (centre - support + 0.5);
      int last = (int) floor (centre + support + 0.5);
      first = MAX (first, 0);
      last = MIN (last, src);
      taps[o].first = first;
      taps[o].count = MAX (last - first, 0);
      taps[o].weights = g_new0 (double, MAX (taps[o].count, 1));
      double sum = 0;
      for (int j = 0; j < taps[o].count; j++)
        {
          double x = (first + j + 0.5 - centre) / support;
          double w = MAX (0.0, 1.0 - fabs (x));
          taps[o].weights[j] = w;
          sum += w;
        }
      if (sum > 0)
        for (int j = 0; j < taps[o].count; j++)
          taps[o].weights[j] /= sum;
    }
  return taps;
}

static void
free_taps (Taps *taps, int n)
{
  for (int i = 0; i < n; i++)
    g_free (taps[i].weights);
  g_free (taps);
}

void
jd_resize_plane_antialiased (const float *src, int src_w, int src_h,
                             float *dst, int dst_w, int dst_h)
{
  Taps *tx = make_taps (src_w, dst_w);
  Taps *ty = make_taps (src_h, dst_h);
  /* Rows first (src_h × dst_w), then columns. */
  g_autofree double *rows = g_new (double, (gsize) src_h * dst_w);
  for (int y = 0; y < src_h; y++)
    for (int o = 0; o < dst_w; o++)
      {
        double acc = 0;
        for (int j = 0; j < tx[o].count; j++)
          acc += tx[o].weights[j] * src[(gsize) y * src_w + tx[o].first + j];
        rows[(gsize) y * dst_w + o] = acc;
      }
  for (int o = 0; o < dst_h; o++)
    for (int x = 0; x < dst_w; x++)
      {
        double acc = 0;
        for (int j = 0; j < ty[o].count; j++)
          acc += ty[o].weights[j] * rows[(gsize) (ty[o].first + j) * dst_w + x];
        dst[(gsize) o * dst_w + x] = (float) acc;
      }
  free_taps (tx, dst_w);
  free_taps (ty, dst_h);
}

JdTensor *
jd_clip_preprocess (JdBackend    *backend,
                    const guint8 *rgb,
                    int           width,
                    int           height,
                    gsize         stride,
                    int           size,
                    GError      **error)
{
  if (width <= 0 || height <= 0 || size <= 0 || stride < (gsize) width * 3)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "CLIP preprocessing: a %d×%d picture (stride %zu) cannot become %d×%d",
                   width, height, stride, size, size);
      return NULL;
    }
  g_autofree float *plane = g_new (float, (gsize) width * height);
  g_autofree float *host = g_new (float, (gsize) 3 * size * size);
  for (int c = 0; c < 3; c++)
    {
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          plane[(gsize) y * width + x] = rgb[(gsize) y * stride + (gsize) x * 3 + c] / 255.0f;
      float *out = host + (gsize) c * size * size;
      jd_resize_plane_antialiased (plane, width, height, out, size, size);
      for (gsize i = 0; i < (gsize) size * size; i++)
        out[i] = (out[i] - jd_clip_mean[c]) / jd_clip_std[c];
    }
  g_autoptr (JdTensor) pixels = jd_tensor_new_f32 (backend, error, 4, (int64_t) 1, (int64_t) 3,
                                                   (int64_t) size, (int64_t) size);
  if (pixels == NULL || !jd_tensor_upload_f32 (pixels, host, error))
    return NULL;
  return g_steal_pointer (&pixels);
}

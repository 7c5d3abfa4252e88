/* jds-spectrogram.c — a plain DFT spectrogram (the clips are a few seconds long, so the cost is
 * a few million multiply-adds) and the colour map shared with the GL shader. */
#include "jds-spectrogram.h"

#include <math.h>

#define WINDOW 256
#define HOP    128

guint8 *
jds_spectrogram_from_pcm (const float *pcm,
                          gsize        n_samples,
                          int          bins,
                          int         *width,
                          int         *height)
{
  bins = CLAMP (bins, 8, WINDOW / 2);
  int columns = n_samples >= WINDOW ? (int) ((n_samples - WINDOW) / HOP) + 1 : 1;
  g_autofree float *db = g_new (float, (gsize) columns * bins);
  float window[WINDOW];
  for (int i = 0; i < WINDOW; i++)
    window[i] = 0.5f - 0.5f * cosf (2.0f * (float) G_PI * i / (WINDOW - 1));

  float peak = -1000.0f;
  for (int c = 0; c < columns; c++)
    {
      float frame[WINDOW];
      for (int i = 0; i < WINDOW; i++)
        {
          gsize at = (gsize) c * HOP + i;
          float x = at < n_samples ? pcm[at] : 0.0f;
          frame[i] = isfinite (x) ? x * window[i] : 0.0f;
        }
      for (int b = 0; b < bins; b++)
        {
          /* Bin b covers the linear band b/bins of the Nyquist range. */
          double k = (double) b * (WINDOW / 2) / bins;
          double re = 0, im = 0;
          for (int i = 0; i < WINDOW; i++)
            {
              double phase = 2.0 * G_PI * k * i / WINDOW;
              re += frame[i] * cos (phase);
              im -= frame[i] * sin (phase);
            }
          float value = 10.0f * log10f ((float) (re * re + im * im) + 1e-12f);
          db[(gsize) c * bins + b] = value;
          peak = MAX (peak, value);
        }
    }

  guint8 *out = g_malloc ((gsize) columns * bins * 4);
  for (int c = 0; c < columns; c++)
    for (int b = 0; b < bins; b++)
      {
        float v = (db[(gsize) c * bins + b] - (peak - 80.0f)) / 80.0f;
        guint8 g = (guint8) lrintf (CLAMP (v, 0.0f, 1.0f) * 255.0f);
        guint8 *p = out + ((gsize) (bins - 1 - b) * columns + c) * 4;
        p[0] = p[1] = p[2] = g;
        p[3] = 255;
      }
  *width = columns;
  *height = bins;
  return out;
}

void
jds_colormap (float   v,
              guint8  rgb[3])
{
  /* Keep in step with the fragment shader in jds-canvas.c. */
  static const float stops[5][3] = {
    { 0.00f, 0.00f, 0.02f },
    { 0.33f, 0.07f, 0.47f },
    { 0.80f, 0.18f, 0.33f },
    { 0.98f, 0.55f, 0.09f },
    { 0.99f, 0.97f, 0.75f },
  };
  v = isfinite (v) ? CLAMP (v, 0.0f, 1.0f) : 0.0f;
  float x = v * 4.0f;
  int i = MIN ((int) x, 3);
  float t = x - i;
  for (int c = 0; c < 3; c++)
    rgb[c] = (guint8) lrintf ((stops[i][c] * (1.0f - t) + stops[i + 1][c] * t) * 255.0f);
}

void
jds_colormap_apply (guint8 *rgba,
                    gsize   n_pixels)
{
  for (gsize i = 0; i < n_pixels; i++)
    jds_colormap (rgba[i * 4] / 255.0f, rgba + i * 4);
}

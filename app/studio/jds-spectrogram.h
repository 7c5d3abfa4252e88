/* jds-spectrogram.h — a picture of a sound: short-time spectrum magnitudes in decibels, and
 * the colour map the canvas applies to it (the same one the GL shader computes). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A grey RGBA8 picture of pcm (n_samples mono samples at sample_rate): one column per hop of
 * 256-sample Hann windows, `bins` rows of linear frequency (low at the bottom), the top 80 dB
 * mapped to 0…255. Used for results when the bundle has no preview maps. */
guint8 *jds_spectrogram_from_pcm (const float *pcm,
                                  gsize        n_samples,
                                  int          bins,
                                  int         *width,
                                  int         *height);

/* The colour of intensity v in [0, 1]: black → violet → red → orange → pale yellow. */
void    jds_colormap (float   v,
                      guint8  rgb[3]);

/* Applies jds_colormap to the first channel of every pixel of rgba (n_pixels RGBA8), in place. */
void    jds_colormap_apply (guint8 *rgba,
                            gsize   n_pixels);

G_END_DECLS

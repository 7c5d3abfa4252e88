/* jd-clip-preprocess.h — the image encoder's input, as SVD's pipeline prepares it.
 *
 * Resize with antialiasing to size × size (diffusers' _resize_with_antialiasing: a separable
 * Gaussian blur with σ = max((in/out − 1) / 2, 0.001) per axis and an odd kernel of
 * max(4σ, 3) taps, reflect-padded, then bicubic interpolation (a = −0.75) with aligned
 * corners; no crop, the aspect ratio is not kept), then CLIP's normalisation
 * (x − mean) / std per channel. The image is planar RGB (3, H, W) with values in [0, 1]
 * (both steps are linear, so the pipeline's detour through [−1, 1] changes nothing).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

extern const float jd_clip_mean[3];
extern const float jd_clip_std[3];

/* The antialiased resize alone, channels × height × width → channels × size × size.
 * Fails with JD_ERROR_INVALID_ARGUMENT for sizes under 1 and for images too small to
 * reflect-pad for their blur (at least 2 pixels along each axis, more when shrinking a lot). */
gboolean jd_clip_resize     (const float *image, int channels, int height, int width,
                             int size, float *out, GError **error);
/* Resize, then normalise: (3, H, W) in [0, 1] → (3, size, size), ready for the encoder. */
gboolean jd_clip_preprocess (const float *rgb, int height, int width, int size, float *out,
                             GError **error);

G_END_DECLS

/* jd-clip-preprocess.h — the image encoder's input: an RGB8 picture resized to the encoder's
 * square size with an antialiased triangle (bilinear) filter, as torch's
 * interpolate (…, mode="bilinear", antialias=True) does, then CLIP-normalised per channel
 * ((x − mean) / std with x in [0, 1], OpenAI CLIP's mean and std, which SVD uses).
 */
#pragma once

#include "jd-tensor.h"

G_BEGIN_DECLS

extern const float jd_clip_mean[3];
extern const float jd_clip_std[3];

/* rgb (width × height, rows `stride` bytes apart) → a new (1, 3, size, size) F32 tensor on
 * backend. Fails with JD_ERROR_INVALID_ARGUMENT for sizes that are not positive. */
JdTensor *jd_clip_preprocess (JdBackend    *backend,
                              const guint8 *rgb,
                              int           width,
                              int           height,
                              gsize         stride,
                              int           size,
                              GError      **error);

/* Resizes one channel plane (src_w × src_h floats) to dst_w × dst_h with the antialiased
 * triangle filter (exposed for tests). */
void      jd_resize_plane_antialiased (const float *src, int src_w, int src_h,
                                       float *dst, int dst_w, int dst_h);

G_END_DECLS

/* jd-farneback.h — Farnebäck dense optical flow, computed the way OpenCV's
 * calcOpticalFlowFarneback does it (flags 0: box-filtered normal equations), so that flow-based
 * metrics (AV-Align, motion score) give the numbers their reference implementations give.
 *
 * Per pyramid level (coarsest first; a level is used only while both sides stay ≥ 32 pixels):
 * the grey image is Gaussian-smoothed (σ = (1/scale − 1)/2, kernel max(3, round(5σ)|1),
 * reflect-101 borders) and bilinearly resized; each pixel's neighbourhood is fitted by a
 * quadratic polynomial (Gaussian-weighted least squares over (2·poly_n+1)², σ = poly_sigma,
 * replicated borders); then `iterations` times the displacement solves the box-filtered
 * (winsize²) 2×2 normal equations built from both images' coefficients, with the second image's
 * coefficients sampled bilinearly at the current displacement. Arithmetic follows OpenCV's
 * float/double split, so results agree to rounding.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  double pyr_scale;   /* (0, 1): size ratio between pyramid levels */
  int    levels;      /* ≥ 1: pyramid levels including the full size */
  int    winsize;     /* ≥ 1: side of the box window averaging the normal equations */
  int    iterations;  /* ≥ 1: displacement updates per level */
  int    poly_n;      /* 5 or 7: neighbourhood half-size of the polynomial fit */
  double poly_sigma;  /* > 0: Gaussian σ of the polynomial fit */
} JdFarnebackParams;

/* AV-Align's and data-juicer's settings: 0.5, 3 levels, window 15, 3 iterations, 5, 1.2. */
JdFarnebackParams jd_farneback_params_default (void);

/* The flow from prev to next (grey, width × height floats in 0…255, rows packed): flow holds
 * width × height × 2 floats (dx, dy) per pixel, so next(x + dx, y + dy) ≈ prev(x, y).
 * Fails with JD_ERROR_INVALID_ARGUMENT for parameters outside the ranges above or a size below
 * 2 × 2. */
gboolean jd_farneback_flow (const float             *prev,
                            const float             *next,
                            int                      width,
                            int                      height,
                            const JdFarnebackParams *params,
                            float                   *flow,
                            GError                 **error);

/* The polynomial expansion of one image as OpenCV computes it: for the local model
 * f ≈ r1 + r2·x + r3·y + r4·x² + r5·y² + r6·x·y, dst holds per pixel (width × height × 5
 * floats) r3 = ig11·Σw·y·f, r2 = ig11·Σw·x·f, r5 = ig03·Σw·f + ig33·Σw·y²·f,
 * r4 = ig03·Σw·f + ig33·Σw·x²·f, r6 = ig55·Σw·x·y·f, where w is the separable Gaussian of the
 * (2·poly_n+1)² neighbourhood (replicated borders) and igNN are entries of the inverse of the
 * weighted normal matrix (OpenCV drops the small x²–y² cross term). Exposed for the tests. */
void     jd_farneback_poly_expansion (const float *src,
                                      int          width,
                                      int          height,
                                      int          poly_n,
                                      double       poly_sigma,
                                      float       *dst);

/* Mean of √(dx² + dy²) over the width × height pixels of a flow field. */
double   jd_flow_mean_magnitude (const float *flow, int width, int height);

G_END_DECLS

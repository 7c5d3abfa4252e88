/* jd-weight-norm.h — weights stored with PyTorch's weight normalisation, folded on load.
 *
 * Published HiFi-GAN checkpoints keep each conv weight as a magnitude g and a direction v, in
 * either spelling: `<name>.weight_g` / `<name>.weight_v` (torch.nn.utils.weight_norm) or
 * `<name>.parametrizations.weight.original0` / `.original1` (torch.nn.utils.parametrizations).
 * The weight is w = g · v / ‖v‖, the norm taken per index of dim 0 over all other dims (the
 * default dim = 0, also for ConvTranspose1d's (Cin, Cout, k) layout); g has shape
 * (shape[0], 1, …, 1).
 */
#pragma once

#include "jd-weights.h"

G_BEGIN_DECLS

/* w[o, …] = g[o] · v[o, …] / ‖v[o, …]‖ for o < rows, each row `row_size` long. A row whose
 * direction is all zeros gives zeros (PyTorch would give NaN; such a row carries no signal).
 * w may be v. */
void            jd_weight_norm_fold (const float *g, const float *v, int64_t rows,
                                     int64_t row_size, float *w);

/* `<prefix>.weight` with the given shape from the store: stored plainly, or folded from either
 * weight-norm spelling and added to the store under `<prefix>.weight`. Fails with
 * JD_ERROR_MODEL_FILE naming all three spellings when none is there, or a shape mismatch as
 * jd_weights_get does. */
const JdTensor *jd_weight_norm_get  (JdWeights *weights, const char *prefix, int ndim,
                                     const int64_t *shape, GError **error);

G_END_DECLS

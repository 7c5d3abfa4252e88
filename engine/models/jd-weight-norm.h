/* jd-weight-norm.h — weights stored with PyTorch's weight normalisation, folded on load.
 *
 * Published HiFi-GAN checkpoints keep each conv weight as a magnitude g and a direction v, in
 * either spelling: `<name>.weight_g` / `<name>.weight_v` (torch.nn.utils.weight_norm) or
 * `<name>.parametrizations.weight.original0` / `.original1` (torch.nn.utils.parametrizations).
 * The weight is w = g · v / ‖v‖, the norm taken per index of dim 0 over all other dims (the
 * default dim = 0, also for ConvTranspose1d's (Cin, Cout, k) layout).
 */
#pragma once

#include "jd-safetensors.h"

G_BEGIN_DECLS

/* w[o, …] = g[o] · v[o, …] / ‖v[o, …]‖ for o < rows, each row `row_size` long. A row whose
 * direction is all zeros gives zeros (PyTorch would give NaN; such a row carries no signal).
 * w may be v. */
void      jd_weight_norm_fold     (const float *g, const float *v, int64_t rows,
                                   int64_t row_size, float *w);

/* The F32 weight `<name>.weight` on backend: stored plainly, or folded from either weight-norm
 * spelling. Fails with JD_ERROR_MODEL_FILE naming the file and all three spellings when none is
 * there, or when g does not have one value per row of v. */
JdTensor *jd_weight_norm_load     (JdSafetensors *file, const char *name, JdBackend *backend,
                                   GError **error);

G_END_DECLS

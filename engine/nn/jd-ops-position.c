/* TEMPORARY STUB: replaced by the real front end. */
#include "jd-ops-private.h"
#include "jd-error.h"

gboolean
jd_rope (JdBackend *backend, const JdTensor *x, const JdTensor *positions, int heads, int n_axes, const int *axis_dims, float base, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_timestep_embedding (JdBackend *backend, const JdTensor *timesteps, int dim, gboolean flip_sin_to_cos, float downscale_freq_shift, float scale, float max_period, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }


/* TEMPORARY STUB: replaced by the real front end. */
#include "jd-ops-private.h"
#include "jd-error.h"

gboolean
jd_group_norm (JdBackend *backend, const JdTensor *x, const JdTensor *gamma, const JdTensor *beta, int groups, float eps, JdUnaryKind activation, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_layer_norm (JdBackend *backend, const JdTensor *x, const JdTensor *gamma, const JdTensor *beta, float eps, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }


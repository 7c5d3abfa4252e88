/* TEMPORARY STUB: replaced by the real front end. */
#include "jd-ops-private.h"
#include "jd-error.h"

gboolean
jd_upsample_nearest (JdBackend *backend, const JdTensor *x, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_concat (JdBackend *backend, int n_src, const JdTensor *const *src, int axis, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_slice (JdBackend *backend, const JdTensor *src, int axis, int64_t offset, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_permute (JdBackend *backend, const JdTensor *src, const int *perm, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }


/* TEMPORARY STUB: replaced by the real front end. */
#include "jd-ops-private.h"
#include "jd-error.h"

gboolean
jd_attention (JdBackend *backend, const JdTensor *q, const JdTensor *k, const JdTensor *v, int heads, float scale, int n_segments, const int64_t *q_segments, const int64_t *k_segments, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }


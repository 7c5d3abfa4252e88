/* TEMPORARY STUB: replaced by the real front end. */
#include "jd-ops-private.h"
#include "jd-error.h"

gboolean
jd_unary (JdBackend *backend, JdUnaryKind kind, float alpha, float beta, const JdTensor *x, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_axpby (JdBackend *backend, float alpha, const JdTensor *a, float beta, const JdTensor *b, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_add (JdBackend *backend, const JdTensor *a, const JdTensor *b, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_mul (JdBackend *backend, const JdTensor *a, const JdTensor *b, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_broadcast (JdBackend *backend, const JdTensor *src, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }


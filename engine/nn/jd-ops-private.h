/* jd-ops-private.h — argument checks shared by the op front ends (jd-ops-*.c). */
#pragma once

#include "jd-ops.h"

G_BEGIN_DECLS

/* Each returns TRUE when the condition holds, else sets a JD_ERROR_INVALID_ARGUMENT error that
 * starts with the op name and the role of the tensor ("conv2d: weight has shape [..] but ..."). */
gboolean jd_ops_check_tensor (const char *op, const char *role, JdBackend *backend,
                              const JdTensor *tensor, int ndim, GError **error);
gboolean jd_ops_check_dst    (const char *op, const JdTensor *dst, int ndim,
                              const int64_t *expected_shape, GError **error);
/* For optional inputs (bias, gamma, beta): NULL passes, else a 1-D F32 tensor of `length`. */
gboolean jd_ops_check_vector (const char *op, const char *role, JdBackend *backend,
                              const JdTensor *tensor, int64_t length, GError **error);

G_END_DECLS

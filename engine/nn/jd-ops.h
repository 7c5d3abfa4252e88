/* jd-ops.h — the engine's ops, as callers use them.
 *
 * Each function checks its arguments once, for every backend (dtypes, ranks, shapes, that dst
 * has the shape the op produces, that all tensors live on `backend`), then runs the op there.
 * Bad arguments give JD_ERROR_INVALID_ARGUMENT with a message that names the op and the
 * offending shapes; the backend sees only well-formed ops (see engine/core/jd-op.h for the
 * layouts). All tensors are F32 on the CPU backend. dst is allocated by the caller.
 */
#pragma once

#include "jd-backend.h"

G_BEGIN_DECLS

/* Linear layers and convolutions (weights in PyTorch layouts). bias may be NULL. */
gboolean jd_linear            (JdBackend *backend, const JdTensor *x, const JdTensor *weight,
                               const JdTensor *bias, JdTensor *dst, GError **error);
gboolean jd_conv2d            (JdBackend *backend, const JdTensor *x, const JdTensor *weight,
                               const JdTensor *bias, int stride, int padding, JdTensor *dst,
                               GError **error);
/* Conv3d with kernel (kt, 1, 1), padded by kt / 2 along T. */
gboolean jd_conv_temporal     (JdBackend *backend, const JdTensor *x, const JdTensor *weight,
                               const JdTensor *bias, JdTensor *dst, GError **error);
gboolean jd_conv1d            (JdBackend *backend, const JdTensor *x, const JdTensor *weight,
                               const JdTensor *bias, int stride, int padding, int dilation,
                               JdTensor *dst, GError **error);
gboolean jd_conv_transpose1d  (JdBackend *backend, const JdTensor *x, const JdTensor *weight,
                               const JdTensor *bias, int stride, int padding,
                               int output_padding, JdTensor *dst, GError **error);

/* Normalisation. gamma/beta may be NULL. activation: JD_UNARY_IDENTITY or JD_UNARY_SILU. */
gboolean jd_group_norm        (JdBackend *backend, const JdTensor *x, const JdTensor *gamma,
                               const JdTensor *beta, int groups, float eps,
                               JdUnaryKind activation, JdTensor *dst, GError **error);
gboolean jd_layer_norm        (JdBackend *backend, const JdTensor *x, const JdTensor *gamma,
                               const JdTensor *beta, float eps, JdTensor *dst, GError **error);

/* Elementwise. dst may be the (first) input. */
gboolean jd_unary             (JdBackend *backend, JdUnaryKind kind, float alpha, float beta,
                               const JdTensor *x, JdTensor *dst, GError **error);
/* dst = alpha · a + beta · b, broadcasting. */
gboolean jd_axpby             (JdBackend *backend, float alpha, const JdTensor *a, float beta,
                               const JdTensor *b, JdTensor *dst, GError **error);
gboolean jd_add               (JdBackend *backend, const JdTensor *a, const JdTensor *b,
                               JdTensor *dst, GError **error);
gboolean jd_mul               (JdBackend *backend, const JdTensor *a, const JdTensor *b,
                               JdTensor *dst, GError **error);
gboolean jd_broadcast         (JdBackend *backend, const JdTensor *src, JdTensor *dst,
                               GError **error);

/* Layout. */
gboolean jd_upsample_nearest  (JdBackend *backend, const JdTensor *x, JdTensor *dst,
                               GError **error);
gboolean jd_concat            (JdBackend *backend, int n_src, const JdTensor *const *src,
                               int axis, JdTensor *dst, GError **error);
gboolean jd_slice             (JdBackend *backend, const JdTensor *src, int axis,
                               int64_t offset, JdTensor *dst, GError **error);
gboolean jd_permute           (JdBackend *backend, const JdTensor *src, const int *perm,
                               JdTensor *dst, GError **error);

/* Attention: q (B, Lq, H·Dqk), k (B, Lk, H·Dqk), v (B, Lk, H·Dv) -> dst (B, Lq, H·Dv).
 * n_segments = 0 for full attention, else the block-diagonal mask of jd-op.h. */
gboolean jd_attention         (JdBackend *backend, const JdTensor *q, const JdTensor *k,
                               const JdTensor *v, int heads, float scale, int n_segments,
                               const int64_t *q_segments, const int64_t *k_segments,
                               JdTensor *dst, GError **error);

/* Positions. */
gboolean jd_rope              (JdBackend *backend, const JdTensor *x, const JdTensor *positions,
                               int heads, int n_axes, const int *axis_dims, float base,
                               JdTensor *dst, GError **error);
gboolean jd_timestep_embedding (JdBackend *backend, const JdTensor *timesteps, int dim,
                                gboolean flip_sin_to_cos, float downscale_freq_shift,
                                float scale, float max_period, JdTensor *dst, GError **error);

/* Gaussian noise, identical on every backend (jd-philox.h). */
gboolean jd_normal_noise      (JdBackend *backend, uint64_t seed, uint64_t offset,
                               JdTensor *dst, GError **error);

G_END_DECLS

/* jd-backend.h — what a compute backend (CPU, CUDA) provides to the engine.
 *
 * A backend owns device memory and runs ops from the table in jd-op.h. Callers reach it only
 * through these functions and the op front ends in engine/nn/jd-ops.h, so a new backend is a new
 * JdBackendClass and nothing else changes.
 */
#pragma once

#include <glib.h>

#include "jd-op.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;  /* "cpu", "cuda" */

  gpointer (*alloc)       (JdBackend *self, gsize nbytes, GError **error);
  void     (*free)        (JdBackend *self, gpointer data);
  /* Host <-> device copies; for the CPU backend both are memcpy. */
  gboolean (*upload)      (JdBackend *self, gpointer dst, gconstpointer host_src, gsize nbytes,
                           GError **error);
  gboolean (*download)    (JdBackend *self, gpointer host_dst, gconstpointer src, gsize nbytes,
                           GError **error);
  /* Whether this backend can run op (kind, dtypes and shapes as given). */
  gboolean (*supports)    (JdBackend *self, const JdOp *op);
  gboolean (*run)         (JdBackend *self, const JdOp *op, GError **error);
  /* Waits until every op issued so far has finished. */
  gboolean (*synchronize) (JdBackend *self, GError **error);
  void     (*destroy)     (JdBackend *self);
} JdBackendClass;

/* What a backend has run since it was made or last reset: op calls and FLOPs per op kind, as
 * jd_op_flops counts them. Kept by jd_backend_run (ops are issued from one thread). */
typedef struct {
  guint64 calls[JD_OP_COUNT];
  double  flops[JD_OP_COUNT];
} JdBackendStats;

struct _JdBackend {
  const JdBackendClass *klass;
  JdBackendStats        stats;  /* zeroed by the backend's constructor (g_new0) */
};

const char *jd_backend_name        (JdBackend     *backend);
gpointer    jd_backend_alloc       (JdBackend     *backend,
                                    gsize          nbytes,
                                    GError       **error);
void        jd_backend_free        (JdBackend     *backend,
                                    gpointer       data);
gboolean    jd_backend_upload      (JdBackend     *backend,
                                    gpointer       dst,
                                    gconstpointer  host_src,
                                    gsize          nbytes,
                                    GError       **error);
gboolean    jd_backend_download    (JdBackend     *backend,
                                    gpointer       host_dst,
                                    gconstpointer  src,
                                    gsize          nbytes,
                                    GError       **error);
gboolean    jd_backend_supports    (JdBackend     *backend,
                                    const JdOp    *op);
/* Runs op, or fails with JD_ERROR_UNSUPPORTED naming the op when the backend cannot. */
gboolean    jd_backend_run         (JdBackend     *backend,
                                    const JdOp    *op,
                                    GError       **error);
gboolean    jd_backend_synchronize (JdBackend     *backend,
                                    GError       **error);
void        jd_backend_destroy     (JdBackend     *backend);

/* The floating-point operations op performs, a multiply-add counting two: linear 2·M·N·K,
 * convolutions 2·(output elements)·Cin·(kernel size) (transposed: 2·(input elements)·Cout·k),
 * attention 2·B·H·Σ_segments(Lq·Lk)·(Dqk + Dv) (QKᵀ and PV; the softmax is not counted). Norms,
 * elementwise, layout, RoPE, embedding and noise ops count 0: memory-bound work whose cost is
 * not in multiply-adds (their calls are still counted in the stats). */
double      jd_op_flops            (const JdOp    *op);
/* Copies the backend's counters into stats; *total_flops (may be NULL) gets their sum. */
void        jd_backend_get_stats   (JdBackend      *backend,
                                    JdBackendStats *stats,
                                    double         *total_flops);
void        jd_backend_reset_stats (JdBackend     *backend);

/* Copies a host F32 array into tensor (on its backend) and back. */
gboolean    jd_tensor_upload_f32   (JdTensor      *tensor,
                                    const float   *host,
                                    GError       **error);
gboolean    jd_tensor_download_f32 (const JdTensor *tensor,
                                    float         *host,
                                    GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdBackend, jd_backend_destroy)

G_END_DECLS

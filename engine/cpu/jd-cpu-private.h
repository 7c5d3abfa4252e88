/* jd-cpu-private.h — what the CPU backend's kernel files share.
 *
 * One file per family of ops; each exports jd_cpu_run_<op> and, where some shapes are not
 * handled, jd_cpu_supports_<op>. jd-cpu-backend.c holds the dispatch table.
 */
#pragma once

#include <oneapi/dnnl/dnnl.h>

#include "jd-cpu-backend.h"
#include "jd-cpu-block-cache.h"
#include "jd-error.h"

G_BEGIN_DECLS

typedef struct _JdCpuDnnlCache JdCpuDnnlCache;

typedef struct {
  JdBackend       parent;
  JdThreadPool   *pool;
  dnnl_engine_t   dnnl_engine;
  dnnl_stream_t   dnnl_stream;
  JdCpuDnnlCache *dnnl_cache;  /* primitives by op and shape, owned by jd-cpu-dnnl.c */
  JdCpuBlockCache *blocks;     /* tensor memory, reused across ops (jd-cpu-block-cache.h) */
} JdCpuBackend;

typedef gboolean (*JdCpuRunFunc) (JdCpuBackend *self, const JdOp *op, GError **error);

/* Turns a failed oneDNN status into a GError naming the call. */
gboolean jd_cpu_dnnl_check (dnnl_status_t status, const char *what, GError **error);

/* jd-cpu-dnnl.c: linear layers and convolutions through oneDNN. */
JdCpuDnnlCache *jd_cpu_dnnl_cache_new  (void);
void            jd_cpu_dnnl_cache_free (JdCpuDnnlCache *cache);
gboolean jd_cpu_run_linear            (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_conv2d            (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_conv_temporal     (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_conv1d            (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_conv_transpose1d  (JdCpuBackend *self, const JdOp *op, GError **error);

/* jd-cpu-norm.c */
gboolean jd_cpu_run_group_norm        (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_layer_norm        (JdCpuBackend *self, const JdOp *op, GError **error);

/* jd-cpu-elementwise.c */
gboolean jd_cpu_run_unary             (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_binary            (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_broadcast         (JdCpuBackend *self, const JdOp *op, GError **error);

/* jd-cpu-layout.c */
gboolean jd_cpu_run_upsample_nearest  (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_concat            (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_slice             (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_permute           (JdCpuBackend *self, const JdOp *op, GError **error);

/* jd-cpu-position.c */
gboolean jd_cpu_run_rope              (JdCpuBackend *self, const JdOp *op, GError **error);
gboolean jd_cpu_run_timestep_embedding (JdCpuBackend *self, const JdOp *op, GError **error);

/* jd-cpu-attention.c */
gboolean jd_cpu_run_attention         (JdCpuBackend *self, const JdOp *op, GError **error);

/* jd-cpu-noise.c */
gboolean jd_cpu_run_normal_noise      (JdCpuBackend *self, const JdOp *op, GError **error);

G_END_DECLS

/* jd-tensor.h — dense, contiguous, row-major tensors of up to five dimensions.
 *
 * A tensor's data lives in memory of the backend that allocated it (host memory for the CPU
 * backend, device memory for CUDA). A tensor either owns its data (jd_tensor_new) or borrows it
 * (jd_tensor_new_view: weights memory-mapped from a model file, a caller's buffer); freeing a
 * view never frees the data. Shapes are PyTorch-ordered: the last dimension is contiguous.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "jd-dtype.h"

G_BEGIN_DECLS

#define JD_MAX_DIMS 5

typedef struct _JdBackend JdBackend;

typedef struct {
  JdDType    dtype;
  int        ndim;
  int64_t    shape[JD_MAX_DIMS];
  void      *data;
  JdBackend *backend;   /* where data lives; NULL means plain host memory */
  gboolean   owns_data;
  /* Set (jd_tensor_mark_constant) by whoever guarantees the data will never change again, such
   * as weights loaded from a model file. Only then may a backend keep a derived form of the
   * tensor — weights reordered for its kernels — in backend_cache, which is freed with the
   * tensor by backend_cache_free. */
  gboolean       constant;
  gpointer       backend_cache;
  GDestroyNotify backend_cache_free;
} JdTensor;

/* Allocates an uninitialised tensor on backend (host memory when backend is NULL). Fails with
 * JD_ERROR_INVALID_ARGUMENT for a bad shape and JD_ERROR_OUT_OF_MEMORY when allocation fails. */
JdTensor   *jd_tensor_new        (JdBackend     *backend,
                                  JdDType        dtype,
                                  int            ndim,
                                  const int64_t *shape,
                                  GError       **error);
/* Convenience for F32 tensors with the shape given as arguments, e.g. jd_tensor_new_f32 (be,
 * &error, 3, 2, 5, 7). */
JdTensor   *jd_tensor_new_f32    (JdBackend     *backend,
                                  GError       **error,
                                  int            ndim,
                                  ...);
/* Wraps existing memory without taking ownership. */
JdTensor   *jd_tensor_new_view   (JdBackend     *backend,
                                  JdDType        dtype,
                                  int            ndim,
                                  const int64_t *shape,
                                  void          *data);
void        jd_tensor_free       (JdTensor      *tensor);
/* Promises that tensor's data never changes from now on (see JdTensor.constant). */
void        jd_tensor_mark_constant (JdTensor   *tensor);

int64_t     jd_tensor_numel      (const JdTensor *tensor);
gsize       jd_tensor_nbytes     (const JdTensor *tensor);
gboolean    jd_tensor_same_shape (const JdTensor *a,
                                  const JdTensor *b);
/* "[2, 3, 4]"; free with g_free. */
char       *jd_shape_to_string   (int            ndim,
                                  const int64_t *shape);
char       *jd_tensor_shape_string (const JdTensor *tensor);

/* Product of the dims with overflow checks: FALSE when ndim is out of 0..JD_MAX_DIMS, a dim is
 * negative, or the product (times element_size) does not fit in int64_t. */
gboolean    jd_shape_checked_numel (int            ndim,
                                    const int64_t *shape,
                                    gsize          element_size,
                                    int64_t       *numel,
                                    int64_t       *nbytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdTensor, jd_tensor_free)

G_END_DECLS

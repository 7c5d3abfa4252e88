/* jd-weights.h — the parameter store the models read their weights from.
 *
 * A store looks tensors up by their full names ("video.unet.conv_in.weight") in a model file,
 * loads each as F32 onto the backend the first time it is asked for (jd_safetensors_load_f32:
 * converted from F16/BF16, or a zero-copy view into the mapping for aligned F32 on the CPU) and
 * keeps it, so a tensor shared by two layers is loaded once. The store owns the tensors; layers
 * hold borrowed pointers that stay valid while the store lives. The file (or bundle) the store
 * reads must outlive the store.
 *
 * Every lookup states the shape the model expects: a tensor of another shape is a
 * JD_ERROR_MODEL_FILE naming the file, the tensor and both shapes; a missing one names the file
 * and the tensor. A store can also be filled by hand (jd_weights_add), which tests use to run
 * layers on weights made in memory.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "jd-backend.h"
#include "jd-bundle.h"
#include "jd-safetensors.h"

G_BEGIN_DECLS

typedef struct _JdWeights JdWeights;

/* A store over file (borrowed; may be NULL for a store filled only by jd_weights_add). */
JdWeights      *jd_weights_new             (JdSafetensors   *file,
                                            JdBackend       *backend);
/* A store with no file that makes up every tensor asked for, with the shape asked for: random
 * N(0, 1/fan_in) values drawn on backend from Philox under seed. For benchmarks of models at
 * sizes no file is shipped for (jointdit bench gpu); jd_weights_has stays FALSE for them. */
JdWeights      *jd_weights_new_random      (JdBackend       *backend,
                                            uint64_t         seed);
/* A store over a bundle's tensors (the bundle is borrowed). */
JdWeights      *jd_weights_new_for_bundle  (JdBundle        *bundle,
                                            JdBackend       *backend);
void            jd_weights_free            (JdWeights       *weights);

JdBackend      *jd_weights_get_backend     (JdWeights       *weights);
/* The file's name for messages ("in-memory weights" without a file). */
const char     *jd_weights_get_source_name (JdWeights       *weights);

/* Adds tensor under name, taking ownership (it must be F32 on the store's backend). Fails with
 * JD_ERROR_INVALID_ARGUMENT when the name is taken. */
gboolean        jd_weights_add             (JdWeights       *weights,
                                            const char      *name,
                                            JdTensor        *tensor,
                                            GError         **error);

/* Whether a tensor of that name exists (added or in the file), loaded or not. */
gboolean        jd_weights_has             (JdWeights       *weights,
                                            const char      *name);

/* The named tensor with exactly this shape, owned by the store; NULL with JD_ERROR_MODEL_FILE
 * when it is missing or has another shape. */
const JdTensor *jd_weights_get             (JdWeights       *weights,
                                            const char      *name,
                                            int              ndim,
                                            const int64_t   *shape,
                                            GError         **error);
/* Like jd_weights_get, but a missing tensor is not an error: *out is set to NULL and TRUE is
 * returned. A tensor that is there with the wrong shape still fails. */
gboolean        jd_weights_get_optional    (JdWeights       *weights,
                                            const char      *name,
                                            int              ndim,
                                            const int64_t   *shape,
                                            const JdTensor **out,
                                            GError         **error);

/* Prefix helpers: the name "prefix.suffix" (just suffix when prefix is NULL or empty), and the
 * lookups above on it. Layers are initialised from a prefix such as
 * "video.unet.down_blocks.0.resnets.1" and ask for "norm1.weight" under it. */
char           *jd_weights_join            (const char      *prefix,
                                            const char      *suffix);
/* jd_weights_join with a formatted suffix: jd_weights_join_printf (p, "resnets.%d", i). */
char           *jd_weights_join_printf     (const char      *prefix,
                                            const char      *format,
                                            ...) G_GNUC_PRINTF (2, 3);
const JdTensor *jd_weights_get_in          (JdWeights       *weights,
                                            const char      *prefix,
                                            const char      *suffix,
                                            int              ndim,
                                            const int64_t   *shape,
                                            GError         **error);
gboolean        jd_weights_get_optional_in (JdWeights       *weights,
                                            const char      *prefix,
                                            const char      *suffix,
                                            int              ndim,
                                            const int64_t   *shape,
                                            const JdTensor **out,
                                            GError         **error);

/* How many tensors have been loaded (or added) so far, and their total F32 bytes. */
guint           jd_weights_get_n_loaded    (JdWeights       *weights);
gsize           jd_weights_get_loaded_bytes (JdWeights      *weights);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdWeights, jd_weights_free)

G_END_DECLS

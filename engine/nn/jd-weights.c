#include "jd-weights.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "jd-error.h"
#include "jd-ops.h"

struct _JdWeights {
  JdSafetensors *file;     /* borrowed, may be NULL */
  JdBackend     *backend;
  GHashTable    *tensors;  /* name -> JdTensor, owned */
  /* jd_weights_new_random: every tensor asked for is made up (Philox noise, counters advancing
   * per tensor). */
  gboolean       random;
  uint64_t       random_seed;
  uint64_t       random_offset;
};

JdWeights *
jd_weights_new (JdSafetensors *file,
                JdBackend     *backend)
{
  JdWeights *weights = g_new0 (JdWeights, 1);
  weights->file = file;
  weights->backend = backend;
  weights->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) jd_tensor_free);
  return weights;
}

JdWeights *
jd_weights_new_random (JdBackend *backend,
                       uint64_t   seed)
{
  JdWeights *weights = jd_weights_new (NULL, backend);
  weights->random = TRUE;
  weights->random_seed = seed;
  return weights;
}

/* A made-up weight of the requested shape on the store's backend: N(0, 1/fan_in) with fan_in
 * the product of the dims after the first (1 for vectors), drawn on the backend itself so a
 * full-scale model appears in a moment on a GPU. */
static JdTensor *
make_random (JdWeights     *weights,
             const char    *name,
             int            ndim,
             const int64_t *shape,
             GError       **error)
{
  g_autoptr (JdTensor) tensor = jd_tensor_new (weights->backend, JD_DTYPE_F32, ndim, shape, error);
  if (tensor == NULL)
    return NULL;
  const int64_t n = jd_tensor_numel (tensor);
  const int64_t fan_in = ndim >= 2 && shape[0] > 0 ? n / shape[0] : 1;
  JD_TRY_NULL (jd_normal_noise (weights->backend, weights->random_seed, weights->random_offset,
                                tensor, error));
  JD_TRY_NULL (jd_unary (weights->backend, JD_UNARY_AFFINE, (float) (1.0 / sqrt ((double) MAX (fan_in, 1))),
                         0.0f, tensor, tensor, error));
  weights->random_offset += (uint64_t) n;
  jd_tensor_mark_constant (tensor);
  g_hash_table_insert (weights->tensors, g_strdup (name), tensor);
  return g_steal_pointer (&tensor);
}

JdWeights *
jd_weights_new_for_bundle (JdBundle  *bundle,
                           JdBackend *backend)
{
  return jd_weights_new (jd_bundle_get_file (bundle), backend);
}

void
jd_weights_free (JdWeights *weights)
{
  if (weights == NULL)
    return;
  /* Views into the file's mapping are freed before the file, which the caller frees later. */
  g_hash_table_destroy (weights->tensors);
  g_free (weights);
}

JdBackend *
jd_weights_get_backend (JdWeights *weights)
{
  return weights->backend;
}

const char *
jd_weights_get_source_name (JdWeights *weights)
{
  return weights->file != NULL ? jd_safetensors_get_name (weights->file) : "in-memory weights";
}

gboolean
jd_weights_add (JdWeights  *weights,
                const char *name,
                JdTensor   *tensor,
                GError    **error)
{
  if (g_hash_table_contains (weights->tensors, name)
      || (weights->file != NULL && jd_safetensors_lookup (weights->file, name) != NULL))
    {
      g_autofree char *qname = jd_safetensors_quote (name);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Cannot add the weight “%s”: the store already has a tensor of that name",
                   qname);
      jd_tensor_free (tensor);
      return FALSE;
    }
  g_hash_table_insert (weights->tensors, g_strdup (name), tensor);
  return TRUE;
}

gboolean
jd_weights_has (JdWeights  *weights,
                const char *name)
{
  return g_hash_table_contains (weights->tensors, name)
         || (weights->file != NULL && jd_safetensors_lookup (weights->file, name) != NULL);
}

static gboolean
shape_matches (int            ndim,
               const int64_t *shape,
               int            want_ndim,
               const int64_t *want_shape)
{
  if (ndim != want_ndim)
    return FALSE;
  for (int i = 0; i < ndim; i++)
    if (shape[i] != want_shape[i])
      return FALSE;
  return TRUE;
}

static void
set_wrong_shape (GError        **error,
                 JdWeights      *weights,
                 const char     *name,
                 int             have_ndim,
                 const int64_t  *have_shape,
                 int             ndim,
                 const int64_t  *shape)
{
  g_autofree char *qname = jd_safetensors_quote (name);
  g_autofree char *qfile = jd_safetensors_quote (jd_weights_get_source_name (weights));
  g_autofree char *have = jd_shape_to_string (have_ndim, have_shape);
  g_autofree char *want = jd_shape_to_string (ndim, shape);
  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
               "The tensor “%s” in the model file “%s” has shape %s, but the model's config "
               "needs %s", qname, qfile, have, want);
}

static const JdTensor *
lookup (JdWeights     *weights,
        const char    *name,
        int            ndim,
        const int64_t *shape,
        GError       **error)
{
  JdTensor *tensor = g_hash_table_lookup (weights->tensors, name);
  if (tensor != NULL)
    {
      if (!shape_matches (tensor->ndim, tensor->shape, ndim, shape))
        {
          set_wrong_shape (error, weights, name, tensor->ndim, tensor->shape, ndim, shape);
          return NULL;
        }
      return tensor;
    }

  if (weights->random)
    return make_random (weights, name, ndim, shape, error);
  const JdSafetensorsEntry *entry =
    weights->file != NULL ? jd_safetensors_lookup (weights->file, name) : NULL;
  if (entry == NULL)
    {
      g_autofree char *qname = jd_safetensors_quote (name);
      g_autofree char *qfile = jd_safetensors_quote (jd_weights_get_source_name (weights));
      g_autofree char *want = jd_shape_to_string (ndim, shape);
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "The model file “%s” has no tensor “%s” (the model needs it, with shape "
                   "%s): the file does not match this model's config", qfile, qname, want);
      return NULL;
    }
  /* Checked before loading, so a wrong shape costs no conversion. */
  if (!shape_matches (entry->ndim, entry->shape, ndim, shape))
    {
      set_wrong_shape (error, weights, name, entry->ndim, entry->shape, ndim, shape);
      return NULL;
    }
  tensor = jd_safetensors_load_f32 (weights->file, name, weights->backend, error);
  if (tensor == NULL)
    return NULL;
  /* Weights never change once loaded, so the backend may cache reordered forms of them. */
  jd_tensor_mark_constant (tensor);
  g_hash_table_insert (weights->tensors, g_strdup (name), tensor);
  return tensor;
}

const JdTensor *
jd_weights_get (JdWeights     *weights,
                const char    *name,
                int            ndim,
                const int64_t *shape,
                GError       **error)
{
  return lookup (weights, name, ndim, shape, error);
}

gboolean
jd_weights_get_optional (JdWeights       *weights,
                         const char      *name,
                         int              ndim,
                         const int64_t   *shape,
                         const JdTensor **out,
                         GError         **error)
{
  *out = NULL;
  if (!jd_weights_has (weights, name))
    return TRUE;
  *out = lookup (weights, name, ndim, shape, error);
  return *out != NULL;
}

char *
jd_weights_join (const char *prefix,
                 const char *suffix)
{
  if (prefix == NULL || prefix[0] == '\0')
    return g_strdup (suffix);
  return g_strconcat (prefix, ".", suffix, NULL);
}

char *
jd_weights_join_printf (const char *prefix,
                        const char *format,
                        ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *suffix = g_strdup_vprintf (format, args);
  va_end (args);
  return jd_weights_join (prefix, suffix);
}

const JdTensor *
jd_weights_get_in (JdWeights     *weights,
                   const char    *prefix,
                   const char    *suffix,
                   int            ndim,
                   const int64_t *shape,
                   GError       **error)
{
  g_autofree char *name = jd_weights_join (prefix, suffix);
  return jd_weights_get (weights, name, ndim, shape, error);
}

gboolean
jd_weights_get_optional_in (JdWeights       *weights,
                            const char      *prefix,
                            const char      *suffix,
                            int              ndim,
                            const int64_t   *shape,
                            const JdTensor **out,
                            GError         **error)
{
  g_autofree char *name = jd_weights_join (prefix, suffix);
  return jd_weights_get_optional (weights, name, ndim, shape, out, error);
}

guint
jd_weights_get_n_loaded (JdWeights *weights)
{
  return g_hash_table_size (weights->tensors);
}

gsize
jd_weights_get_loaded_bytes (JdWeights *weights)
{
  gsize total = 0;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, weights->tensors);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    total += jd_tensor_nbytes (value);
  return total;
}

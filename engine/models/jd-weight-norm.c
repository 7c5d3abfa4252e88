/* jd-weight-norm.c — folding weight-normalised conv weights on load. */
#include "jd-weight-norm.h"

#include <math.h>

#include "jd-backend.h"
#include "jd-error.h"

void
jd_weight_norm_fold (const float *g,
                     const float *v,
                     int64_t      rows,
                     int64_t      row_size,
                     float       *w)
{
  for (int64_t o = 0; o < rows; o++)
    {
      const float *vr = v + o * row_size;
      double sum = 0.0;
      for (int64_t i = 0; i < row_size; i++)
        sum += (double) vr[i] * vr[i];
      /* The norm in double: rows of a 1024-channel kernel sum ~16k squares. */
      double factor = sum > 0.0 ? g[o] / sqrt (sum) : 0.0;
      float *wr = w + o * row_size;
      for (int64_t i = 0; i < row_size; i++)
        wr[i] = (float) (vr[i] * factor);
    }
}

static const JdTensor *
fold_pair (JdWeights *weights, const char *name, const char *g_name, const char *v_name,
           int ndim, const int64_t *shape, GError **error)
{
  int64_t g_shape[JD_MAX_DIMS] = { shape[0], 1, 1, 1, 1 };
  const JdTensor *g = jd_weights_get (weights, g_name, ndim, g_shape, error);
  if (g == NULL)
    return NULL;
  const JdTensor *v = jd_weights_get (weights, v_name, ndim, shape, error);
  if (v == NULL)
    return NULL;
  const int64_t rows = shape[0], numel = jd_tensor_numel (v);
  g_autofree float *g_host = g_new (float, MAX (rows, 1));
  g_autofree float *folded = g_new (float, MAX (numel, 1));
  if (!jd_tensor_download_f32 (g, g_host, error) || !jd_tensor_download_f32 (v, folded, error))
    return NULL;
  jd_weight_norm_fold (g_host, folded, rows, rows > 0 ? numel / rows : 0, folded);
  JdTensor *w = jd_tensor_new (jd_weights_get_backend (weights), JD_DTYPE_F32, ndim, shape,
                               error);
  if (w == NULL)
    return NULL;
  if (!jd_tensor_upload_f32 (w, folded, error))
    {
      jd_tensor_free (w);
      return NULL;
    }
  /* The store takes w, also on failure. */
  return jd_weights_add (weights, name, w, error) ? w : NULL;
}

const JdTensor *
jd_weight_norm_get (JdWeights     *weights,
                    const char    *prefix,
                    int            ndim,
                    const int64_t *shape,
                    GError       **error)
{
  g_autofree char *plain = jd_weights_join (prefix, "weight");
  if (jd_weights_has (weights, plain))
    return jd_weights_get (weights, plain, ndim, shape, error);

  g_autofree char *g_old = jd_weights_join (prefix, "weight_g");
  g_autofree char *v_old = jd_weights_join (prefix, "weight_v");
  if (jd_weights_has (weights, g_old) || jd_weights_has (weights, v_old))
    return fold_pair (weights, plain, g_old, v_old, ndim, shape, error);

  g_autofree char *g_param = jd_weights_join (prefix, "parametrizations.weight.original0");
  g_autofree char *v_param = jd_weights_join (prefix, "parametrizations.weight.original1");
  if (jd_weights_has (weights, g_param) || jd_weights_has (weights, v_param))
    return fold_pair (weights, plain, g_param, v_param, ndim, shape, error);

  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
               "%s: no tensor %s (nor its weight-norm forms %s/%s or %s/%s)",
               jd_weights_get_source_name (weights), plain, g_old, v_old, g_param, v_param);
  return NULL;
}

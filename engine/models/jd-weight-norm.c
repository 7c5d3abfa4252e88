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

static JdTensor *
fold_pair (JdSafetensors *file,
           const char    *g_name,
           const char    *v_name,
           JdBackend     *backend,
           GError       **error)
{
  g_autoptr (JdTensor) g = jd_safetensors_load_f32 (file, g_name, NULL, error);
  if (g == NULL)
    return NULL;
  g_autoptr (JdTensor) v = jd_safetensors_load_f32 (file, v_name, NULL, error);
  if (v == NULL)
    return NULL;
  int64_t rows = v->ndim > 0 ? v->shape[0] : 1;
  if (v->ndim < 1 || jd_tensor_numel (g) != rows)
    {
      g_autofree char *gs = jd_tensor_shape_string (g);
      g_autofree char *vs = jd_tensor_shape_string (v);
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "%s: weight-norm magnitude %s %s needs one value per row of direction %s %s",
                   jd_safetensors_get_name (file), g_name, gs, v_name, vs);
      return NULL;
    }
  g_autoptr (JdTensor) w = jd_tensor_new (backend, JD_DTYPE_F32, v->ndim, v->shape, error);
  if (w == NULL)
    return NULL;
  g_autofree float *folded = g_new (float, jd_tensor_numel (v));
  jd_weight_norm_fold (g->data, v->data, rows, rows > 0 ? jd_tensor_numel (v) / rows : 0,
                       folded);
  if (!jd_tensor_upload_f32 (w, folded, error))
    return NULL;
  return g_steal_pointer (&w);
}

JdTensor *
jd_weight_norm_load (JdSafetensors *file,
                     const char    *name,
                     JdBackend     *backend,
                     GError       **error)
{
  g_autofree char *plain = g_strconcat (name, ".weight", NULL);
  if (jd_safetensors_lookup (file, plain) != NULL)
    return jd_safetensors_load_f32 (file, plain, backend, error);

  g_autofree char *g_old = g_strconcat (name, ".weight_g", NULL);
  g_autofree char *v_old = g_strconcat (name, ".weight_v", NULL);
  if (jd_safetensors_lookup (file, g_old) != NULL || jd_safetensors_lookup (file, v_old) != NULL)
    return fold_pair (file, g_old, v_old, backend, error);

  g_autofree char *g_new_ = g_strconcat (name, ".parametrizations.weight.original0", NULL);
  g_autofree char *v_new = g_strconcat (name, ".parametrizations.weight.original1", NULL);
  if (jd_safetensors_lookup (file, g_new_) != NULL || jd_safetensors_lookup (file, v_new) != NULL)
    return fold_pair (file, g_new_, v_new, backend, error);

  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
               "%s: no tensor %s (nor its weight-norm forms %s/%s or %s/%s)",
               jd_safetensors_get_name (file), plain, g_old, v_old, g_new_, v_new);
  return NULL;
}

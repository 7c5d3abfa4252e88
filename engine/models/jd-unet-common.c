#include "jd-unet-common.h"

#include <string.h>

#include "jd-config-read.h"
#include "jd-error.h"

GPtrArray *
jd_unet_skips_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) jd_tensor_free);
}

static JdTensor *
copy_tensor (const JdTensor *h, GError **error)
{
  g_autoptr (JdTensor) copy = jd_layer_new_tensor (h->backend, h->ndim, h->shape, error);
  if (copy == NULL || !jd_unary (h->backend, JD_UNARY_IDENTITY, 0, 0, h, copy, error))
    return NULL;
  return g_steal_pointer (&copy);
}

gboolean
jd_unet_skips_push_copy (GPtrArray *skips, const JdTensor *h, GError **error)
{
  JdTensor *copy = copy_tensor (h, error);
  if (copy == NULL)
    return FALSE;
  g_ptr_array_add (skips, copy);
  return TRUE;
}

gboolean
jd_unet_skips_replace_last (GPtrArray *skips, const JdTensor *h, GError **error)
{
  if (skips->len == 0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Cannot replace the last skip of a UNet stage: the skip list is empty");
      return FALSE;
    }
  JdTensor *last = g_ptr_array_index (skips, skips->len - 1);
  if (!jd_tensor_same_shape (last, h))
    {
      g_autofree char *have = jd_tensor_shape_string (last);
      g_autofree char *given = jd_tensor_shape_string (h);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Cannot replace the last skip %s of a UNet stage with a tensor of shape %s",
                   have, given);
      return FALSE;
    }
  JdTensor *copy = copy_tensor (h, error);
  if (copy == NULL)
    return FALSE;
  jd_tensor_free (g_ptr_array_steal_index (skips, skips->len - 1));
  g_ptr_array_add (skips, copy);
  return TRUE;
}

JdTensor *
jd_unet_skips_pop (GPtrArray *skips, GError **error)
{
  if (skips->len == 0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "The UNet's up path needs another skip, but the skip list is empty: run "
                   "every encoder stage before decoding");
      return NULL;
    }
  return g_ptr_array_steal_index (skips, skips->len - 1);
}

gboolean
jd_unet_config_per_block (JsonObject *object, const char *path, const char *key, int n_blocks,
                          int64_t min, int64_t max, int64_t default_value, int64_t *out,
                          GError **error)
{
  if (!jd_config_has (object, key) && default_value >= 0)
    {
      for (int i = 0; i < n_blocks; i++)
        out[i] = default_value;
      return TRUE;
    }
  JsonNode *node = json_object_get_member (object, key);
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    return jd_config_int_array (object, path, key, min, max, n_blocks, n_blocks, out, NULL,
                                error);
  int64_t value;
  if (!jd_config_int (object, path, key, min, max, &value, error))
    return FALSE;
  for (int i = 0; i < n_blocks; i++)
    out[i] = value;
  return TRUE;
}

char **
jd_unet_stage_names_new (int n_blocks)
{
  char **names = g_new0 (char *, n_blocks + 3);
  names[0] = g_strdup ("conv_in");
  for (int i = 0; i < n_blocks; i++)
    names[i + 1] = g_strdup_printf ("down_blocks.%d", i);
  names[n_blocks + 1] = g_strdup ("mid_block");
  return names;
}

int
jd_unet_stage_find (char *const *names, const char *name)
{
  for (int i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], name) == 0)
      return i;
  return -1;
}

int64_t
jd_unet_stage_channels (const int64_t *block_channels, int n_blocks, guint stage)
{
  if (stage == 0)
    return block_channels[0];
  return block_channels[MIN ((int) stage - 1, n_blocks - 1)];
}

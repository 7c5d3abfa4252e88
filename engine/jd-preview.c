/* jd-preview.c — cheap pictures of x̂₀ through the bundle's linear preview maps.
 *
 * Config (optional):
 *   "preview": { "video_rgb": { "weight": [[C numbers] × 3], "bias": [3 numbers] },
 *                "audio_mel": { "weight": [C numbers], "bias": number } }
 * Both maps are fitted when a bundle is made; a bundle without them simply has no previews.
 * They run as 1×1 convolutions on the engine's backend (on CUDA: on the GPU, where x̂₀ is), so
 * only the mapped planes are copied back; the bytes and the mel stretch are made on the host.
 */
#include "jd-engine-private.h"

#include <math.h>
#include <string.h>

#include "jd-error.h"
#include "jd-ops.h"

static gboolean
read_numbers (JsonArray *array, const char *path, int n, float *out, GError **error)
{
  if (array == NULL || (int) json_array_get_length (array) != n)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "config %s must be an array of %d numbers", path, n);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_VALUE (node)
          || (json_node_get_value_type (node) != G_TYPE_DOUBLE
              && json_node_get_value_type (node) != G_TYPE_INT64)
          || !isfinite (json_node_get_double (node)))
        {
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "config %s[%d] must be a finite number", path, i);
          return FALSE;
        }
      out[i] = (float) json_node_get_double (node);
    }
  return TRUE;
}

static JsonArray *
member_array (JsonObject *object, const char *key)
{
  JsonNode *node = object ? json_object_get_member (object, key) : NULL;
  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
member_object (JsonObject *object, const char *key)
{
  JsonNode *node = object ? json_object_get_member (object, key) : NULL;
  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

gboolean
jd_preview_maps_read (JsonObject *root, int video_channels, int audio_channels,
                      JdPreviewMaps *maps, GError **error)
{
  memset (maps, 0, sizeof *maps);
  if (!json_object_has_member (root, "preview"))
    return TRUE;
  if (video_channels > JD_PREVIEW_MAX_CHANNELS || audio_channels > JD_PREVIEW_MAX_CHANNELS)
    return TRUE;  /* wider than any preview map we draw: no previews, not an error */
  JsonObject *preview = member_object (root, "preview");
  JsonObject *rgb = member_object (preview, "video_rgb");
  JsonObject *mel = member_object (preview, "audio_mel");
  if (preview == NULL || rgb == NULL || mel == NULL)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "config preview must be an object with objects video_rgb and audio_mel");
      return FALSE;
    }
  JsonArray *rows = member_array (rgb, "weight");
  if (rows == NULL || json_array_get_length (rows) != 3)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "config preview.video_rgb.weight must be 3 rows of %d numbers",
                   video_channels);
      return FALSE;
    }
  for (int r = 0; r < 3; r++)
    {
      g_autofree char *path = g_strdup_printf ("preview.video_rgb.weight[%d]", r);
      JsonNode *row = json_array_get_element (rows, r);
      if (!read_numbers (JSON_NODE_HOLDS_ARRAY (row) ? json_node_get_array (row) : NULL, path,
                         video_channels, maps->rgb_weight[r], error))
        return FALSE;
    }
  if (!read_numbers (member_array (rgb, "bias"), "preview.video_rgb.bias", 3, maps->rgb_bias,
                     error)
      || !read_numbers (member_array (mel, "weight"), "preview.audio_mel.weight", audio_channels,
                        maps->mel_weight, error))
    return FALSE;
  JsonNode *bias = json_object_get_member (mel, "bias");
  if (bias == NULL || !JSON_NODE_HOLDS_VALUE (bias)
      || (json_node_get_value_type (bias) != G_TYPE_DOUBLE
          && json_node_get_value_type (bias) != G_TYPE_INT64)
      || !isfinite (json_node_get_double (bias)))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "config preview.audio_mel.bias must be a finite number");
      return FALSE;
    }
  maps->mel_bias = (float) json_node_get_double (bias);
  maps->video_channels = video_channels;
  maps->audio_channels = audio_channels;
  maps->available = TRUE;
  return TRUE;
}

static JdTensor *
constant_tensor (JdBackend *backend, const float *values, int ndim, const int64_t *shape,
                 GError **error)
{
  g_autoptr (JdTensor) t = jd_tensor_new (backend, JD_DTYPE_F32, ndim, shape, error);
  if (t == NULL || !jd_tensor_upload_f32 (t, values, error))
    return NULL;
  jd_tensor_mark_constant (t);
  return g_steal_pointer (&t);
}

gboolean
jd_preview_maps_upload (JdPreviewMaps *maps, JdBackend *backend, GError **error)
{
  if (!maps->available)
    return TRUE;
  int cv = maps->video_channels, ca = maps->audio_channels;
  float rgb[3 * JD_PREVIEW_MAX_CHANNELS];
  for (int r = 0; r < 3; r++)
    memcpy (rgb + r * cv, maps->rgb_weight[r], sizeof (float) * (gsize) cv);
  if ((maps->rgb_conv_weight = constant_tensor (backend, rgb, 4, (int64_t[]) { 3, cv, 1, 1 },
                                                error)) == NULL
      || (maps->rgb_conv_bias = constant_tensor (backend, maps->rgb_bias, 1, (int64_t[]) { 3 },
                                                 error)) == NULL
      || (maps->mel_conv_weight = constant_tensor (backend, maps->mel_weight, 4,
                                                   (int64_t[]) { 1, ca, 1, 1 }, error)) == NULL
      || (maps->mel_conv_bias = constant_tensor (backend, &maps->mel_bias, 1,
                                                 (int64_t[]) { 1 }, error)) == NULL)
    {
      jd_preview_maps_clear (maps);
      return FALSE;
    }
  return TRUE;
}

void
jd_preview_maps_clear (JdPreviewMaps *maps)
{
  g_clear_pointer (&maps->rgb_conv_weight, jd_tensor_free);
  g_clear_pointer (&maps->rgb_conv_bias, jd_tensor_free);
  g_clear_pointer (&maps->mel_conv_weight, jd_tensor_free);
  g_clear_pointer (&maps->mel_conv_bias, jd_tensor_free);
}

/* W·x + b per pixel of x (N, C, H, W) on the backend; returns the (N, C_out, H, W) result copied
 * back to the host. */
static float *
map_planes (JdBackend *backend, const JdTensor *x, const JdTensor *weight, const JdTensor *bias,
            GError **error)
{
  int64_t shape[4] = { x->shape[0], weight->shape[0], x->shape[2], x->shape[3] };
  g_autoptr (JdTensor) y = jd_tensor_new (backend, x->dtype, 4, shape, error);
  if (y == NULL || !jd_conv2d (backend, x, weight, bias, 1, 0, y, error))
    return NULL;
  g_autofree float *host = g_new (float, jd_tensor_numel (y));
  if (!jd_tensor_download_f32 (y, host, error))
    return NULL;
  return g_steal_pointer (&host);
}

static guint8
to_byte (float unit)
{
  float v = roundf (unit * 255.0f);
  return (guint8) (isnan (v) ? 0 : CLAMP (v, 0.0f, 255.0f));
}

gboolean
jd_preview_render (const JdPreviewMaps *maps, JdBackend *backend, const JdTensor *video,
                   const JdTensor *audio, guint8 **frames_out, guint8 **mel_out, GError **error)
{
  int64_t n_frames = video->shape[0], h = video->shape[2], w = video->shape[3];
  gsize plane = (gsize) (h * w);
  g_autofree float *rgb = map_planes (backend, video, maps->rgb_conv_weight,
                                      maps->rgb_conv_bias, error);
  if (rgb == NULL)
    return FALSE;
  /* Audio (C, T, F) is one (1, C, T, F) picture for the map. */
  int64_t t = audio->shape[1], fm = audio->shape[2];
  g_autoptr (JdTensor) audio4 = jd_tensor_new_view (audio->backend, audio->dtype, 4,
                                                    (int64_t[]) { 1, audio->shape[0], t, fm },
                                                    audio->data);
  g_autofree float *values = map_planes (backend, audio4, maps->mel_conv_weight,
                                         maps->mel_conv_bias, error);
  if (values == NULL)
    return FALSE;

  guint8 *frames = g_malloc ((gsize) n_frames * plane * 4);
  for (int64_t f = 0; f < n_frames; f++)
    for (gsize p = 0; p < plane; p++)
      {
        guint8 *px = frames + ((gsize) f * plane + p) * 4;
        for (int r = 0; r < 3; r++)
          px[r] = to_byte ((rgb[((gsize) f * 3 + r) * plane + p] + 1.0f) * 0.5f);
        px[3] = 255;
      }

  /* The mel image is T wide and F high with the lowest bin at the bottom, stretched to its
   * own range (a mel preview has no fixed scale). */
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < t * fm; i++)
    if (isfinite (values[i]))
      {
        lo = MIN (lo, values[i]);
        hi = MAX (hi, values[i]);
      }
  float range = hi > lo ? hi - lo : 1.0f;
  guint8 *mel = g_malloc ((gsize) (t * fm) * 4);
  for (int64_t y = 0; y < fm; y++)
    for (int64_t x = 0; x < t; x++)
      {
        float u = (values[x * fm + (fm - 1 - y)] - lo) / range;
        guint8 *px = mel + ((gsize) (y * t + x)) * 4;
        /* A dark-blue → yellow ramp, so loudness reads at a glance. */
        px[0] = to_byte (u);
        px[1] = to_byte (u * 0.9f);
        px[2] = to_byte (0.4f * (1.0f - u));
        px[3] = 255;
      }
  *frames_out = frames;
  *mel_out = mel;
  return TRUE;
}

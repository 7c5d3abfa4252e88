#include "jd-jointdit.h"

#include <math.h>
#include <string.h>

#include "jd-audio-unet.h"
#include "jd-build-config.h"
#include "jd-config-read.h"
#include "jd-error.h"
#include "jd-joint-block.h"
#include "jd-video-unet.h"
#ifdef JD_HAVE_CUDA
#include "jd-cuda-backend.h"
#endif

#define MAX_JOINT_BLOCKS 16
#define MAX_BATCH 8

struct _JdJointDiT {
  JdDenoiser    denoiser;   /* first: the sampler's handle is this struct */
  JdBackend    *backend;
  JdVideoUNet  *video;
  JdAudioUNet  *audio;
  int           n_blocks;
  JdJointBlock  blocks[MAX_JOINT_BLOCKS];
  guint         video_split[MAX_JOINT_BLOCKS];  /* stage index after which block k sits */
  guint         audio_split[MAX_JOINT_BLOCKS];
  double        rope_base, rope_clock_hz, video_fps, audio_latent_seconds;
  int64_t       video_shape[4];   /* F, C, H, W */
  int64_t       audio_shape[3];   /* C, T, F_mel */
  int64_t       context_dim, image_embed_dim;
  /* The condition, kept on the host: per request it is laid out into batch inputs. */
  gboolean      has_condition;
  float        *image_latent;     /* C·H·W */
  float        *image_embedding;  /* context_dim */
  float         added_time_ids[3];
#ifdef JD_HAVE_CUDA
  /* JD_CUDA_GRAPHS=1 on a GPU: the denoiser's forward replayed as a CUDA graph (unverified on
   * a GPU so far, hence off by default); NULL otherwise. */
  JdCudaGraphCache *graphs;
#endif
};

static gboolean
model_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
model_error (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, JD_ERROR, JD_ERROR_MODEL_FILE, message);
  return FALSE;
}

static JsonObject *
top_object (JsonObject *config, const char *key, GError **error)
{
  JsonNode *node = json_object_get_member (config, key);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      model_error (error, "The model config has no object “%s”: the bundle cannot be run as "
                   "JointDiT", key);
      return NULL;
    }
  return json_node_get_object (node);
}

static gboolean
positive_double (JsonObject *object, const char *key, double *out, GError **error)
{
  JD_TRY_FALSE (jd_config_double (object, "joint", key, out, error));
  if (!(*out > 0.0))
    return model_error (error, "The model config's joint.%s must be positive, not %g", key,
                        *out);
  return TRUE;
}

/* Reads joint.split.{video,audio} into stage indices: increasing stages after the first. */
static gboolean
read_split (JdJointDiT *jd, JsonObject *joint, GError **error)
{
  JsonObject *split = jd_config_object (joint, "joint", "split", error);
  JD_TRY_FALSE (split != NULL);
  g_auto (GStrv) video = jd_config_string_array (split, "joint.split", "video", error);
  JD_TRY_FALSE (video != NULL);
  g_auto (GStrv) audio = jd_config_string_array (split, "joint.split", "audio", error);
  JD_TRY_FALSE (audio != NULL);
  guint n = g_strv_length (video);
  if (n == 0 || n != g_strv_length (audio) || n > MAX_JOINT_BLOCKS)
    return model_error (error, "The model config's joint.split must name the same number (1 to "
                        "%d) of stages for video and audio, not %u and %u", MAX_JOINT_BLOCKS,
                        n, g_strv_length (audio));
  jd->n_blocks = (int) n;
  for (int m = 0; m < 2; m++)
    {
      GStrv names = m == 0 ? video : audio;
      guint *out = m == 0 ? jd->video_split : jd->audio_split;
      for (guint k = 0; k < n; k++)
        {
          int index = m == 0 ? jd_video_unet_find_stage (jd->video, names[k])
                             : jd_audio_unet_find_stage (jd->audio, names[k]);
          if (index < 1 || (k > 0 && (guint) index <= out[k - 1]))
            {
              g_autofree char *quoted = jd_safetensors_quote (names[k]);
              return model_error (error, "The model config's joint.split.%s[%u] “%s” must be "
                                  "an encoder stage after conv_in (down_blocks.N or mid_block), "
                                  "later than the one before it", m == 0 ? "video" : "audio",
                                  k, quoted);
            }
          out[k] = (guint) index;
        }
    }
  return TRUE;
}

static gboolean
read_shapes (JdJointDiT *jd, JsonObject *config, GError **error)
{
  JsonObject *shapes = top_object (config, "shapes", error);
  JD_TRY_FALSE (shapes != NULL);
  int64_t frames;
  JD_TRY_FALSE (jd_config_int (shapes, "shapes", "frames", 1, 4096, &frames, error));
  int64_t video[3], audio[3];
  JD_TRY_FALSE (jd_config_int_array (shapes, "shapes", "video_latent", 1, 1 << 16, 3, 3, video,
                                     NULL, error));
  JD_TRY_FALSE (jd_config_int_array (shapes, "shapes", "audio_latent", 1, 1 << 20, 3, 3, audio,
                                     NULL, error));
  jd->video_shape[0] = frames;
  memcpy (jd->video_shape + 1, video, sizeof video);
  memcpy (jd->audio_shape, audio, sizeof audio);
  if (jd_video_unet_get_in_channels (jd->video) != 2 * video[0]
      || jd_video_unet_get_out_channels (jd->video) != video[0])
    return model_error (error, "The model config's shapes.video_latent has %" G_GINT64_FORMAT
                        " channels, but the video UNet takes %" G_GINT64_FORMAT " (latent and "
                        "image latent) and gives %" G_GINT64_FORMAT, video[0],
                        jd_video_unet_get_in_channels (jd->video),
                        jd_video_unet_get_out_channels (jd->video));
  if (jd_audio_unet_get_in_channels (jd->audio) != audio[0]
      || jd_audio_unet_get_out_channels (jd->audio) != audio[0])
    return model_error (error, "The model config's shapes.audio_latent has %" G_GINT64_FORMAT
                        " channels, but the audio UNet takes %" G_GINT64_FORMAT " and gives %"
                        G_GINT64_FORMAT, audio[0], jd_audio_unet_get_in_channels (jd->audio),
                        jd_audio_unet_get_out_channels (jd->audio));
  return TRUE;
}

static gboolean jointdit_denoise (JdDenoiser *self, const JdDenoiseRequest *request,
                                  GError **error);

static const JdDenoiserClass jointdit_denoiser_class = { jointdit_denoise };

JdJointDiT *
jd_jointdit_new (JdWeights *weights, JsonObject *config, GError **error)
{
  g_autoptr (JdJointDiT) jd = g_new0 (JdJointDiT, 1);
  jd->denoiser.klass = &jointdit_denoiser_class;
  jd->backend = jd_weights_get_backend (weights);
#ifdef JD_HAVE_CUDA
  jd->graphs = jd_cuda_graph_cache_new (jd->backend);
#endif
  JsonObject *video_config = top_object (config, "video_unet", error);
  JD_TRY_NULL (video_config != NULL);
  JsonObject *audio_config = top_object (config, "audio_unet", error);
  JD_TRY_NULL (audio_config != NULL);
  JsonObject *joint = top_object (config, "joint", error);
  JD_TRY_NULL (joint != NULL);
  jd->video = jd_video_unet_new (weights, video_config, "video_unet", "video.unet", error);
  JD_TRY_NULL (jd->video != NULL);
  jd->audio = jd_audio_unet_new (weights, audio_config, "audio_unet", "audio.unet", error);
  JD_TRY_NULL (jd->audio != NULL);
  JD_TRY_NULL (read_split (jd, joint, error));
  JD_TRY_NULL (read_shapes (jd, config, error));
  int64_t d_qk, d_v, heads;
  JD_TRY_NULL (jd_config_int (joint, "joint", "d_qk", 1, 1 << 16, &d_qk, error));
  JD_TRY_NULL (jd_config_int (joint, "joint", "d_v", 1, 1 << 16, &d_v, error));
  JD_TRY_NULL (jd_config_int (joint, "joint", "heads", 1, 1024, &heads, error));
  JD_TRY_NULL (positive_double (joint, "rope_base", &jd->rope_base, error));
  JD_TRY_NULL (positive_double (joint, "rope_clock_hz", &jd->rope_clock_hz, error));
  JD_TRY_NULL (positive_double (joint, "video_fps", &jd->video_fps, error));
  JD_TRY_NULL (positive_double (joint, "audio_latent_seconds", &jd->audio_latent_seconds, error));
  jd->context_dim = jd_video_unet_get_context_dim (jd->video);
  jd->image_embed_dim = jd_audio_unet_get_image_embed_dim (jd->audio);
  if (jd->image_embed_dim != 0 && jd->image_embed_dim != jd->context_dim)
    {
      model_error (error, "The model config gives the video UNet a context of %" G_GINT64_FORMAT
                   " and the audio UNet an image embedding of %" G_GINT64_FORMAT
                   ": both come from one image embedding, so they must be equal",
                   jd->context_dim, jd->image_embed_dim);
      return NULL;
    }
  for (int k = 0; k < jd->n_blocks; k++)
    {
      g_autofree char *prefix = g_strdup_printf ("joint.blocks.%d", k);
      JD_TRY_NULL (jd_joint_block_init (&jd->blocks[k], weights, prefix,
                                        jd_video_unet_get_stage_channels (jd->video, jd->video_split[k]),
                                        jd_audio_unet_get_stage_channels (jd->audio, jd->audio_split[k]),
                                        jd_video_unet_get_temb_channels (jd->video),
                                        jd_audio_unet_get_temb_channels (jd->audio), d_qk, d_v,
                                        (int) heads, error));
    }
  return g_steal_pointer (&jd);
}

void
jd_jointdit_free (JdJointDiT *jointdit)
{
  if (jointdit == NULL)
    return;
#ifdef JD_HAVE_CUDA
  g_clear_pointer (&jointdit->graphs, jd_cuda_graph_cache_free);
#endif
  g_clear_pointer (&jointdit->video, jd_video_unet_free);
  g_clear_pointer (&jointdit->audio, jd_audio_unet_free);
  g_free (jointdit->image_latent);
  g_free (jointdit->image_embedding);
  g_free (jointdit);
}

void
jd_jointdit_get_latent_shapes (JdJointDiT *jointdit, int64_t video[4], int64_t audio[3])
{
  memcpy (video, jointdit->video_shape, 4 * sizeof (int64_t));
  memcpy (audio, jointdit->audio_shape, 3 * sizeof (int64_t));
}

gboolean
jd_jointdit_set_condition (JdJointDiT *jointdit, const JdTensor *image_latent,
                           const JdTensor *image_embedding, double fps, double motion_bucket_id,
                           double noise_aug_strength, GError **error)
{
  const int64_t *v = jointdit->video_shape;
  if (image_latent->ndim != 3 || image_latent->shape[0] != v[1] || image_latent->shape[1] != v[2]
      || image_latent->shape[2] != v[3] || image_embedding->ndim != 1
      || image_embedding->shape[0] != jointdit->context_dim)
    {
      g_autofree char *ls = jd_tensor_shape_string (image_latent);
      g_autofree char *es = jd_tensor_shape_string (image_embedding);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "JointDiT condition: the image latent %s must be [%" G_GINT64_FORMAT ", %"
                   G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] and the image embedding %s [%"
                   G_GINT64_FORMAT "]", ls, v[1], v[2], v[3], es, jointdit->context_dim);
      return FALSE;
    }
  if (!isfinite (fps) || !isfinite (motion_bucket_id) || !isfinite (noise_aug_strength))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "JointDiT condition: fps %g, motion bucket %g and noise augmentation %g must "
                   "be finite", fps, motion_bucket_id, noise_aug_strength);
      return FALSE;
    }
  g_autofree float *latent = g_new (float, jd_tensor_numel (image_latent));
  g_autofree float *embedding = g_new (float, jd_tensor_numel (image_embedding));
  JD_TRY_FALSE (jd_tensor_download_f32 (image_latent, latent, error));
  JD_TRY_FALSE (jd_tensor_download_f32 (image_embedding, embedding, error));
  g_free (jointdit->image_latent);
  g_free (jointdit->image_embedding);
  jointdit->image_latent = g_steal_pointer (&latent);
  jointdit->image_embedding = g_steal_pointer (&embedding);
  jointdit->added_time_ids[0] = (float) (fps - 1.0);
  jointdit->added_time_ids[1] = (float) motion_bucket_id;
  jointdit->added_time_ids[2] = (float) noise_aug_strength;
  jointdit->has_condition = TRUE;
  return TRUE;
}

JdDenoiser *
jd_jointdit_get_denoiser (JdJointDiT *jointdit)
{
  return &jointdit->denoiser;
}

/* ---- the forward ---- */

static gboolean
check_inputs (JdJointDiT *jd, const JdJointDiTInputs *in, GError **error)
{
  const JdTensor *vs = in->video_sample, *as = in->audio_sample;
  gboolean ok = vs != NULL && as != NULL && in->video_timestep != NULL
                && in->video_context != NULL && in->added_time_ids != NULL
                && in->audio_timestep != NULL && vs->ndim == 5 && as->ndim == 4
                && vs->shape[0] == as->shape[0] && vs->shape[0] <= MAX_BATCH
                && in->audio_timestep->ndim == 1
                && (in->audio_timestep->shape[0] == 1
                    || in->audio_timestep->shape[0] == as->shape[0]);
  if (ok && in->image_embeds != NULL)
    ok = jd->image_embed_dim > 0 && in->image_embeds->ndim == 2
         && in->image_embeds->shape[0] == as->shape[0]
         && in->image_embeds->shape[1] == jd->image_embed_dim;
  if (!ok)
    {
      g_autofree char *v = vs ? jd_tensor_shape_string (vs) : g_strdup ("(none)");
      g_autofree char *a = as ? jd_tensor_shape_string (as) : g_strdup ("(none)");
      g_autofree char *e = in->image_embeds ? jd_tensor_shape_string (in->image_embeds)
                                            : g_strdup ("(none)");
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "JointDiT forward: video sample %s must be (B, F, C, H, W) with B ≤ %d, audio "
                   "sample %s (B, C, T, F), the audio timestep (B) or (1) and the image embeds "
                   "%s (B, %" G_GINT64_FORMAT "); every input but the image embeds is required",
                   v, MAX_BATCH, a, e, jd->image_embed_dim);
      return FALSE;
    }
  return TRUE;
}

/* Audio temb (B, temb): one call when all samples share the image condition, else one per
 * sample, concatenated. */
static JdTensor *
audio_embedding (JdJointDiT *jd, const JdJointDiTInputs *in, const gboolean *has_image,
                 GError **error)
{
  const int64_t batch = in->audio_sample->shape[0];
  gboolean all = TRUE, none = TRUE;
  for (int64_t b = 0; b < batch; b++)
    {
      gboolean with = in->image_embeds != NULL && (has_image == NULL || has_image[b]);
      all &= with;
      none &= !with;
    }
  if (all || none)
    return jd_audio_unet_embed (jd->audio, in->audio_timestep, batch,
                                all ? in->image_embeds : NULL, error);
  const JdTensor *ts = in->audio_timestep;
  JdTensor *parts[MAX_BATCH] = { NULL };
  JdTensor *result = NULL;
  int64_t b = 0;
  for (; b < batch; b++)
    {
      g_autoptr (JdTensor) t = jd_tensor_new_view (ts->backend, ts->dtype, 1, (int64_t[]) { 1 },
                                                   (float *) ts->data
                                                   + (ts->shape[0] == 1 ? 0 : b));
      const JdTensor *e = in->image_embeds;
      g_autoptr (JdTensor) row = NULL;
      if (has_image[b])
        row = jd_tensor_new_view (e->backend, e->dtype, 2, (int64_t[]) { 1, e->shape[1] },
                                  (float *) e->data + b * e->shape[1]);
      parts[b] = jd_audio_unet_embed (jd->audio, t, 1, row, error);
      if (parts[b] == NULL)
        goto out;
    }
  result = jd_layer_new_tensor (jd->backend, 2, (int64_t[]) { batch, parts[0]->shape[1] },
                                error);
  if (result != NULL && !jd_concat (jd->backend, (int) batch, (const JdTensor *const *) parts, 0,
                                    result, error))
    g_clear_pointer (&result, jd_tensor_free);
out:
  for (int64_t i = 0; i < batch; i++)
    g_clear_pointer (&parts[i], jd_tensor_free);
  return result;
}

/* Frame batch (B·F, C, H, W) → tokens (B, F·H·W, C) ordered (t, h, w). */
static JdTensor *
video_to_tokens (JdBackend *backend, const JdTensor *h, int64_t batch, int64_t frames,
                 GError **error)
{
  const int64_t c = h->shape[1], hw = h->shape[2] * h->shape[3];
  g_autoptr (JdTensor) view = jd_tensor_view_as (h, 4, (int64_t[]) { batch, frames, c, hw });
  g_autoptr (JdTensor) tokens = jd_layer_new_tensor (backend, 4,
                                                     (int64_t[]) { batch, frames, hw, c }, error);
  JD_TRY_NULL (tokens != NULL);
  JD_TRY_NULL (jd_permute (backend, view, (int[]) { 0, 1, 3, 2 }, tokens, error));
  jd_tensor_reshape (tokens, 3, (int64_t[]) { batch, frames * hw, c });
  return g_steal_pointer (&tokens);
}

static JdTensor *
tokens_to_video (JdBackend *backend, const JdTensor *tokens, int64_t batch, int64_t frames,
                 int64_t height, int64_t width, GError **error)
{
  const int64_t c = tokens->shape[2], hw = height * width;
  g_autoptr (JdTensor) view = jd_tensor_view_as (tokens, 4,
                                                 (int64_t[]) { batch, frames, hw, c });
  g_autoptr (JdTensor) h = jd_layer_new_tensor (backend, 4,
                                                (int64_t[]) { batch, frames, c, hw }, error);
  JD_TRY_NULL (h != NULL);
  JD_TRY_NULL (jd_permute (backend, view, (int[]) { 0, 1, 3, 2 }, h, error));
  jd_tensor_reshape (h, 4, (int64_t[]) { batch * frames, c, height, width });
  return g_steal_pointer (&h);
}

/* Latents (B, C, T, F) → tokens (B, T·F, C) ordered (t, f). */
static JdTensor *
audio_to_tokens (JdBackend *backend, const JdTensor *h, GError **error)
{
  const int64_t b = h->shape[0], c = h->shape[1], tf = h->shape[2] * h->shape[3];
  g_autoptr (JdTensor) view = jd_tensor_view_as (h, 3, (int64_t[]) { b, c, tf });
  g_autoptr (JdTensor) tokens = jd_layer_new_tensor (backend, 3, (int64_t[]) { b, tf, c }, error);
  JD_TRY_NULL (tokens != NULL);
  JD_TRY_NULL (jd_permute (backend, view, (int[]) { 0, 2, 1 }, tokens, error));
  return g_steal_pointer (&tokens);
}

static JdTensor *
tokens_to_audio (JdBackend *backend, const JdTensor *tokens, int64_t columns, int64_t bins,
                 GError **error)
{
  const int64_t b = tokens->shape[0], c = tokens->shape[2];
  g_autoptr (JdTensor) view = jd_tensor_view_as (tokens, 3, (int64_t[]) { b, columns * bins, c });
  g_autoptr (JdTensor) h = jd_layer_new_tensor (backend, 3, (int64_t[]) { b, c, columns * bins },
                                                error);
  JD_TRY_NULL (h != NULL);
  JD_TRY_NULL (jd_permute (backend, view, (int[]) { 0, 2, 1 }, h, error));
  jd_tensor_reshape (h, 4, (int64_t[]) { b, c, columns, bins });
  return g_steal_pointer (&h);
}

/* temb (B·F, T) → the per-sample embedding (B, T) the Joint Blocks take (frame 0's row: every
 * frame's row is the same). */
static JdTensor *
video_sample_embedding (JdBackend *backend, const JdTensor *temb, int64_t batch, int64_t frames,
                        GError **error)
{
  const int64_t t = temb->shape[1];
  g_autoptr (JdTensor) view = jd_tensor_view_as (temb, 3, (int64_t[]) { batch, frames, t });
  g_autoptr (JdTensor) emb = jd_layer_new_tensor (backend, 3, (int64_t[]) { batch, 1, t }, error);
  JD_TRY_NULL (emb != NULL);
  JD_TRY_NULL (jd_slice (backend, view, 1, 0, emb, error));
  jd_tensor_reshape (emb, 2, (int64_t[]) { batch, t });
  return g_steal_pointer (&emb);
}

/* Copies src into dst (same element count, any shapes). */
static gboolean
copy_into (JdBackend *backend, const JdTensor *src, JdTensor *dst, GError **error)
{
  g_autoptr (JdTensor) view = jd_tensor_view_as (dst, src->ndim, src->shape);
  return jd_unary (backend, JD_UNARY_IDENTITY, 0.0f, 0.0f, src, view, error);
}

/* Runs the encoder stages first..last of one UNet; *saved says whether the last stage saved a
 * skip. */
static JdTensor *
run_video_stages (JdJointDiT *jd, JdTensor *h, guint first, guint last, GPtrArray *skips,
                  const JdTensor *temb, const JdTensor *context, int frames, gboolean *saved,
                  GError **error)
{
  g_autoptr (JdTensor) current = h;
  for (guint s = first; s <= last; s++)
    {
      guint before = skips->len;
      JdTensor *next = jd_video_unet_run_stage (jd->video, s, current, skips, temb, context,
                                                frames, error);
      JD_TRY_NULL (next != NULL);
      jd_tensor_free (current);
      current = next;
      *saved = skips->len > before;
    }
  return g_steal_pointer (&current);
}

static JdTensor *
run_audio_stages (JdJointDiT *jd, JdTensor *h, guint first, guint last, GPtrArray *skips,
                  const JdTensor *temb, gboolean *saved, GError **error)
{
  g_autoptr (JdTensor) current = h;
  for (guint s = first; s <= last; s++)
    {
      guint before = skips->len;
      JdTensor *next = jd_audio_unet_run_stage (jd->audio, s, current, skips, temb, error);
      JD_TRY_NULL (next != NULL);
      jd_tensor_free (current);
      current = next;
      *saved = skips->len > before;
    }
  return g_steal_pointer (&current);
}

gboolean
jd_jointdit_forward_mixed (JdJointDiT *jd, const JdJointDiTInputs *in,
                           const JdAttentionMode *modes, const gboolean *has_image,
                           JdTensor *video_out, JdTensor *audio_out, GError **error)
{
  JD_TRY_FALSE (check_inputs (jd, in, error));
  JdBackend *backend = jd->backend;
  const JdTensor *vs = in->video_sample, *as = in->audio_sample;
  const int64_t batch = vs->shape[0], frames = vs->shape[1];
  const int64_t audio_columns = as->shape[2];
  const int64_t vout_shape[5] = { batch, frames, jd_video_unet_get_out_channels (jd->video),
                                  vs->shape[3], vs->shape[4] };
  const int64_t aout_shape[4] = { batch, jd_audio_unet_get_out_channels (jd->audio),
                                  as->shape[2], as->shape[3] };
  if (video_out->ndim != 5 || memcmp (video_out->shape, vout_shape, sizeof vout_shape) != 0
      || audio_out->ndim != 4 || memcmp (audio_out->shape, aout_shape, sizeof aout_shape) != 0)
    {
      g_autofree char *vo = jd_tensor_shape_string (video_out);
      g_autofree char *ao = jd_tensor_shape_string (audio_out);
      g_autofree char *vw = jd_shape_to_string (5, vout_shape);
      g_autofree char *aw = jd_shape_to_string (4, aout_shape);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "JointDiT forward: the outputs %s and %s must be %s and %s", vo, ao, vw, aw);
      return FALSE;
    }

  g_autoptr (JdTensor) vtemb = jd_video_unet_embed (jd->video, in->video_timestep,
                                                    in->added_time_ids, (int) frames, error);
  JD_TRY_FALSE (vtemb != NULL);
  g_autoptr (JdTensor) atemb = audio_embedding (jd, in, has_image, error);
  JD_TRY_FALSE (atemb != NULL);
  g_autoptr (JdTensor) vemb = video_sample_embedding (backend, vtemb, batch, frames, error);
  JD_TRY_FALSE (vemb != NULL);

  JdTensor *vh = jd_tensor_view_as (vs, 4, (int64_t[]) { batch * frames, vs->shape[2],
                                                         vs->shape[3], vs->shape[4] });
  JdTensor *ah = jd_tensor_view_as (as, as->ndim, as->shape);
  g_autoptr (GPtrArray) vskips = jd_unet_skips_new ();
  g_autoptr (GPtrArray) askips = jd_unet_skips_new ();
  guint vnext = 0, anext = 0;
  gboolean ok = TRUE;
  for (int k = 0; k < jd->n_blocks && ok; k++)
    {
      gboolean video_saved = FALSE, audio_saved = FALSE;
      vh = run_video_stages (jd, vh, vnext, jd->video_split[k], vskips, vtemb, in->video_context,
                             (int) frames, &video_saved, error);
      vnext = jd->video_split[k] + 1;
      ok = vh != NULL;
      if (!ok)
        break;
      ah = run_audio_stages (jd, ah, anext, jd->audio_split[k], askips, atemb, &audio_saved,
                             error);
      anext = jd->audio_split[k] + 1;
      ok = ah != NULL;
      if (!ok)
        break;

      const int64_t hv = vh->shape[2], wv = vh->shape[3];
      const int64_t ta = ah->shape[2], fa = ah->shape[3];
      g_autoptr (JdTensor) vtok = video_to_tokens (backend, vh, batch, frames, error);
      g_autoptr (JdTensor) atok = vtok ? audio_to_tokens (backend, ah, error) : NULL;
      const double column_seconds = jd->audio_latent_seconds * (double) audio_columns / (double) ta;
      g_autoptr (JdTensor) vpos = atok ? jd_joint_video_positions (backend, frames, hv, wv,
                                                                   jd->video_fps,
                                                                   jd->rope_clock_hz, error)
                                       : NULL;
      g_autoptr (JdTensor) apos = vpos ? jd_joint_audio_positions (backend, ta, fa,
                                                                   column_seconds,
                                                                   jd->rope_clock_hz, error)
                                       : NULL;
      ok = apos != NULL
           && jd_joint_block_forward (&jd->blocks[k], vtok, atok, vemb, atemb, vpos, apos,
                                      (float) jd->rope_base, modes, error);
      if (!ok)
        break;
      JdTensor *vnew = tokens_to_video (backend, vtok, batch, frames, hv, wv, error);
      JdTensor *anew = vnew ? tokens_to_audio (backend, atok, ta, fa, error) : NULL;
      ok = anew != NULL;
      if (ok)
        {
          jd_tensor_free (vh);
          jd_tensor_free (ah);
          vh = vnew;
          ah = anew;
        }
      else
        g_clear_pointer (&vnew, jd_tensor_free);
      /* The Joint Block's output replaces the last skip its Expert saved. */
      if (ok && video_saved)
        ok = jd_unet_skips_replace_last (vskips, vh, error);
      if (ok && audio_saved)
        ok = jd_unet_skips_replace_last (askips, ah, error);
    }
  if (ok)
    {
      gboolean unused;
      guint vlast = jd_video_unet_get_n_stages (jd->video) - 1;
      guint alast = jd_audio_unet_get_n_stages (jd->audio) - 1;
      vh = vnext <= vlast ? run_video_stages (jd, vh, vnext, vlast, vskips, vtemb,
                                              in->video_context, (int) frames, &unused, error)
                          : vh;
      ok = vh != NULL;
      if (ok)
        {
          ah = anext <= alast ? run_audio_stages (jd, ah, anext, alast, askips, atemb, &unused,
                                                  error)
                              : ah;
          ok = ah != NULL;
        }
    }
  if (ok)
    {
      g_autoptr (JdTensor) vout = jd_video_unet_decode (jd->video, vh, vskips, vtemb,
                                                        in->video_context, (int) frames, error);
      g_autoptr (JdTensor) aout = vout ? jd_audio_unet_decode (jd->audio, ah, askips, atemb,
                                                               error)
                                       : NULL;
      ok = aout != NULL && copy_into (backend, vout, video_out, error)
           && copy_into (backend, aout, audio_out, error);
    }
  g_clear_pointer (&vh, jd_tensor_free);
  g_clear_pointer (&ah, jd_tensor_free);
  return ok;
}

gboolean
jd_jointdit_forward (JdJointDiT *jointdit, const JdJointDiTInputs *inputs,
                     JdAttentionMode attention, JdTensor *video_out, JdTensor *audio_out,
                     GError **error)
{
  JdAttentionMode modes[MAX_BATCH];
  for (int b = 0; b < MAX_BATCH; b++)
    modes[b] = attention;
  return jd_jointdit_forward_mixed (jointdit, inputs, modes, NULL, video_out, audio_out, error);
}

/* ---- the sampler's denoiser ---- */

static JdTensor *
upload (JdBackend *backend, int ndim, const int64_t *shape, const float *host, GError **error)
{
  g_autoptr (JdTensor) t = jd_layer_new_tensor (backend, ndim, shape, error);
  JD_TRY_NULL (t != NULL);
  JD_TRY_NULL (jd_tensor_upload_f32 (t, host, error));
  return g_steal_pointer (&t);
}

#ifdef JD_HAVE_CUDA
typedef struct {
  JdJointDiT            *jd;
  const JdAttentionMode *modes;
  const gboolean        *has_image;
} ForwardJob;

/* The forward as a CUDA graph body: inputs in JdJointDiTInputs order, outputs video, audio. */
static gboolean
forward_body (gpointer data, JdTensor *const *in, JdTensor *const *out, GError **error)
{
  const ForwardJob *job = data;
  const JdJointDiTInputs inputs = { in[0], in[1], in[2], in[3], in[4], in[5], in[6] };
  return jd_jointdit_forward_mixed (job->jd, &inputs, job->modes, job->has_image, out[0], out[1],
                                    error);
}
#endif

/* The denoiser's network forward for n calls: through a CUDA graph where jd->graphs is on. */
static gboolean
denoise_forward (JdJointDiT *jd, const JdJointDiTInputs *inputs, int n,
                 const JdAttentionMode *modes, const gboolean *has_image, JdTensor *vout,
                 JdTensor *aout, GError **error)
{
#ifdef JD_HAVE_CUDA
  if (jd->graphs != NULL)
    {
      /* What the recording depends on besides the tensors' shapes: each call's mode and
       * condition. */
      g_autoptr (GString) key = g_string_new ("jointdit");
      for (int i = 0; i < n; i++)
        g_string_append_printf (key, " %d%c", (int) modes[i], has_image[i] ? 'i' : '-');
      ForwardJob job = { jd, modes, has_image };
      const JdTensor *in[] = { inputs->video_sample, inputs->video_timestep,
                               inputs->video_context, inputs->added_time_ids,
                               inputs->audio_sample, inputs->audio_timestep,
                               inputs->image_embeds };
      JdTensor *out[] = { vout, aout };
      return jd_cuda_graph_cache_run (jd->graphs, key->str, forward_body, &job,
                                      G_N_ELEMENTS (in), in, G_N_ELEMENTS (out), out, error);
    }
#endif
  (void) n;
  return jd_jointdit_forward_mixed (jd, inputs, modes, has_image, vout, aout, error);
}

static gboolean
jointdit_denoise (JdDenoiser *self, const JdDenoiseRequest *request, GError **error)
{
  JdJointDiT *jd = (JdJointDiT *) self;
  JdBackend *backend = jd->backend;
  const int64_t *v = jd->video_shape, *a = jd->audio_shape;
  const int n = request->n_calls;
  const JdTensor *x = request->video, *y = request->audio;
  if (n < 1 || n > JD_DENOISE_MAX_CALLS || x->ndim != 4 || memcmp (x->shape, v, 4 * sizeof *v)
      || y->ndim != 3 || memcmp (y->shape, a, 3 * sizeof *a))
    {
      g_autofree char *xs = jd_tensor_shape_string (x);
      g_autofree char *ys = jd_tensor_shape_string (y);
      g_autofree char *vw = jd_shape_to_string (4, v);
      g_autofree char *aw = jd_shape_to_string (3, a);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "JointDiT denoiser: %d calls with latents %s and %s; the model takes 1 or 2 "
                   "calls with latents %s and %s", n, xs, ys, vw, aw);
      return FALSE;
    }
  gboolean any_conditioned = FALSE;
  for (int i = 0; i < n; i++)
    any_conditioned |= request->calls[i].conditioned;
  if (any_conditioned && !jd->has_condition)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "JointDiT denoiser: a conditioned call needs the image condition "
                   "(jd_jointdit_set_condition) first");
      return FALSE;
    }

  const double sigma = request->point.sigma;
  const int64_t c = v[1], frame_numel = v[1] * v[2] * v[3];
  /* Video sample (n, F, 2C, H, W) = [c_in·x, image latent or 0] per frame. */
  g_autoptr (JdTensor) scaled = jd_layer_new_tensor (backend, 4, v, error);
  JD_TRY_FALSE (scaled != NULL);
  JD_TRY_FALSE (jd_unary (backend, JD_UNARY_AFFINE, (float) jd_edm_c_in (sigma), 0.0f, x, scaled,
                          error));
  jd_tensor_reshape (scaled, 5, (int64_t[]) { 1, v[0], c, v[2], v[3] });
  g_autoptr (JdTensor) scaled_all = jd_layer_new_tensor (backend, 5,
                                                         (int64_t[]) { n, v[0], c, v[2], v[3] },
                                                         error);
  JD_TRY_FALSE (scaled_all != NULL);
  JD_TRY_FALSE (jd_broadcast (backend, scaled, scaled_all, error));
  const int64_t latent_shape[5] = { n, v[0], c, v[2], v[3] };
  g_autofree float *latents = g_new0 (float, n * v[0] * frame_numel);
  g_autofree float *context = g_new0 (float, n * jd->context_dim);
  g_autofree float *time_ids = g_new0 (float, n * 3);
  g_autofree float *video_t = g_new (float, n);
  g_autofree float *audio_t = g_new (float, n);
  gboolean has_image[JD_DENOISE_MAX_CALLS];
  JdAttentionMode modes[JD_DENOISE_MAX_CALLS];
  for (int i = 0; i < n; i++)
    {
      const gboolean cond = request->calls[i].conditioned;
      has_image[i] = cond;
      modes[i] = request->calls[i].attention;
      if (cond)
        {
          for (int64_t f = 0; f < v[0]; f++)
            memcpy (latents + (i * v[0] + f) * frame_numel, jd->image_latent,
                    frame_numel * sizeof (float));
          memcpy (context + i * jd->context_dim, jd->image_embedding,
                  jd->context_dim * sizeof (float));
        }
      /* The added time ids condition the video in both calls (SVD's pipeline keeps them). */
      memcpy (time_ids + 3 * i, jd->has_condition ? jd->added_time_ids : (float[3]) { 0 },
              3 * sizeof (float));
      video_t[i] = (float) jd_edm_c_noise (sigma);
      audio_t[i] = (float) request->point.audio_index;
    }
  g_autoptr (JdTensor) latent_t = upload (backend, 5, latent_shape, latents, error);
  JD_TRY_FALSE (latent_t != NULL);
  g_autoptr (JdTensor) vsample = jd_layer_new_tensor (backend, 5,
                                                      (int64_t[]) { n, v[0], 2 * c, v[2], v[3] },
                                                      error);
  JD_TRY_FALSE (vsample != NULL);
  JD_TRY_FALSE (jd_concat (backend, 2, (const JdTensor *const[]) { scaled_all, latent_t }, 2,
                           vsample, error));
  g_autoptr (JdTensor) vcontext = upload (backend, 3, (int64_t[]) { n, 1, jd->context_dim },
                                          context, error);
  JD_TRY_FALSE (vcontext != NULL);
  g_autoptr (JdTensor) vids = upload (backend, 2, (int64_t[]) { n, 3 }, time_ids, error);
  JD_TRY_FALSE (vids != NULL);
  g_autoptr (JdTensor) vtime = upload (backend, 1, (int64_t[]) { n }, video_t, error);
  JD_TRY_FALSE (vtime != NULL);
  g_autoptr (JdTensor) atime = upload (backend, 1, (int64_t[]) { n }, audio_t, error);
  JD_TRY_FALSE (atime != NULL);
  g_autoptr (JdTensor) y_view = jd_tensor_view_as (y, 4, (int64_t[]) { 1, a[0], a[1], a[2] });
  g_autoptr (JdTensor) asample = jd_layer_new_tensor (backend, 4,
                                                      (int64_t[]) { n, a[0], a[1], a[2] }, error);
  JD_TRY_FALSE (asample != NULL);
  JD_TRY_FALSE (jd_broadcast (backend, y_view, asample, error));
  g_autoptr (JdTensor) embeds = NULL;
  if (jd->image_embed_dim > 0 && any_conditioned)
    {
      embeds = upload (backend, 2, (int64_t[]) { n, jd->image_embed_dim }, context, error);
      JD_TRY_FALSE (embeds != NULL);
    }

  const JdJointDiTInputs inputs = {
    .video_sample = vsample,
    .video_timestep = vtime,
    .video_context = vcontext,
    .added_time_ids = vids,
    .audio_sample = asample,
    .audio_timestep = atime,
    .image_embeds = embeds,
  };
  g_autoptr (JdTensor) vout = jd_layer_new_tensor (backend, 5, latent_shape, error);
  JD_TRY_FALSE (vout != NULL);
  g_autoptr (JdTensor) aout = jd_layer_new_tensor (backend, 4, asample->shape, error);
  JD_TRY_FALSE (aout != NULL);
  JD_TRY_FALSE (denoise_forward (jd, &inputs, n, modes, has_image, vout, aout, error));

  const JdLinearStep vstep = jd_v_prediction_to_x0 (sigma);
  const JdLinearStep astep = jd_eps_prediction_to_x0 (request->point.alpha_bar);
  for (int i = 0; i < n; i++)
    {
      g_autoptr (JdTensor) vi = jd_tensor_new_view (backend, JD_DTYPE_F32, 4, v,
                                                    (float *) vout->data + i * v[0] * frame_numel);
      g_autoptr (JdTensor) ai = jd_tensor_new_view (backend, JD_DTYPE_F32, 3, a,
                                                    (float *) aout->data + i * a[0] * a[1] * a[2]);
      JD_TRY_FALSE (jd_axpby (backend, (float) vstep.a, x, (float) vstep.b, vi,
                              request->x0_video[i], error));
      JD_TRY_FALSE (jd_axpby (backend, (float) astep.a, y, (float) astep.b, ai,
                              request->x0_audio[i], error));
    }
  return TRUE;
}

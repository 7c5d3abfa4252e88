/* The converted bundle's config. */
#include "jd-convert-config.h"

#include <math.h>
#include <string.h>

#include "jd-config-read.h"
#include "jd-error.h"

/* A copy of a source config without its bookkeeping members ("_class_name", …). */
static JsonObject *
copy_config (JsonObject *source)
{
  JsonObject *copy = json_object_new ();
  g_autoptr (GList) members = json_object_get_members (source);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      if (key[0] == '_' || strcmp (key, "architectures") == 0)
        continue;
      json_object_set_member (copy, key, json_node_copy (json_object_get_member (source, key)));
    }
  return copy;
}

static JsonArray *
int_array (const int64_t *values, int n)
{
  JsonArray *a = json_array_sized_new ((guint) n);
  for (int i = 0; i < n; i++)
    json_array_add_int_element (a, values[i]);
  return a;
}

static int64_t
int_or (JsonObject *object, const char *key, int64_t fallback)
{
  JsonNode *node = json_object_get_member (object, key);
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);
  return fallback;
}

static int
n_levels (JsonObject *vae)
{
  JsonNode *node = json_object_get_member (vae, "block_out_channels");
  return node && JSON_NODE_HOLDS_ARRAY (node)
         ? (int) json_array_get_length (json_node_get_array (node)) : 1;
}

static JsonObject *
video_sampling (void)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "process", "edm");
  json_object_set_string_member (o, "prediction", "v");
  json_object_set_double_member (o, "sigma_min", JD_CONVERT_SVD_SIGMA_MIN);
  json_object_set_double_member (o, "sigma_max", JD_CONVERT_SVD_SIGMA_MAX);
  json_object_set_double_member (o, "p_mean", JD_CONVERT_SVD_P_MEAN);
  json_object_set_double_member (o, "p_std", JD_CONVERT_SVD_P_STD);
  json_object_set_double_member (o, "karras_rho", 7.0);
  json_object_set_string_member (o, "c_noise", "0.25 ln sigma");
  return o;
}

static JsonObject *
audio_sampling (void)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "process", "ddpm");
  json_object_set_string_member (o, "prediction", "epsilon");
  json_object_set_string_member (o, "beta_schedule", "scaled_linear");
  json_object_set_double_member (o, "beta_start", JD_CONVERT_AUDIO_BETA_START);
  json_object_set_double_member (o, "beta_end", JD_CONVERT_AUDIO_BETA_END);
  json_object_set_int_member (o, "train_steps", JD_CONVERT_AUDIO_TRAIN_STEPS);
  json_object_set_int_member (o, "steps_offset", 1);
  json_object_set_boolean_member (o, "set_alpha_to_one", FALSE);
  return o;
}

char *
jd_convert_config_build (const JdConvertConfigInput *in, GError **error)
{
  g_autoptr (JsonObject) root = json_object_new ();
  json_object_set_string_member (root, "format", "jointdit-bundle");
  json_object_set_int_member (root, "version", 1);

  /* Video UNet: diffusers' own config; the heads list as the engine reads it. */
  JsonObject *video_unet = copy_config (in->video_unet);
  json_object_set_object_member (root, "video_unet", video_unet);

  JsonObject *video_vae = copy_config (in->video_vae);
  if (!json_object_has_member (video_vae, "scaling_factor"))
    json_object_set_double_member (video_vae, "scaling_factor", JD_CONVERT_SVD_VAE_SCALE);
  /* Published as force_upcast: the video VAE is computed in F32 (its GroupNorms over all
   * frames overflow F16). */
  json_object_set_boolean_member (video_vae, "force_upcast", TRUE);
  json_object_set_object_member (root, "video_vae", video_vae);

  JsonObject *encoder = copy_config (in->image_encoder);
  json_object_set_object_member (root, "image_encoder", encoder);

  /* Audio UNet: the image-conditioned variant. Heads per level as diffusers' AudioLDM2
   * pipeline reads its config (attention_head_dim counts heads there); the transformer
   * positions per block with their contexts, the text ones marked absent. */
  JsonObject *audio_unet = copy_config (in->audio_unet);
  json_object_remove_member (audio_unet, "attention_head_dim");
  json_object_set_array_member (audio_unet, "num_attention_heads",
                                int_array (in->audio_heads, in->n_audio_blocks));
  JsonArray *contexts = json_array_new ();
  for (int i = 0; i < in->n_audio_blocks; i++)
    {
      JsonArray *dims = json_array_new ();
      for (int k = 0; k < in->audio_positions[i]; k++)
        if (in->audio_contexts[i][k] == 0)
          json_array_add_null_element (dims);
        else
          json_array_add_int_element (dims, in->audio_contexts[i][k]);
      json_array_add_array_element (contexts, dims);
    }
  json_object_set_array_member (audio_unet, "cross_attention_dim", contexts);
  json_object_set_boolean_member (audio_unet, "text_transformers", FALSE);
  json_object_set_int_member (audio_unet, "image_embed_dim", in->image_embed_dim);
  json_object_set_string_member (audio_unet, "image_proj_init",
                                 "zero: the image condition has no effect until fine-tuned");
  json_object_set_object_member (root, "audio_unet", audio_unet);

  JsonObject *audio_vae = copy_config (in->audio_vae);
  if (!json_object_has_member (audio_vae, "scaling_factor"))
    json_object_set_double_member (audio_vae, "scaling_factor", JD_CONVERT_AUDIO_VAE_SCALE);
  json_object_set_object_member (root, "audio_vae", audio_vae);

  int64_t rate = JD_CONVERT_AUDIO_RATE;
  if (in->vocoder != NULL)
    {
      JsonObject *vocoder = copy_config (in->vocoder);
      if (!json_object_has_member (vocoder, "leaky_relu_slope"))
        json_object_set_double_member (vocoder, "leaky_relu_slope", 0.1);
      if (!json_object_has_member (vocoder, "normalize_before"))
        json_object_set_boolean_member (vocoder, "normalize_before", FALSE);
      rate = int_or (vocoder, "sampling_rate", rate);
      json_object_set_object_member (root, "vocoder", vocoder);
    }

  /* Target shapes: SVD's 576×1024 at its frame count, audio as long as the video, its latent
   * length a multiple of the audio UNet's downsampling. */
  const int64_t frames = int_or (in->video_unet, "num_frames", 25);
  const int64_t vfactor = (int64_t) 1 << (n_levels (in->video_vae) - 1);
  const int64_t afactor = (int64_t) 1 << (n_levels (in->audio_vae) - 1);
  const int64_t unet_factor = (int64_t) 1 << (in->n_audio_blocks - 1);
  const double seconds = (double) frames / JD_CONVERT_SVD_FPS;
  const double latent_seconds = (double) afactor * JD_CONVERT_AUDIO_HOP / (double) rate;
  int64_t columns = (int64_t) floor (seconds / latent_seconds / (double) unet_factor)
                    * unet_factor;
  columns = MAX (columns, unet_factor);
  const int64_t video_latent[3] = {
    int_or (in->video_vae, "latent_channels", 4), JD_CONVERT_SVD_HEIGHT / vfactor,
    JD_CONVERT_SVD_WIDTH / vfactor,
  };
  const int64_t audio_latent[3] = {
    int_or (in->audio_vae, "latent_channels", 8), columns, JD_CONVERT_AUDIO_MEL_BINS / afactor,
  };
  JsonObject *shapes = json_object_new ();
  json_object_set_int_member (shapes, "frames", frames);
  json_object_set_array_member (shapes, "video_latent", int_array (video_latent, 3));
  json_object_set_array_member (shapes, "audio_latent", int_array (audio_latent, 3));
  json_object_set_int_member (shapes, "sample_rate", rate);
  json_object_set_object_member (root, "shapes", shapes);

  JsonObject *joint = json_object_new ();
  json_object_set_int_member (joint, "d_qk", in->d_qk);
  json_object_set_int_member (joint, "d_v", in->d_v);
  json_object_set_int_member (joint, "heads", in->heads);
  json_object_set_double_member (joint, "rope_base", 10000.0);
  json_object_set_double_member (joint, "rope_clock_hz", 25.0);
  json_object_set_double_member (joint, "video_fps", JD_CONVERT_SVD_FPS);
  json_object_set_double_member (joint, "audio_latent_seconds", latent_seconds);
  JsonObject *split = json_object_new ();
  JsonArray *sv = json_array_new (), *sa = json_array_new ();
  for (int k = 0; k < in->n_joint_blocks; k++)
    {
      json_array_add_string_element (sv, in->split_video[k]);
      json_array_add_string_element (sa, in->split_audio[k]);
    }
  json_object_set_array_member (split, "video", sv);
  json_object_set_array_member (split, "audio", sa);
  json_object_set_object_member (joint, "split", split);
  json_object_set_object_member (root, "joint", joint);

  /* Constants the engine's sampler and front ends use (documented here so the bundle says
   * what it was made for). */
  JsonObject *sampling = json_object_new ();
  json_object_set_object_member (sampling, "video", video_sampling ());
  json_object_set_object_member (sampling, "audio", audio_sampling ());
  JsonObject *guidance = json_object_new ();
  JsonArray *ramp = json_array_new ();
  json_array_add_double_element (ramp, JD_CONVERT_OMEGA_VIDEO_FIRST);
  json_array_add_double_element (ramp, JD_CONVERT_OMEGA_VIDEO_LAST);
  json_object_set_array_member (guidance, "omega_video_ramp", ramp);
  json_object_set_double_member (guidance, "omega_audio", JD_CONVERT_OMEGA_AUDIO);
  json_object_set_object_member (sampling, "guidance", guidance);
  JsonObject *conditions = json_object_new ();
  json_object_set_int_member (conditions, "fps", JD_CONVERT_SVD_FPS);
  json_object_set_int_member (conditions, "motion_bucket_id", JD_CONVERT_SVD_MOTION_BUCKET);
  json_object_set_double_member (conditions, "noise_aug_strength", JD_CONVERT_SVD_NOISE_AUG);
  json_object_set_object_member (sampling, "video_conditions", conditions);
  json_object_set_object_member (root, "sampling", sampling);

  JsonObject *mel = json_object_new ();
  json_object_set_int_member (mel, "sample_rate", JD_CONVERT_AUDIO_RATE);
  json_object_set_int_member (mel, "mel_bins", JD_CONVERT_AUDIO_MEL_BINS);
  json_object_set_int_member (mel, "hop_length", JD_CONVERT_AUDIO_HOP);
  json_object_set_int_member (mel, "n_fft", JD_CONVERT_AUDIO_N_FFT);
  json_object_set_int_member (mel, "win_length", JD_CONVERT_AUDIO_N_FFT);
  json_object_set_int_member (mel, "fmin", 0);
  json_object_set_int_member (mel, "fmax", JD_CONVERT_AUDIO_FMAX);
  json_object_set_string_member (mel, "log", "ln(max(x, 1e-5))");
  json_object_set_string_member (mel, "filters", "slaney");
  json_object_set_object_member (root, "mel", mel);

  if (in->provenance != NULL)
    json_object_set_member (root, "provenance", json_node_copy (in->provenance));

  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, root);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  (void) error;
  return json_generator_to_data (gen, NULL);
}

/* jd-engine.c — opening a bundle: backend, models, what the model makes. */
#include "jd-engine-private.h"

#include <string.h>

#include "jd-build-config.h"
#include "jd-config-read.h"
#include "jd-cpu-backend.h"
#include "jd-error.h"
#ifdef JD_HAVE_CUDA
#include "jd-cuda-module.h"
#endif

static const char *const device_names[] = { "auto", "cpu", "cuda" };

const char *
jd_device_name (JdDevice device)
{
  g_return_val_if_fail (device >= 0 && device < (int) G_N_ELEMENTS (device_names), NULL);
  return device_names[device];
}

gboolean
jd_device_usable (JdDevice device, char **reason)
{
  if (device != JD_DEVICE_CUDA)
    return TRUE;
#ifdef JD_HAVE_CUDA
  /* Without the NVIDIA driver there is no GPU: say so without opening the CUDA module, so that
   * asking stays cheap on machines without one. */
  if (!jd_cuda_driver_present ())
    {
      if (reason != NULL)
        *reason = g_strdup ("No CUDA GPU can be used: the NVIDIA driver (libcuda.so.1) is not "
                            "installed");
      return FALSE;
    }
  g_autofree char *why = NULL;
  if (jd_cuda_device_count (&why) > 0)
    return TRUE;
  if (reason != NULL)
    *reason = g_strdup_printf ("No CUDA GPU can be used: %s",
                               why != NULL ? why : "the CUDA runtime sees no device");
  return FALSE;
#else
  if (reason != NULL)
    *reason = g_strdup ("This build has no CUDA backend: the model runs on the CPU");
  return FALSE;
#endif
}

gboolean
jd_device_parse (const char *name, JdDevice *device)
{
  for (gsize i = 0; i < G_N_ELEMENTS (device_names); i++)
    if (g_strcmp0 (name, device_names[i]) == 0)
      {
        *device = (JdDevice) i;
        return TRUE;
      }
  return FALSE;
}

static JdBackend *
open_backend (JdDevice device, int n_threads, GError **error)
{
  switch (device)
    {
    case JD_DEVICE_CUDA:
#ifdef JD_HAVE_CUDA
      return jd_cuda_backend_new (0, JD_CUDA_PRECISION_BF16, error);
#else
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "this build has no CUDA backend; use --device cpu (or auto)");
      return NULL;
#endif
    case JD_DEVICE_AUTO:
#ifdef JD_HAVE_CUDA
      /* The GPU when a usable one is there, else the CPU (saying why at debug level). Without
       * the NVIDIA driver there can be no GPU: then the CUDA module is not even opened, so
       * CPU-only machines pay nothing for the probe. */
      if (jd_cuda_driver_present () && jd_cuda_device_count (NULL) > 0)
        {
          g_autoptr (GError) cuda_error = NULL;
          JdBackend *backend = jd_cuda_backend_new (0, JD_CUDA_PRECISION_BF16, &cuda_error);
          if (backend != NULL)
            return backend;
          g_info ("--device auto: not using the GPU: %s", cuda_error->message);
        }
#endif
      return jd_cpu_backend_new (n_threads, error);
    case JD_DEVICE_CPU:
    default:
      return jd_cpu_backend_new (n_threads, error);
    }
}

#ifdef JD_HAVE_CUDA
/* A rough upper estimate of the activation memory one guided sampling step and the decoders
 * take on top of the weights: the UNets' first level at batch 2 holds about two dozen tensors
 * of the latent grid times their first width at once (skips, residuals, attention inputs), and
 * the VAE decoder a handful at pixel size. The weights are already resident when this runs. */
static gsize
estimate_sampling_bytes (JdEngine *engine, JsonObject *root)
{
  int64_t video_c0 = 320, audio_c0 = 128, vae_c0 = 128;
  int64_t channels[8];
  int n = 0;
  JsonObject *o;
  if ((o = jd_config_object (root, "config", "video_unet", NULL)) != NULL
      && jd_config_int_array (o, "video_unet", "block_out_channels", 1, 1 << 20, -1, 8, channels,
                              &n, NULL) && n > 0)
    video_c0 = channels[0];
  if ((o = jd_config_object (root, "config", "audio_unet", NULL)) != NULL
      && jd_config_int_array (o, "audio_unet", "block_out_channels", 1, 1 << 20, -1, 8, channels,
                              &n, NULL) && n > 0)
    audio_c0 = channels[0];
  if ((o = jd_config_object (root, "config", "video_vae", NULL)) != NULL
      && jd_config_int_array (o, "video_vae", "block_out_channels", 1, 1 << 20, -1, 8, channels,
                              &n, NULL) && n > 0)
    vae_c0 = channels[0];
  const JdModelInfo *info = &engine->info;
  const double video_level0 = 2.0 * info->video_latent[0] * info->video_latent[2]
                              * info->video_latent[3] * video_c0 * 4;
  const double audio_level0 = 2.0 * info->audio_latent[1] * info->audio_latent[2] * audio_c0 * 4;
  const double decode = 6.0 * info->width * info->height * vae_c0 * 4;
  return (gsize) (24.0 * (video_level0 + audio_level0) + decode);
}
#endif

/* "shapes", "joint" and the decoders' configs → info. */
static gboolean
read_info (JdEngine *engine, JsonObject *root, GError **error)
{
  JdModelInfo *info = &engine->info;
  JsonObject *shapes = jd_config_object (root, "config", "shapes", error);
  JsonObject *joint = shapes ? jd_config_object (root, "config", "joint", error) : NULL;
  if (joint == NULL)
    return FALSE;
  int64_t frames, video[3], audio[3];
  if (!jd_config_int (shapes, "shapes", "frames", 1, 4096, &frames, error)
      || !jd_config_int_array (shapes, "shapes", "video_latent", 1, 65536, 3, 3, video, NULL,
                               error)
      || !jd_config_int_array (shapes, "shapes", "audio_latent", 1, 65536, 3, 3, audio, NULL,
                               error)
      || !jd_config_double (joint, "joint", "video_fps", &info->fps, error))
    return FALSE;
  if (!(info->fps > 0 && info->fps <= 1000))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "%s: joint.video_fps must be in (0, 1000], not %g", engine->path, info->fps);
      return FALSE;
    }
  info->frames = (int) frames;
  info->video_latent[0] = frames;
  memcpy (info->video_latent + 1, video, sizeof video);
  memcpy (info->audio_latent, audio, sizeof audio);

  int vf = jd_vae_factor (engine->video_vae);
  int af = jd_vae_factor (engine->audio_vae);
  info->width = (int) video[2] * vf;
  info->height = (int) video[1] * vf;
  info->mel_frames = (int) audio[1] * af;
  info->mel_bins = (int) audio[2] * af;

  int64_t rate = 16000;
  if (engine->vocoder)
    rate = jd_vocoder_get_config (engine->vocoder)->sampling_rate;
  if (jd_config_has (shapes, "sample_rate")
      && !jd_config_int (shapes, "shapes", "sample_rate", 1000, 384000, &rate, error))
    return FALSE;
  info->sample_rate = (int) rate;
  /* The vocoder's upsampling is its hop; without one, AudioLDM's STFT hop. */
  info->hop_length = jd_stft_config_audioldm ().hop;
  if (engine->vocoder)
    {
      const JdVocoderConfig *vc = jd_vocoder_get_config (engine->vocoder);
      int hop = 1;
      for (int i = 0; i < vc->n_stages; i++)
        hop *= vc->upsample_rates[i];
      info->hop_length = hop;
    }
  info->audio_seconds = (double) info->mel_frames * info->hop_length / info->sample_rate;
  return TRUE;
}

static gboolean
open_models (JdEngine *engine, JsonObject *root, GError **error)
{
  JsonObject *object;
  JdVaeConfig vae_config;
  object = jd_config_object (root, "config", "video_vae", error);
  if (object == NULL || !jd_vae_config_read (object, "video_vae", &vae_config, error))
    return FALSE;
  engine->video_vae = jd_vae_new (engine->weights, JD_VAE_VIDEO, &vae_config, "video.vae", error);
  if (engine->video_vae == NULL)
    return FALSE;
  object = jd_config_object (root, "config", "audio_vae", error);
  if (object == NULL || !jd_vae_config_read (object, "audio_vae", &vae_config, error))
    return FALSE;
  engine->audio_vae = jd_vae_new (engine->weights, JD_VAE_AUDIO, &vae_config, "audio.vae", error);
  if (engine->audio_vae == NULL)
    return FALSE;

  JdImageEncoderConfig encoder_config;
  object = jd_config_object (root, "config", "image_encoder", error);
  if (object == NULL
      || !jd_image_encoder_config_read (object, "image_encoder", &encoder_config, error))
    return FALSE;
  engine->image_encoder = jd_image_encoder_new (engine->weights, &encoder_config,
                                                "image_encoder", error);
  if (engine->image_encoder == NULL)
    return FALSE;

  if (jd_config_has (root, "vocoder"))
    {
      JdVocoderConfig vocoder_config;
      object = jd_config_object (root, "config", "vocoder", error);
      if (object == NULL || !jd_vocoder_config_read (object, "vocoder", &vocoder_config, error))
        return FALSE;
      engine->vocoder = jd_vocoder_new (engine->weights, &vocoder_config, "audio.vocoder", error);
      if (engine->vocoder == NULL)
        return FALSE;
    }

  engine->jointdit = jd_jointdit_new (engine->weights, root, error);
  return engine->jointdit != NULL;
}

JdEngine *
jd_engine_open (const char *path, JdDevice device, int n_threads, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  gint64 start = g_get_monotonic_time ();
  g_autoptr (JdEngine) engine = g_new0 (JdEngine, 1);
  engine->path = g_strdup (path);
  g_autofree char *base = g_path_get_basename (path);
  engine->name = g_str_has_suffix (base, ".safetensors")
                   ? g_strndup (base, strlen (base) - strlen (".safetensors"))
                   : g_strdup (base);

  engine->backend = open_backend (device, n_threads, error);
  if (engine->backend == NULL)
    return NULL;
  engine->bundle = jd_bundle_open (path, error);
  if (engine->bundle == NULL)
    return NULL;
  engine->weights = jd_weights_new_for_bundle (engine->bundle, engine->backend);
  JsonObject *root = jd_bundle_get_config (engine->bundle);
  /* The config's own "name" when it has one, else the file's. */
  JsonNode *name = json_object_get_member (root, "name");
  if (name != NULL && JSON_NODE_HOLDS_VALUE (name)
      && json_node_get_value_type (name) == G_TYPE_STRING && *json_node_get_string (name))
    {
      g_free (engine->name);
      engine->name = g_strdup (json_node_get_string (name));
    }
  if (!open_models (engine, root, error) || !read_info (engine, root, error))
    {
      /* Config errors name the key but not the file; weight errors already name it. */
      if (error != NULL && *error != NULL && strstr ((*error)->message, path) == NULL)
        g_prefix_error (error, "%s: ", path);
      return NULL;
    }

  int64_t video[4], audio[3];
  jd_jointdit_get_latent_shapes (engine->jointdit, video, audio);
  if (memcmp (video, engine->info.video_latent, sizeof video) != 0
      || memcmp (audio, engine->info.audio_latent, sizeof audio) != 0)
    {
      g_autofree char *want_v = jd_shape_to_string (4, engine->info.video_latent);
      g_autofree char *want_a = jd_shape_to_string (3, engine->info.audio_latent);
      g_autofree char *have_v = jd_shape_to_string (4, video);
      g_autofree char *have_a = jd_shape_to_string (3, audio);
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "%s: config \"shapes\" says video %s and audio %s latents, but the model "
                   "is built for %s and %s", path, want_v, want_a, have_v, have_a);
      return NULL;
    }

  JdScheduleConfig schedule_config;
  jd_schedule_config_init_default (&schedule_config);
  engine->schedule = jd_schedule_new (&schedule_config, error);
  if (engine->schedule == NULL)
    return NULL;

  if (!jd_preview_maps_read (root, (int) video[1], (int) audio[0], &engine->preview, error)
      || !jd_preview_maps_upload (&engine->preview, engine->backend, error))
    return NULL;

#ifdef JD_HAVE_CUDA
  if (jd_backend_is_cuda (engine->backend))
    {
      g_autofree char *what = g_strdup_printf ("sampling with %s", path);
      g_autoptr (GError) memory_error = NULL;
      if (!jd_cuda_backend_check_memory (engine->backend, estimate_sampling_bytes (engine, root),
                                         what, &memory_error))
        {
          if (device == JD_DEVICE_AUTO)
            {
              /* The offered fallback: the same bundle on the CPU. */
              g_info ("--device auto: %s; using the CPU", memory_error->message);
              g_clear_pointer (&engine, jd_engine_free);
              return jd_engine_open (path, JD_DEVICE_CPU, n_threads, error);
            }
          g_propagate_error (error, g_steal_pointer (&memory_error));
          return NULL;
        }
    }
#endif

  JdModelInfo *info = &engine->info;
  info->path = engine->path;
  info->name = engine->name;
  info->backend = jd_backend_name (engine->backend);
  info->threads = jd_backend_is_cpu (engine->backend)
                    ? jd_thread_pool_get_n_threads (jd_cpu_backend_get_thread_pool (engine->backend))
                    : 1;
  info->has_vocoder = engine->vocoder != NULL;
  info->has_preview = engine->preview.available;
  engine->load_s = (g_get_monotonic_time () - start) / 1e6;
  return g_steal_pointer (&engine);
}

void
jd_engine_free (JdEngine *engine)
{
  if (engine == NULL)
    return;
  g_clear_pointer (&engine->jointdit, jd_jointdit_free);
  g_clear_pointer (&engine->vocoder, jd_vocoder_free);
  g_clear_pointer (&engine->image_encoder, jd_image_encoder_free);
  g_clear_pointer (&engine->audio_vae, jd_vae_free);
  g_clear_pointer (&engine->video_vae, jd_vae_free);
  g_clear_pointer (&engine->schedule, jd_schedule_free);
  jd_preview_maps_clear (&engine->preview);
  g_clear_pointer (&engine->weights, jd_weights_free);
  g_clear_pointer (&engine->bundle, jd_bundle_free);
  g_clear_pointer (&engine->backend, jd_backend_destroy);
  g_free (engine->sha256);
  g_free (engine->name);
  g_free (engine->path);
  g_free (engine);
}

const JdModelInfo *
jd_engine_get_info (JdEngine *engine)
{
  return &engine->info;
}

double
jd_engine_get_load_seconds (JdEngine *engine)
{
  return engine->load_s;
}

const char *
jd_engine_get_sha256 (JdEngine *engine)
{
  if (engine->sha256 == NULL)
    {
      /* Mapped again rather than read: the bundle's own mapping is private to the reader, and
       * a second read-only mapping of the same file shares the page cache. */
      g_autoptr (GError) error = NULL;
      g_autoptr (GMappedFile) mapped = g_mapped_file_new (engine->path, FALSE, &error);
      if (mapped == NULL)
        {
          g_warning ("Cannot hash %s: %s", engine->path, error->message);
          engine->sha256 = g_strdup ("");
          return engine->sha256;
        }
      engine->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                    (const guchar *) g_mapped_file_get_contents (mapped),
                                                    g_mapped_file_get_length (mapped));
    }
  return engine->sha256;
}

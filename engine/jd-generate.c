/* jd-generate.c — one clip from one picture: condition, sample, decode. */
#include "jd-engine-private.h"

#include <math.h>
#include <string.h>

#include "jd-clip-preprocess.h"
#include "jd-error.h"
#include "jd-mel.h"
#include "jd-ops.h"
#include "jd-sampler.h"
#include "jd-stft.h"

void
jd_generate_params_init (JdGenerateParams *params)
{
  memset (params, 0, sizeof *params);
  params->steps = JD_DEFAULT_STEPS;
  params->noise_aug_strength = JD_DEFAULT_NOISE_AUG_STRENGTH;
  params->motion_bucket_id = JD_DEFAULT_MOTION_BUCKET_ID;
}

void
jd_result_free (JdResult *result)
{
  if (result == NULL)
    return;
  g_free (result->frames);
  g_free (result->pcm);
  g_free (result);
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1e6;
}

/* A view of tensor with another shape of the same size (no copy). */
static JdTensor *
reshaped (const JdTensor *tensor, int ndim, const int64_t *shape)
{
  return jd_tensor_new_view (tensor->backend, tensor->dtype, ndim, shape, tensor->data);
}

/* Image → [-1, 1] → posterior mode → + strength · N(0, 1) (Philox, the condition's offset);
 * image → CLIP preprocessing → embedding. Both handed to the JointDiT. */
static gboolean
set_condition (JdEngine *engine, const guint8 *rgb, int width, int height, gsize stride,
               const JdGenerateParams *params, GError **error)
{
  JdBackend *be = engine->backend;
  gsize plane = (gsize) width * height;
  g_autofree float *host = g_new (float, 3 * plane);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        host[c * plane + (gsize) y * width + x]
          = rgb[(gsize) y * stride + (gsize) x * 3 + c] / 127.5f - 1.0f;
  g_autoptr (JdTensor) image = jd_tensor_new_f32 (be, error, 4, (int64_t) 1, (int64_t) 3,
                                                  (int64_t) height, (int64_t) width);
  if (image == NULL || !jd_tensor_upload_f32 (image, host, error))
    return FALSE;
  g_autoptr (JdTensor) latent = jd_vae_encode (engine->video_vae, image, error);
  if (latent == NULL)
    return FALSE;
  g_autoptr (JdTensor) noise = jd_tensor_new (be, JD_DTYPE_F32, latent->ndim, latent->shape,
                                              error);
  if (noise == NULL
      || !jd_normal_noise (be, params->seed, JD_NOISE_OFFSET_CONDITION, noise, error)
      || !jd_axpby (be, 1.0f, latent, (float) params->noise_aug_strength, noise, latent, error))
    return FALSE;

  int size = jd_image_encoder_get_config (engine->image_encoder)->image_size;
  /* CLIP wants planar RGB in [0, 1]: the [-1, 1] planes above, mapped back. */
  g_autofree float *unit = g_new (float, 3 * plane);
  for (gsize i = 0; i < 3 * plane; i++)
    unit[i] = 0.5f * (host[i] + 1.0f);
  g_autofree float *preprocessed = g_new (float, (gsize) 3 * size * size);
  if (!jd_clip_preprocess (unit, height, width, size, preprocessed, error))
    return FALSE;
  g_autoptr (JdTensor) pixels = jd_tensor_new_f32 (be, error, 4, (int64_t) 1, (int64_t) 3,
                                                   (int64_t) size, (int64_t) size);
  if (pixels == NULL || !jd_tensor_upload_f32 (pixels, preprocessed, error))
    return FALSE;
  g_autoptr (JdTensor) embedding = jd_image_encoder_run (engine->image_encoder, pixels, error);
  if (embedding == NULL)
    return FALSE;

  g_autoptr (JdTensor) latent_chw = reshaped (latent, 3, latent->shape + 1);
  g_autoptr (JdTensor) embedding_d = reshaped (embedding, 1, embedding->shape + 1);
  double fps = params->condition_fps > 0 ? params->condition_fps : engine->info.fps;
  return jd_jointdit_set_condition (engine->jointdit, latent_chw, embedding_d, fps,
                                    params->motion_bucket_id, params->noise_aug_strength, error);
}

typedef struct {
  JdEngine               *engine;
  const JdGenerateParams *params;
} StepContext;

static void
on_step (const JdSamplerProgress *sp, gpointer user_data)
{
  StepContext *ctx = user_data;
  const JdGenerateParams *params = ctx->params;
  if (params->on_progress)
    {
      JdProgress progress = {
        .step = sp->step,
        .total = sp->total,
        .t_uni = sp->point.t_uni,
        .sigma_video = sp->point.sigma,
        .audio_index = sp->point.audio_index,
        .elapsed_s = sp->elapsed_s,
        .eta_s = sp->eta_s,
      };
      params->on_progress (&progress, params->user_data);
    }
  if (params->on_preview && ctx->engine->preview.available)
    {
      const JdTensor *v = sp->x0_video, *a = sp->x0_audio;
      g_autofree guint8 *frames = NULL;
      g_autofree guint8 *mel = NULL;
      g_autoptr (GError) error = NULL;
      if (!jd_preview_render (&ctx->engine->preview, ctx->engine->backend, v, a, &frames, &mel,
                              &error))
        {
          /* A preview is a convenience: the generation goes on without this one. */
          g_warning ("No preview at step %d: %s", sp->step, error->message);
          return;
        }
      JdPreview preview = {
        .step = sp->step,
        .total = sp->total,
        .n_frames = (int) v->shape[0],
        .width = (int) v->shape[3],
        .height = (int) v->shape[2],
        .frames = frames,
        .mel_width = (int) a->shape[1],
        .mel_height = (int) a->shape[2],
        .mel = mel,
      };
      params->on_preview (&preview, params->user_data);
    }
}

static guint8
unit_to_byte (float x)
{
  /* [-1, 1] → 0…255; NaN → 0 so a broken model shows black, not noise. */
  float v = roundf ((x + 1.0f) * 127.5f);
  return (guint8) (isnan (v) ? 0 : CLAMP (v, 0.0f, 255.0f));
}

static gboolean
decode_video (JdEngine *engine, const JdTensor *x0, JdResult *result, GError **error)
{
  JdBackend *be = engine->backend;
  double scale = jd_vae_get_config (engine->video_vae)->scaling_factor;
  g_autoptr (JdTensor) z = jd_tensor_new (be, JD_DTYPE_F32, x0->ndim, x0->shape, error);
  if (z == NULL || !jd_unary (be, JD_UNARY_AFFINE, (float) (1.0 / scale), 0.0f, x0, z, error))
    return FALSE;
  int n_frames = (int) x0->shape[0];
  g_autoptr (JdTensor) pixels = jd_vae_decode (engine->video_vae, z, n_frames, error);
  if (pixels == NULL)
    return FALSE;
  int h = (int) pixels->shape[2], w = (int) pixels->shape[3];
  g_autofree float *host = g_new (float, jd_tensor_numel (pixels));
  if (!jd_tensor_download_f32 (pixels, host, error))
    return FALSE;
  gsize plane = (gsize) w * h;
  result->frames = g_malloc ((gsize) n_frames * plane * 4);
  for (int f = 0; f < n_frames; f++)
    for (gsize p = 0; p < plane; p++)
      {
        guint8 *px = result->frames + ((gsize) f * plane + p) * 4;
        for (int c = 0; c < 3; c++)
          px[c] = unit_to_byte (host[((gsize) f * 3 + c) * plane + p]);
        px[3] = 255;
      }
  result->n_frames = n_frames;
  result->width = w;
  result->height = h;
  return TRUE;
}

static gboolean
griffin_lim (JdEngine *engine, const float *log_mel, int64_t frames, int64_t bins, float *pcm,
             int64_t samples, GError **error)
{
  JdMelConfig mel_config = jd_mel_config_audioldm ();
  mel_config.sample_rate = engine->info.sample_rate;
  mel_config.n_mels = (int) bins;
  mel_config.fmax = engine->info.sample_rate / 2.0;
  JdStftConfig stft_config = jd_stft_config_audioldm ();
  stft_config.hop = engine->info.hop_length;
  stft_config.pad = (stft_config.n_fft - stft_config.hop) / 2;
  g_autoptr (JdMel) mel = jd_mel_new (&mel_config, error);
  g_autoptr (JdStft) stft = mel ? jd_stft_new (&stft_config, error) : NULL;
  if (stft == NULL)
    return FALSE;
  JdGriffinLimConfig config = jd_griffin_lim_config_default ();
  config.iterations = 32;
  return jd_griffin_lim_log_mel (mel, stft, log_mel, frames, &config, pcm, samples, error);
}

static gboolean
decode_audio (JdEngine *engine, const JdTensor *x0, JdResult *result, GError **error)
{
  JdBackend *be = engine->backend;
  double scale = jd_vae_get_config (engine->audio_vae)->scaling_factor;
  int64_t shape4[4] = { 1, x0->shape[0], x0->shape[1], x0->shape[2] };
  g_autoptr (JdTensor) z = jd_tensor_new (be, JD_DTYPE_F32, 4, shape4, error);
  g_autoptr (JdTensor) x0_4 = reshaped (x0, 4, shape4);
  if (z == NULL || !jd_unary (be, JD_UNARY_AFFINE, (float) (1.0 / scale), 0.0f, x0_4, z, error))
    return FALSE;
  g_autoptr (JdTensor) mel = jd_vae_decode (engine->audio_vae, z, 1, error);
  if (mel == NULL)
    return FALSE;
  int64_t frames = mel->shape[2], bins = mel->shape[3];
  int64_t samples = frames * engine->info.hop_length;
  result->sample_rate = engine->info.sample_rate;
  result->n_samples = (gsize) samples;
  result->pcm = g_new0 (float, samples);

  const JdVocoderConfig *vc = engine->vocoder ? jd_vocoder_get_config (engine->vocoder) : NULL;
  if (vc != NULL && vc->model_in_dim == bins)
    {
      int64_t shape3[3] = { 1, frames, bins };
      g_autoptr (JdTensor) mel_3 = reshaped (mel, 3, shape3);
      g_autoptr (JdTensor) wave = jd_vocoder_run (engine->vocoder, mel_3, error);
      if (wave == NULL)
        return FALSE;
      /* HiFi-GAN gives a few samples more than frames · hop: trim (README, Vocoder). */
      g_autofree float *host = g_new (float, jd_tensor_numel (wave));
      if (!jd_tensor_download_f32 (wave, host, error))
        return FALSE;
      memcpy (result->pcm, host, sizeof (float) * MIN (samples, wave->shape[1]));
      return TRUE;
    }
  /* No vocoder for this mel (none in the bundle, or one for another number of bins). */
  g_autofree float *host = g_new (float, jd_tensor_numel (mel));
  return jd_tensor_download_f32 (mel, host, error)
         && griffin_lim (engine, host, frames, bins, result->pcm, samples, error);
}

gboolean
jd_engine_generate (JdEngine               *engine,
                    const guint8           *rgb,
                    int                     width,
                    int                     height,
                    gsize                   stride,
                    const JdGenerateParams *params,
                    JdResult              **result_out,
                    GError                **error)
{
  g_return_val_if_fail (engine != NULL && rgb != NULL && params != NULL && result_out, FALSE);
  const JdModelInfo *info = &engine->info;
  if (width != info->width || height != info->height || stride < (gsize) width * 3)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "the model %s makes %d×%d video and needs a %d×%d picture, not %d×%d",
                   info->name, info->width, info->height, info->width, info->height, width,
                   height);
      return FALSE;
    }
  if (params->steps < 1 || !(params->noise_aug_strength >= 0 && params->noise_aug_strength < 10)
      || !isfinite (params->motion_bucket_id) || !isfinite (params->condition_fps))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "generation settings out of range: %d steps (≥ 1), noise augmentation %g "
                   "(0 to 10), motion bucket %g, fps %g", params->steps,
                   params->noise_aug_strength, params->motion_bucket_id, params->condition_fps);
      return FALSE;
    }
  g_autoptr (JdResult) result = g_new0 (JdResult, 1);
  result->fps = info->fps;
  result->load_s = engine->load_s;

  gint64 start = g_get_monotonic_time ();
  if (g_cancellable_set_error_if_cancelled (params->cancellable, error)
      || !set_condition (engine, rgb, width, height, stride, params, error))
    return FALSE;
  result->condition_s = seconds_since (start);

  start = g_get_monotonic_time ();
  g_autoptr (JdGuidance) no_guidance = params->guidance ? NULL : jd_guidance_new ();
  StepContext ctx = { engine, params };
  JdSamplerParams sp = {
    .steps = params->steps,
    .seed = params->seed,
    .guidance = params->guidance ? params->guidance : no_guidance,
    .cancellable = params->cancellable,
    .on_step = on_step,
    .user_data = &ctx,
  };
  g_autoptr (JdTensor) video = NULL;
  g_autoptr (JdTensor) audio = NULL;
  if (!jd_sample (engine->backend, jd_jointdit_get_denoiser (engine->jointdit), engine->schedule,
                  4, info->video_latent, 3, info->audio_latent, &sp, &video, &audio, error))
    return FALSE;
  result->sampling_s = seconds_since (start);

  start = g_get_monotonic_time ();
  if (g_cancellable_set_error_if_cancelled (params->cancellable, error)
      || !decode_video (engine, video, result, error)
      || !decode_audio (engine, audio, result, error))
    return FALSE;
  result->decode_s = seconds_since (start);
  *result_out = g_steal_pointer (&result);
  return TRUE;
}

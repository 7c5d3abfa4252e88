/* jds-result.c — a finished generation and what made it. */
#include "jds-result.h"

#include "jds-spectrogram.h"

#include <string.h>

G_DEFINE_BOXED_TYPE (JdsResult, jds_result, jds_result_ref, jds_result_unref)

JdsResult *
jds_result_new (JdResult        *clip,
                const JdsFrames *last_preview)
{
  JdsResult *self = g_atomic_rc_box_new0 (JdsResult);
  self->clip = clip;

  /* The decoded sound is what people hear, so the result's spectrogram is made from it rather
   * than from the last latent preview. */
  int mel_width = 0, mel_height = 0;
  g_autofree guint8 *mel = NULL;
  if (clip->pcm != NULL && clip->n_samples > 0)
    mel = jds_spectrogram_from_pcm (clip->pcm, clip->n_samples, 64, &mel_width, &mel_height);
  else if (last_preview != NULL && last_preview->mel != NULL)
    {
      mel_width = last_preview->mel_width;
      mel_height = last_preview->mel_height;
      mel = g_bytes_unref_to_data (g_bytes_ref (last_preview->mel), &(gsize) { 0 });
    }
  self->frames = jds_frames_new (clip->n_frames, clip->width, clip->height, clip->frames,
                                 mel_width, mel_height, mel);
  self->frames->step = self->frames->total = 1;
  self->frames->fps = clip->fps;
  self->frames->seconds = clip->sample_rate > 0 ? (double) clip->n_samples / clip->sample_rate : 0;
  return self;
}

JdsResult *
jds_result_ref (JdsResult *result)
{
  return g_atomic_rc_box_acquire (result);
}

static void
jds_result_clear (gpointer data)
{
  JdsResult *self = data;
  g_clear_pointer (&self->clip, jd_result_free);
  g_clear_pointer (&self->frames, jds_frames_unref);
  g_clear_pointer (&self->source_bytes, g_bytes_unref);
  g_clear_pointer (&self->source_name, g_free);
  g_clear_pointer (&self->model_name, g_free);
  g_clear_pointer (&self->model_sha256, g_free);
}

void
jds_result_unref (JdsResult *result)
{
  g_atomic_rc_box_release_full (result, jds_result_clear);
}

JdMediaSettings
jds_result_media_settings (const JdsResult *result)
{
  return (JdMediaSettings) {
    .seed = result->seed,
    .steps = result->steps,
    .guidance_mode = jd_guidance_mode_name (result->mode),
    .omega_video = result->omega_video,
    .omega_video_first = result->omega_video_first,
    .omega_audio = result->omega_audio,
    .model_name = result->model_name,
    .model_sha256 = result->model_sha256,
  };
}

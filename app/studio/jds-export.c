/* jds-export.c — a result to MP4, WAV or PNG frames through the media library. */
#include "jds-export.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "jd-mp4.h"
#include "jd-png-frames.h"
#include "jd-wav.h"

gboolean
jds_export_format_for_path (const char      *path,
                            JdsExportFormat *format,
                            GError         **error)
{
  g_autofree char *base = g_path_get_basename (path);
  const char *dot = strrchr (base, '.');

  if (g_str_has_suffix (path, G_DIR_SEPARATOR_S) || g_file_test (path, G_FILE_TEST_IS_DIR)
      || dot == NULL || dot == base)
    *format = JDS_EXPORT_PNG_FRAMES;
  else if (g_ascii_strcasecmp (dot, ".mp4") == 0)
    *format = JDS_EXPORT_MP4;
  else if (g_ascii_strcasecmp (dot, ".wav") == 0)
    *format = JDS_EXPORT_WAV;
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot export to “%s”: the extension “%s” is not one of .mp4 (video with "
                     "sound), .wav (sound) or none (a folder of PNG frames)"), path, dot);
      return FALSE;
    }
  return TRUE;
}

/* The clip's frames as JdImages that borrow nothing (the writers want JdImage pointers). */
static GPtrArray *
frames_as_images (const JdResult *clip,
                  GError        **error)
{
  g_autoptr (GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) jd_image_free);
  gsize frame_bytes = (gsize) clip->width * clip->height * 4;
  for (int i = 0; i < clip->n_frames; i++)
    {
      JdImage *image = jd_image_new (clip->width, clip->height, 4, error);
      if (image == NULL)
        return NULL;
      memcpy (image->pixels, clip->frames + i * frame_bytes, frame_bytes);
      g_ptr_array_add (images, image);
    }
  return g_steal_pointer (&images);
}

gboolean
jds_export_write (const JdsResult *result,
                  const char      *path,
                  GError         **error)
{
  JdsExportFormat format;
  const JdResult *clip = result->clip;

  if (!jds_export_format_for_path (path, &format, error))
    return FALSE;

  if (format == JDS_EXPORT_WAV)
    return jd_wav_write (path, clip->pcm, clip->n_samples, 1, clip->sample_rate, error);

  g_autoptr (GPtrArray) images = frames_as_images (clip, error);
  if (images == NULL)
    return FALSE;

  if (format == JDS_EXPORT_PNG_FRAMES)
    {
      g_autofree char *folder = g_strdup (path);
      gsize length = strlen (folder);
      while (length > 1 && folder[length - 1] == G_DIR_SEPARATOR)
        folder[--length] = '\0';
      return jd_png_frames_write (folder, (JdImage *const *) images->pdata, images->len, error);
    }

  /* MP4: the frame rate as a fraction with a denominator of 1000 keeps 12.5 fps exact. */
  JdAudio audio = {
    .sample_rate = clip->sample_rate,
    .channels = 1,
    .n_frames = clip->n_samples,
    .samples = clip->pcm,
  };
  JdMediaSettings settings = {
    .seed = result->seed,
    .steps = result->steps,
    .guidance_mode = jd_guidance_mode_name (result->mode),
    .omega_video = result->omega_video,
    .omega_audio = result->omega_audio,
    .model_name = result->model_name,
    .model_sha256 = result->model_sha256,
  };
  int fps_den = 1000;
  int fps_num = (int) lround (clip->fps * fps_den);
  int a = fps_num, b = fps_den;
  while (b != 0)
    {
      int t = a % b;
      a = b;
      b = t;
    }
  if (a > 1)
    {
      fps_num /= a;
      fps_den /= a;
    }
  JdMp4Input input = {
    .frames = (JdImage *const *) images->pdata,
    .n_frames = images->len,
    .fps_num = fps_num,
    .fps_den = fps_den,
    .audio = clip->pcm != NULL && clip->n_samples > 0 ? &audio : NULL,
    .settings = &settings,
  };
  return jd_mp4_write (path, &input, error);
}

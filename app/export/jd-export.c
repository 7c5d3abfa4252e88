/* jd-export.c — a JdResult to MP4, WAV or PNG frames through the media library, with messages
 * that say what to do when the destination cannot take the file. */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "jd-export.h"
#include "jd-media-error.h"
#include "jd-png-frames.h"
#include "jd-wav.h"

const char *
jd_export_format_describe (JdExportFormat format)
{
  switch (format)
    {
    case JD_EXPORT_MP4:
      return "MP4 video";
    case JD_EXPORT_WAV:
      return "WAV sound";
    case JD_EXPORT_PNG_FRAMES:
      return "PNG frames";
    default:
      return "clip";
    }
}

static const char *
format_extension (JdExportFormat format)
{
  switch (format)
    {
    case JD_EXPORT_MP4:
      return ".mp4";
    case JD_EXPORT_WAV:
      return ".wav";
    case JD_EXPORT_PNG_FRAMES:
    default:
      return "";
    }
}

gboolean
jd_export_format_for_path (const char *path, JdExportFormat *format, GError **error)
{
  g_return_val_if_fail (path != NULL && format != NULL, FALSE);

  if (path[0] == '\0')
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "Cannot export to an empty file name: choose a file ending in .mp4 or .wav, "
                   "or a folder for PNG frames");
      return FALSE;
    }
  if (g_str_has_suffix (path, "/") || g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      *format = JD_EXPORT_PNG_FRAMES;
      return TRUE;
    }
  g_autofree char *base = g_path_get_basename (path);
  const char *dot = strrchr (base, '.');
  /* A leading dot is a hidden name, not an extension. */
  if (dot == NULL || dot == base)
    {
      *format = JD_EXPORT_PNG_FRAMES;
      return TRUE;
    }
  if (g_ascii_strcasecmp (dot, ".mp4") == 0 || g_ascii_strcasecmp (dot, ".m4v") == 0)
    {
      *format = JD_EXPORT_MP4;
      return TRUE;
    }
  if (g_ascii_strcasecmp (dot, ".wav") == 0)
    {
      *format = JD_EXPORT_WAV;
      return TRUE;
    }
  g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_UNSUPPORTED,
               "Cannot export to “%s”: “%s” files are not supported. Choose a name ending in "
               ".mp4 (video with sound) or .wav (sound only), or a folder (PNG frames)",
               path, dot);
  return FALSE;
}

char *
jd_export_suggest_name (const char *image_path, guint64 seed, JdExportFormat format)
{
  g_autofree char *stem = NULL;
  if (image_path != NULL && image_path[0] != '\0')
    {
      g_autofree char *base = g_path_get_basename (image_path);
      char *dot = strrchr (base, '.');
      if (dot != NULL && dot != base)
        *dot = '\0';
      if (base[0] != '\0' && strcmp (base, "/") != 0 && strcmp (base, ".") != 0)
        stem = g_steal_pointer (&base);
    }
  if (stem == NULL)
    stem = g_strdup ("jointdit");
  for (char *p = stem; *p != '\0'; p++)
    if (*p == '/' || (guchar) *p < 0x20 || *p == 0x7f)
      *p = '_';
  return g_strdup_printf ("%s-seed-%" G_GUINT64_FORMAT "%s", stem, seed, format_extension (format));
}

/* The folder a destination lands in (for PNG frames, the folder that holds the new folder). */
static char *
parent_folder (const char *path)
{
  g_autofree char *trimmed = g_strdup (path);
  gsize n = strlen (trimmed);
  while (n > 1 && trimmed[n - 1] == '/')
    trimmed[--n] = '\0';
  return g_path_get_dirname (trimmed);
}

static gboolean
message_mentions_errno (const char *message, int errnum)
{
  return strstr (message, g_strerror (errnum)) != NULL;
}

/* What a person can do about a failed write to path, judged from the error and from the place
 * itself (which still exists after the failure: the media library removed only its own
 * temporary file). NULL when there is nothing to add. */
static char *
advice_for (const char *path, gsize bytes_needed, const GError *failure)
{
  g_autofree char *folder = parent_folder (path);
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    return g_strdup_printf ("The folder “%s” does not exist: choose another place.", folder);
  if (g_access (folder, W_OK) != 0)
    return g_strdup_printf ("You cannot write to the folder “%s”: choose another place, "
                            "such as a folder in your home.", folder);

  struct statvfs fs;
  gboolean full = message_mentions_errno (failure->message, ENOSPC)
                  || message_mentions_errno (failure->message, EDQUOT);
  if (!full && statvfs (folder, &fs) == 0)
    full = (guint64) fs.f_bavail * fs.f_frsize < bytes_needed;
  if (full)
    return g_strdup ("The disk is full: free some space or choose another place.");
  if (message_mentions_errno (failure->message, EFBIG))
    return g_strdup ("The file is larger than this place accepts: choose another place.");
  if (message_mentions_errno (failure->message, EROFS))
    return g_strdup ("This place is read-only: choose another place.");
  /* Some writers (libpng) lose errno: say what usually causes a failed write. */
  if (failure->code == JD_MEDIA_ERROR_IO)
    return g_strdup ("Check that the place has free space and accepts files this large, "
                     "or choose another place.");
  return NULL;
}

/* Rewrites a failed write's message as "Could not export …: <why>. <advice>". */
static void
add_advice (GError **error, const char *path, gsize bytes_needed)
{
  /* FFmpeg reports a failed write of the header or trailer as an encoder error. */
  if (error == NULL || *error == NULL || (*error)->domain != JD_MEDIA_ERROR
      || ((*error)->code != JD_MEDIA_ERROR_IO && (*error)->code != JD_MEDIA_ERROR_ENCODER))
    return;
  /* Some messages already say what to do ("choose a new or empty folder"). */
  if (strstr ((*error)->message, "choose") != NULL)
    return;
  g_autofree char *advice = advice_for (path, bytes_needed, *error);
  if (advice == NULL)
    return;
  char *message = g_strdup_printf ("%s. %s", (*error)->message, advice);
  g_free ((*error)->message);
  (*error)->message = message;
}

static gboolean
check_result (const JdResult *result, const char *path, JdExportFormat format, GError **error)
{
  gboolean needs_frames = format != JD_EXPORT_WAV;
  gboolean needs_sound = format == JD_EXPORT_WAV;
  if (result == NULL
      || (needs_frames && (result->n_frames <= 0 || result->width <= 0 || result->height <= 0
                           || result->frames == NULL || !(result->fps > 0)))
      || (needs_sound && (result->n_samples == 0 || result->pcm == NULL
                          || result->sample_rate <= 0)))
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "Cannot export the %s “%s”: the clip has no %s to save",
                   jd_export_format_describe (format), path, needs_sound ? "sound" : "frames");
      return FALSE;
    }
  return TRUE;
}

gboolean
jd_export_result_as (const JdResult        *result,
                     const JdMediaSettings *settings,
                     const char            *path,
                     JdExportFormat         format,
                     GError               **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  if (!check_result (result, path, format, error))
    return FALSE;

  /* The frames as images, without copying them. */
  gsize frame_bytes = (gsize) result->width * result->height * 4;
  g_autofree JdImage *images = NULL;
  g_autofree JdImage **frames = NULL;
  if (format != JD_EXPORT_WAV)
    {
      images = g_new0 (JdImage, result->n_frames);
      frames = g_new0 (JdImage *, result->n_frames);
      for (int i = 0; i < result->n_frames; i++)
        {
          images[i] = (JdImage) { result->width, result->height, 4, (gsize) result->width * 4,
                                  result->frames + i * frame_bytes };
          frames[i] = &images[i];
        }
    }

  gboolean ok = FALSE;
  gsize bytes_needed = 0;
  switch (format)
    {
    case JD_EXPORT_MP4:
      {
        JdAudio audio = { result->sample_rate, 1, result->n_samples, result->pcm };
        JdMp4Input input = {
          .frames = (JdImage *const *) frames,
          .n_frames = result->n_frames,
          .audio = result->n_samples > 0 && result->pcm != NULL && result->sample_rate > 0
                   ? &audio : NULL,
          .settings = settings,
        };
        jd_mp4_fps_fraction (result->fps, &input.fps_num, &input.fps_den);
        /* A compressed clip is far smaller than this; it only has to catch a full disk. */
        bytes_needed = frame_bytes * result->n_frames / 16 + result->n_samples / 4 + 4096;
        ok = jd_mp4_write (path, &input, error);
        break;
      }
    case JD_EXPORT_WAV:
      bytes_needed = result->n_samples * 2 + 44;
      ok = jd_wav_write (path, result->pcm, result->n_samples, 1, result->sample_rate, error);
      break;
    case JD_EXPORT_PNG_FRAMES:
      {
        /* A trailing slash names the folder, not a file inside it. */
        g_autofree char *folder = g_strdup (path);
        gsize n = strlen (folder);
        while (n > 1 && folder[n - 1] == '/')
          folder[--n] = '\0';
        bytes_needed = frame_bytes * result->n_frames / 4 + 4096;
        ok = jd_png_frames_write (folder, (JdImage *const *) frames, result->n_frames, error);
        break;
      }
    default:
      g_return_val_if_reached (FALSE);
    }
  if (!ok)
    add_advice (error, path, bytes_needed);
  return ok;
}

gboolean
jd_export_result (const JdResult        *result,
                  const JdMediaSettings *settings,
                  const char            *path,
                  JdExportFormat        *format_out,
                  GError               **error)
{
  JdExportFormat format;
  if (!jd_export_format_for_path (path, &format, error))
    return FALSE;
  if (format_out != NULL)
    *format_out = format;
  return jd_export_result_as (result, settings, path, format, error);
}

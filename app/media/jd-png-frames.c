/* jd-png-frames.c — a folder of numbered PNG frames, complete or absent. */
#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#include "jd-media-error.h"
#include "jd-png-frames.h"

static void
remove_folder (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  if (dir != NULL)
    {
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (folder, name, NULL);
          g_unlink (child);
        }
    }
  g_rmdir (folder);
}

static gboolean
save_frame (const JdImage *frame, const char *file, GError **error)
{
  /* gdk-pixbuf reads our packed rows in place; no copy. */
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_data (
    frame->pixels, GDK_COLORSPACE_RGB, frame->channels == 4, 8, frame->width, frame->height,
    (int) frame->stride, NULL, NULL);
  return gdk_pixbuf_save (pixbuf, file, "png", error, "compression", "6", NULL);
}

gboolean
jd_png_frames_write (const char *folder, JdImage *const *frames, guint n_frames, GError **error)
{
  if (n_frames == 0 || n_frames > 100000)
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "Cannot write %u PNG frames into “%s”: the count must be 1 to 100000 "
                   "(five-digit names)", n_frames, folder);
      return FALSE;
    }
  for (guint i = 0; i < n_frames; i++)
    if (frames[i] == NULL || (frames[i]->channels != 3 && frames[i]->channels != 4)
        || frames[i]->width <= 0 || frames[i]->height <= 0)
      {
        g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                     "Cannot write PNG frames into “%s”: frame %u is missing or not RGB/RGBA",
                     folder, i);
        return FALSE;
      }

  /* An existing non-empty folder would mix old and new frames: refuse it. */
  {
    g_autoptr (GDir) existing = g_dir_open (folder, 0, NULL);
    if (existing != NULL && g_dir_read_name (existing) != NULL)
      {
        g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
                     "Cannot write PNG frames into “%s”: the folder already holds files; "
                     "choose a new or empty folder", folder);
        return FALSE;
      }
    if (existing == NULL && g_file_test (folder, G_FILE_TEST_EXISTS))
      {
        g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
                     "Cannot write PNG frames into “%s”: it exists and is not a folder", folder);
        return FALSE;
      }
  }

  g_autofree char *temp = g_strconcat (folder, ".XXXXXX.tmp", NULL);
  if (g_mkdtemp_full (temp, 0777) == NULL)
    {
      int saved = errno;
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
                   "Cannot write PNG frames into “%s”: %s", folder, g_strerror (saved));
      return FALSE;
    }
  for (guint i = 0; i < n_frames; i++)
    {
      g_autofree char *name = g_strdup_printf ("%05u.png", i);
      g_autofree char *file = g_build_filename (temp, name, NULL);
      g_autoptr (GError) save_error = NULL;
      if (!save_frame (frames[i], file, &save_error))
        {
          remove_folder (temp);
          g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
                       "Could not write PNG frame %s into “%s”: %s", name, folder,
                       save_error->message);
          return FALSE;
        }
    }
  /* rename() replaces an empty folder atomically and fails on a non-empty one, so a folder
   * filled meanwhile by someone else is never clobbered. */
  if (g_rename (temp, folder) != 0)
    {
      int saved = errno;
      remove_folder (temp);
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
                   "Could not put the PNG frames into “%s”: %s", folder, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

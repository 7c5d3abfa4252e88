/* jd-media-file.c — temporary files renamed into place, so no reader ever sees half a file. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "jd-media-error.h"
#include "jd-media-private.h"

char *
jd_media_temp_file_for (const char *path, const char *what, GError **error)
{
  g_autofree char *template = g_strconcat (path, ".XXXXXX.tmp", NULL);
  int fd = g_mkstemp_full (template, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
                   "Could not write the %s “%s”: %s", what, path, g_strerror (saved));
      return NULL;
    }
  close (fd);
  return g_steal_pointer (&template);
}

gboolean
jd_media_commit_temp (const char *temp_path, const char *path, const char *what, GError **error)
{
  if (g_rename (temp_path, path) == 0)
    return TRUE;
  int saved = errno;
  g_unlink (temp_path);
  g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
               "Could not write the %s “%s”: renaming the finished file into place failed: %s",
               what, path, g_strerror (saved));
  return FALSE;
}

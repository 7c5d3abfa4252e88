/* jd-media-private.h — what the writers of the media library share: temporary files beside
 * the target, renamed into place when complete. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Creates an empty file PATH.XXXXXX.tmp in the folder of path (mode 0666 less the umask) and
 * returns its name; NULL with JD_MEDIA_ERROR_IO naming path (what a person asked for) when the
 * folder is missing or not writable. */
char    *jd_media_temp_file_for (const char *path, const char *what, GError **error);

/* Renames temp_path over path; on failure removes temp_path and fails naming path. */
gboolean jd_media_commit_temp (const char *temp_path,
                               const char *path,
                               const char *what,
                               GError    **error);

G_END_DECLS

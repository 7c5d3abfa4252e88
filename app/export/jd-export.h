/* jd-export.h — saving a generated clip (a JdResult) as MP4, WAV or a folder of PNG frames.
 *
 * The destination says the format: a name ending in .mp4 (H.264 + AAC, the generation settings
 * in the container metadata), .wav (the sound, 16-bit PCM) or an existing folder or a name with
 * no extension (the frames as 00000.png, 00001.png, … in that folder). Writing goes through the
 * media library (app/media), which writes a temporary file or folder beside the destination and
 * renames it into place when complete: a failure never leaves half a file, and an existing file
 * at the destination is replaced only by a complete one (asking first is the UI's job).
 *
 * Failures are JD_MEDIA_ERROR errors whose message is one paragraph a person can act on: what
 * could not be saved where, why, and what to do ("The disk is full: free some space or choose
 * another place.").
 *
 * Nothing here needs GTK: the studio calls it from a worker thread, the tests call it directly.
 */
#pragma once

#include <glib.h>

#include "jointdit.h"
#include "jd-mp4.h"

G_BEGIN_DECLS

typedef enum
{
  JD_EXPORT_MP4,
  JD_EXPORT_WAV,
  JD_EXPORT_PNG_FRAMES,
} JdExportFormat;

/* "MP4 video", "WAV sound", "PNG frames": the words messages use. */
const char *jd_export_format_describe (JdExportFormat format);

/* The format the destination path asks for (see above; extensions are case-insensitive). An
 * existing file that is not a folder keeps its extension's meaning. Fails with
 * JD_MEDIA_ERROR_UNSUPPORTED, naming the path and the choices, for any other extension. */
gboolean jd_export_format_for_path (const char     *path,
                                    JdExportFormat *format,
                                    GError        **error);

/* A file name (no folder) for a result made from image_path with seed: the image's base name
 * without its extension, "-seed-", the seed, and the format's extension ("cat-seed-42.mp4";
 * "cat-seed-42" for PNG frames). image_path may be NULL or empty ("jointdit-seed-42.mp4").
 * Characters that are awkward in file names ('/', control characters) become '_'. */
char       *jd_export_suggest_name (const char     *image_path,
                                    guint64         seed,
                                    JdExportFormat  format);

/* Writes result to path in the format path asks for (jd_export_format_for_path). settings go
 * into the MP4 metadata (NULL: none; ignored for WAV and PNG). format_out (may be NULL)
 * receives the format written. Only reads result. */
gboolean    jd_export_result (const JdResult        *result,
                              const JdMediaSettings *settings,
                              const char            *path,
                              JdExportFormat        *format_out,
                              GError               **error);

/* The same in a given format, whatever path's extension says. */
gboolean    jd_export_result_as (const JdResult        *result,
                                 const JdMediaSettings *settings,
                                 const char            *path,
                                 JdExportFormat         format,
                                 GError               **error);

G_END_DECLS

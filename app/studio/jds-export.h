/* jds-export.h — writing a result through app/media: the path's extension picks the format
 * (.mp4: H.264 + AAC with the settings in the metadata; .wav: the sound; no extension: a folder
 * of PNG frames). Every writer goes through a temporary file (or folder) and a rename, so a
 * failure leaves nothing behind.
 *
 * EXPORT: the lead wires the richer export helpers of app/export/ in here after merging. */
#pragma once

#include "jds-result.h"

G_BEGIN_DECLS

typedef enum
{
  JDS_EXPORT_MP4,
  JDS_EXPORT_WAV,
  JDS_EXPORT_PNG_FRAMES,
} JdsExportFormat;

/* FALSE with G_IO_ERROR_INVALID_ARGUMENT (naming the extension) for an unknown extension. */
gboolean jds_export_format_for_path (const char      *path,
                                     JdsExportFormat *format,
                                     GError         **error);

gboolean jds_export_write (const JdsResult *result,
                           const char      *path,
                           GError         **error);

G_END_DECLS

/* jd-media-error.h — the error domain of the media library (images, WAV, PNG frames, MP4).
 * Every message names the file it is about and says what is wrong with it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JD_MEDIA_ERROR (jd_media_error_quark ())

typedef enum
{
  JD_MEDIA_ERROR_INVALID_ARGUMENT, /* the caller passed sizes, rates or counts that make no sense */
  JD_MEDIA_ERROR_NOT_AN_IMAGE,     /* no gdk-pixbuf loader recognises the data (or it is empty) */
  JD_MEDIA_ERROR_TOO_LARGE,        /* the picture is above the pixel limit */
  JD_MEDIA_ERROR_DAMAGED,          /* a known format, but cut short or corrupt */
  JD_MEDIA_ERROR_UNSUPPORTED,      /* a WAV encoding or codec this build cannot handle */
  JD_MEDIA_ERROR_IO,               /* reading, writing or renaming a file failed */
  JD_MEDIA_ERROR_ENCODER,          /* FFmpeg refused to open, encode or mux */
} JdMediaError;

GQuark jd_media_error_quark (void);

G_END_DECLS

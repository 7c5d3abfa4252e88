/* jd-media-error.c — the media library's error domain. */
#include "jd-media-error.h"

G_DEFINE_QUARK (jd-media-error-quark, jd_media_error)

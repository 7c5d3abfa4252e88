/* jd-picture-end.h — does a PNG, JPEG or WebP file reach its own end?
 *
 * gdk-pixbuf's incremental loaders hand back a picture without an error when the data stops
 * early in several cases (libjpeg inserts a fake end marker; the WebP and interlaced PNG
 * loaders report the whole area painted). This walker follows each container's structure as
 * the bytes arrive — PNG chunks up to IEND, JPEG segments and entropy-coded scans up to the end
 * of image, the WebP RIFF length — so anything after the end (a camera's appended video, a
 * second picture) is ignored and anything missing is noticed. Other formats are not judged. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  /*< private >*/
  int     kind, state, after_skip;
  guint8  head[12];
  int     have_head;
  guint8  field[8];
  int     have_field;
  guint8  marker;
  guint64 skip;
} JdPictureEnd;

void     jd_picture_end_init (JdPictureEnd *end);
void     jd_picture_end_feed (JdPictureEnd *end, const guint8 *data, gsize length);
/* TRUE when the data was PNG, JPEG or WebP and stopped before the container's end. */
gboolean jd_picture_end_cut_short (const JdPictureEnd *end);

G_END_DECLS

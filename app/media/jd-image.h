/* jd-image.h — pictures in memory and loading them for the model.
 *
 * Loading goes through gdk-pixbuf (the loader is chosen by content, never by the file name):
 * PNG (8/16-bit, grey, palette, alpha), JPEG (RGB, grey, CMYK), WebP, GIF (the first frame of an
 * animation) and whatever else the installed loaders read. The size is checked when the decoder
 * announces it, before the pixels are allocated, so a 40-byte PNG that claims 10001×10001 is
 * refused without decoding. EXIF orientation is applied, alpha is composited over white
 * (JD_IMAGE_BACKGROUND), the picture is centre-cropped to the target aspect ratio and resized
 * with area filtering. The result is always RGB8. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Pictures above this many pixels (width × height) are refused before decoding. */
#define JD_IMAGE_MAX_PIXELS ((guint64) 100000000)

/* What transparent pixels become: opaque white, 0xRRGGBB. White, because a cut-out object on
 * a transparent background is meant to be seen on a light page, and the model was trained on
 * photographs where a missing background is far more often white than grey or black. */
#define JD_IMAGE_BACKGROUND 0xffffffu

typedef struct
{
  int     width;     /* pixels, > 0 */
  int     height;    /* pixels, > 0 */
  int     channels;  /* 3 (RGB8) or 4 (RGBA8, not premultiplied) */
  gsize   stride;    /* bytes from one row to the next: width × channels (rows are packed) */
  guint8 *pixels;    /* owned; stride × height bytes, top row first */
} JdImage;

/* A new image with pixels set to zero; NULL with JD_MEDIA_ERROR_INVALID_ARGUMENT for a size
 * that is not positive, channels other than 3 or 4, or a size that would overflow memory. */
JdImage *jd_image_new (int width, int height, int channels, GError **error);
void     jd_image_free (JdImage *image);

/* Loads the picture at path (a file name, shown in messages as given) and returns it as RGB8 of
 * exactly target_width × target_height (centre-cropped to that aspect, then resized); both 0
 * keeps the picture's own size. Errors (JD_MEDIA_ERROR) name the file: NOT_AN_IMAGE (also for an
 * empty file), TOO_LARGE (above JD_IMAGE_MAX_PIXELS), DAMAGED (cut short or corrupt), IO (cannot
 * be opened or read), INVALID_ARGUMENT (a bad target size). */
JdImage *jd_image_load (const char *path, int target_width, int target_height, GError **error);

/* The same from bytes in memory (a clipboard or a drop); name is used in messages only. */
JdImage *jd_image_load_from_bytes (GBytes     *bytes,
                                   const char *name,
                                   int         target_width,
                                   int         target_height,
                                   GError    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdImage, jd_image_free)

G_END_DECLS

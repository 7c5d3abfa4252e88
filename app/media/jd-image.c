/* jd-image.c — pictures in memory; loading any picture gdk-pixbuf reads as the model's RGB8
 * input (orientation, alpha, crop, resize). */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "jd-image.h"
#include "jd-media-error.h"
#include "jd-picture-end.h"

JdImage *
jd_image_new (int width, int height, int channels, GError **error)
{
  if (width <= 0 || height <= 0 || (channels != 3 && channels != 4)
      || (guint64) width * (guint64) height > G_MAXSIZE / 8)
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "An image of %d×%d pixels with %d channels cannot be made: width and height "
                   "must be positive and channels 3 (RGB) or 4 (RGBA)", width, height, channels);
      return NULL;
    }
  guint8 *pixels = g_try_malloc0 ((gsize) width * (gsize) height * (gsize) channels);
  if (pixels == NULL)
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "Not enough memory for an image of %d×%d pixels", width, height);
      return NULL;
    }
  JdImage *image = g_new0 (JdImage, 1);
  image->width = width;
  image->height = height;
  image->channels = channels;
  image->stride = (gsize) width * (gsize) channels;
  image->pixels = pixels;
  return image;
}

void
jd_image_free (JdImage *image)
{
  if (image == NULL)
    return;
  g_free (image->pixels);
  g_free (image);
}

/* What the decoder announced about the picture's size, before it allocates pixels. */
typedef struct
{
  int      width, height;
  gboolean too_large;
  int      target_longest; /* the longer side of the final picture, 0 to keep the full size */
  /* Rows the decoder reported as painted (area-updated), to catch data that ends early: the
   * progressive loaders return what they have without an error when the data runs out. */
  guint8  *rows_done;
  int      rows_total, rows_seen;
  gboolean any_update;
  JdPictureEnd end;      /* PNG, JPEG, WebP: does the data reach the container's end? */
} SizeCheck;

static void
on_area_prepared (GdkPixbufLoader *loader, gpointer user_data)
{
  SizeCheck *check = user_data;
  GdkPixbuf *pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (pixbuf == NULL || check->rows_done != NULL)
    return;
  check->rows_total = gdk_pixbuf_get_height (pixbuf);
  check->rows_done = g_malloc0 ((gsize) check->rows_total);
}

static void
on_area_updated (GdkPixbufLoader *loader, int x, int y, int width, int height,
                 gpointer user_data)
{
  SizeCheck *check = user_data;
  check->any_update = TRUE;
  if (check->rows_done == NULL)
    return;
  int end = MIN (y + height, check->rows_total);
  for (int row = MAX (y, 0); row < end; row++)
    if (!check->rows_done[row])
      {
        check->rows_done[row] = 1;
        check->rows_seen++;
      }
}

static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer user_data)
{
  SizeCheck *check = user_data;
  check->width = width;
  check->height = height;
  if ((guint64) width * (guint64) height > JD_IMAGE_MAX_PIXELS)
    {
      check->too_large = TRUE;
      /* A zero size makes the decoders stop before allocating (gdk_pixbuf_get_file_info relies
       * on the same behaviour); the read loop also stops feeding data. */
      gdk_pixbuf_loader_set_size (loader, 0, 0);
      return;
    }
  /* A JPEG much larger than needed is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself
   * (then scaled by the loader to the size asked): a 48-megapixel photo for a 512-pixel frame
   * never occupies 150 MB. The size asked keeps the shorter side at twice the final longer side,
   * so the crop still has twice the final resolution whatever the crop or EXIF rotation. Only
   * JPEG: for other formats the loader would decode at full size anyway and report rows only
   * at the end, which would blind the cut-short check. */
  GdkPixbufFormat *format = gdk_pixbuf_loader_get_format (loader);
  g_autofree char *format_name = format != NULL ? gdk_pixbuf_format_get_name (format) : NULL;
  int shorter = MIN (width, height), need = 2 * check->target_longest;
  if (need > 0 && shorter >= 2 * need && g_strcmp0 (format_name, "jpeg") == 0)
    {
      double scale = (double) need / shorter;
      gdk_pixbuf_loader_set_size (loader, MAX (1, (int) ceil (width * scale)),
                                  MAX (1, (int) ceil (height * scale)));
    }
}

static char *
format_description (GdkPixbufLoader *loader)
{
  GdkPixbufFormat *format = gdk_pixbuf_loader_get_format (loader);
  if (format == NULL)
    return g_strdup ("a picture");
  g_autofree char *format_name = gdk_pixbuf_format_get_name (format);
  g_autofree char *name = g_ascii_strup (format_name, -1);
  return g_strdup_printf ("a %s picture", name);
}

/* Feeds stream to a content-sniffing loader and returns the decoded pixbuf (for an animation
 * its first frame: gdk_pixbuf_loader_get_pixbuf gives an animation's static image). */
static GdkPixbuf *
decode_stream (GInputStream *stream, const char *name, int target_longest, GError **error)
{
  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  SizeCheck check = { .target_longest = target_longest };
  jd_picture_end_init (&check.end);
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &check);
  g_signal_connect (loader, "area-prepared", G_CALLBACK (on_area_prepared), &check);
  g_signal_connect (loader, "area-updated", G_CALLBACK (on_area_updated), &check);

  const gsize chunk = 64 * 1024;
  g_autofree guint8 *buffer = g_malloc (chunk);
  guint64 total = 0;
  gboolean fed_all = TRUE;
  g_autoptr (GError) decode_error = NULL;
  for (;;)
    {
      g_autoptr (GError) read_error = NULL;
      gssize n = g_input_stream_read (stream, buffer, chunk, NULL, &read_error);
      if (n < 0)
        {
          gdk_pixbuf_loader_close (loader, NULL);
          g_free (check.rows_done);
          g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
                       "Could not read the picture “%s”: %s", name, read_error->message);
          return NULL;
        }
      if (n == 0)
        break;
      total += (guint64) n;
      jd_picture_end_feed (&check.end, buffer, (gsize) n);
      if (!gdk_pixbuf_loader_write (loader, buffer, (gsize) n, &decode_error))
        {
          fed_all = FALSE;
          break;
        }
      if (check.too_large)
        break;
    }
  gboolean closed = gdk_pixbuf_loader_close (loader, fed_all ? &decode_error : NULL);
  g_autofree guint8 *rows_done = check.rows_done;

  if (check.too_large)
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_TOO_LARGE,
                   "The picture “%s” is %d×%d = %.2f megapixels; the limit is %.0f megapixels",
                   name, check.width, check.height,
                   (double) check.width * (double) check.height / 1e6,
                   (double) JD_IMAGE_MAX_PIXELS / 1e6);
      return NULL;
    }
  if (total == 0)
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_NOT_AN_IMAGE,
                   "“%s” is empty (0 bytes), not a picture", name);
      return NULL;
    }
  GdkPixbuf *pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (!fed_all || !closed || pixbuf == NULL)
    {
      const char *why = decode_error != NULL ? decode_error->message : "no picture came out";
      if (gdk_pixbuf_loader_get_format (loader) == NULL
          || g_error_matches (decode_error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_UNKNOWN_TYPE))
        g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_NOT_AN_IMAGE,
                     "“%s” is not an image gdk-pixbuf can read (%s)", name, why);
      else
        {
          g_autofree char *what = format_description (loader);
          g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_DAMAGED,
                       "“%s” is %s that is cut short or damaged (%s)", name, what, why);
        }
      return NULL;
    }
  /* A loader that never reports painted rows cannot be judged this way; the ones we read
   * (PNG, JPEG, GIF, WebP) all do. */
  if (check.any_update && check.rows_seen < check.rows_total)
    {
      g_autofree char *what = format_description (loader);
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_DAMAGED,
                   "“%s” is %s that is cut short: only %d of its %d rows could be decoded", name,
                   what, check.rows_seen, check.rows_total);
      return NULL;
    }
  if (jd_picture_end_cut_short (&check.end))
    {
      g_autofree char *what = format_description (loader);
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_DAMAGED,
                   "“%s” is %s that is cut short: the file ends before the picture does", name,
                   what);
      return NULL;
    }
  return g_object_ref (pixbuf);
}

/* Shrinks by halves while the picture is more than four times the target, then to the target:
 * each step is an area average, so fine detail cannot alias however large the picture. */
static GdkPixbuf *
resize_area (GdkPixbuf *source, int width, int height)
{
  g_autoptr (GdkPixbuf) current = g_object_ref (source);
  while (gdk_pixbuf_get_width (current) >= 4 * width
         && gdk_pixbuf_get_height (current) >= 4 * height)
    {
      GdkPixbuf *half = gdk_pixbuf_scale_simple (current, gdk_pixbuf_get_width (current) / 2,
                                                 gdk_pixbuf_get_height (current) / 2,
                                                 GDK_INTERP_BILINEAR);
      if (half == NULL)
        return NULL;
      g_object_unref (current);
      current = half;
    }
  if (gdk_pixbuf_get_width (current) == width && gdk_pixbuf_get_height (current) == height)
    return g_steal_pointer (&current);
  return gdk_pixbuf_scale_simple (current, width, height, GDK_INTERP_BILINEAR);
}

/* The largest centred window of the target's aspect ratio. */
static GdkPixbuf *
crop_to_aspect (GdkPixbuf *source, int target_width, int target_height)
{
  int w = gdk_pixbuf_get_width (source), h = gdk_pixbuf_get_height (source);
  int cw = w, ch = h;
  if ((guint64) w * (guint64) target_height > (guint64) h * (guint64) target_width)
    cw = (int) CLAMP (llround ((double) h * target_width / target_height), 1, w);
  else
    ch = (int) CLAMP (llround ((double) w * target_height / target_width), 1, h);
  if (cw == w && ch == h)
    return g_object_ref (source);
  return gdk_pixbuf_new_subpixbuf (source, (w - cw) / 2, (h - ch) / 2, cw, ch);
}

/* Copies to RGB8, compositing any alpha over JD_IMAGE_BACKGROUND. */
static JdImage *
flatten (GdkPixbuf *pixbuf, GError **error)
{
  int w = gdk_pixbuf_get_width (pixbuf), h = gdk_pixbuf_get_height (pixbuf);
  int n = gdk_pixbuf_get_n_channels (pixbuf);
  gboolean alpha = gdk_pixbuf_get_has_alpha (pixbuf);
  gsize rowstride = (gsize) gdk_pixbuf_get_rowstride (pixbuf);
  const guint8 *src = gdk_pixbuf_read_pixels (pixbuf);
  g_return_val_if_fail (gdk_pixbuf_get_bits_per_sample (pixbuf) == 8 && n >= 3, NULL);

  JdImage *image = jd_image_new (w, h, 3, error);
  if (image == NULL)
    return NULL;
  const unsigned bg[3] = { (JD_IMAGE_BACKGROUND >> 16) & 0xff, (JD_IMAGE_BACKGROUND >> 8) & 0xff,
                           JD_IMAGE_BACKGROUND & 0xff };
  for (int y = 0; y < h; y++)
    {
      const guint8 *s = src + (gsize) y * rowstride;
      guint8 *d = image->pixels + (gsize) y * image->stride;
      for (int x = 0; x < w; x++, s += n, d += 3)
        {
          unsigned a = alpha ? s[3] : 255;
          for (int c = 0; c < 3; c++)
            d[c] = (guint8) ((s[c] * a + bg[c] * (255 - a) + 127) / 255);
        }
    }
  return image;
}

static JdImage *
load_stream (GInputStream *stream, const char *name, int target_width, int target_height,
             GError **error)
{
  if (target_width < 0 || target_height < 0 || (target_width == 0) != (target_height == 0))
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "Cannot load “%s” at %d×%d: the target size must be positive, or 0×0 to keep "
                   "the picture's own size", name, target_width, target_height);
      return NULL;
    }
  g_autoptr (GdkPixbuf) decoded
    = decode_stream (stream, name, MAX (target_width, target_height), error);
  if (decoded == NULL)
    return NULL;
  /* EXIF orientation (JPEG, TIFF, WebP loaders set the "orientation" option). */
  g_autoptr (GdkPixbuf) upright = gdk_pixbuf_apply_embedded_orientation (decoded);
  g_autoptr (GdkPixbuf) resized = NULL;
  if (upright != NULL && target_width == 0)
    resized = g_object_ref (upright);
  else if (upright != NULL)
    {
      g_autoptr (GdkPixbuf) cropped = crop_to_aspect (upright, target_width, target_height);
      resized = resize_area (cropped, target_width, target_height);
    }
  if (resized == NULL)
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "Not enough memory to prepare the picture “%s”", name);
      return NULL;
    }
  return flatten (resized, error);
}

JdImage *
jd_image_load (const char *path, int target_width, int target_height, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) open_error = NULL;
  g_autoptr (GFileInputStream) stream = g_file_read (file, NULL, &open_error);
  if (stream == NULL)
    {
      if (g_error_matches (open_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
                     "The picture “%s” does not exist", path);
      else if (g_error_matches (open_error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY))
        g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_NOT_AN_IMAGE,
                     "“%s” is a folder, not a picture", path);
      else
        g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO,
                     "Could not open the picture “%s”: %s", path, open_error->message);
      return NULL;
    }
  return load_stream (G_INPUT_STREAM (stream), path, target_width, target_height, error);
}

JdImage *
jd_image_load_from_bytes (GBytes *bytes, const char *name, int target_width, int target_height,
                          GError **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  g_autoptr (GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);
  return load_stream (stream, name != NULL ? name : "(picture in memory)", target_width,
                      target_height, error);
}

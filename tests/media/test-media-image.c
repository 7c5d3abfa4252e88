/* Loading pictures: every format the issue names, orientation, alpha, crop and resize, and
 * refusals that name the file. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "jd-image.h"
#include "jd-media-error.h"
#include "media-test-util.h"

static char *scratch;

/* An RGB(A) pixbuf whose pixel (x, y) is colour (x, y) packed as 0xRRGGBBAA. */
static GdkPixbuf *
make_pixbuf (int width, int height, gboolean alpha, guint32 (*colour) (int x, int y))
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  int n = gdk_pixbuf_get_n_channels (pixbuf), stride = gdk_pixbuf_get_rowstride (pixbuf);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint32 c = colour (x, y);
        guint8 *p = pixels + y * stride + x * n;
        p[0] = c >> 24, p[1] = (c >> 16) & 0xff, p[2] = (c >> 8) & 0xff;
        if (alpha)
          p[3] = c & 0xff;
      }
  return pixbuf;
}

static char *
save_pixbuf (GdkPixbuf *pixbuf, const char *name, const char *type, const char *key,
             const char *value)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (scratch, name, NULL);
  gdk_pixbuf_save (pixbuf, path, type, &error, key, value, NULL);
  g_assert_no_error (error);
  return path;
}

static void
assert_rgb_near (const JdImage *image, int x, int y, int r, int g, int b, int tolerance)
{
  const guint8 *p = media_test_pixel (image, x, y);
  if (ABS (p[0] - r) > tolerance || ABS (p[1] - g) > tolerance || ABS (p[2] - b) > tolerance)
    g_error ("pixel (%d, %d) is (%d, %d, %d); expected (%d, %d, %d) ± %d", x, y, p[0], p[1], p[2],
             r, g, b, tolerance);
}

/* Four quadrants: red, green / blue, white — on a 32×16 picture. */
static guint32
quadrants (int x, int y)
{
  static const guint32 colours[4] = { 0xdc1e1eff, 0x1edc1eff, 0x1e1edcff, 0xf0f0f0ff };
  return colours[(y >= 8) * 2 + (x >= 16)];
}

static void
test_png_rgb_exact_and_cropped (void)
{
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (32, 16, FALSE, quadrants);
  g_autofree char *path = save_pixbuf (pixbuf, "rgb.png", "png", NULL, NULL);
  g_autoptr (GError) error = NULL;

  g_autoptr (JdImage) own = jd_image_load (path, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (own->width, ==, 32);
  g_assert_cmpint (own->height, ==, 16);
  g_assert_cmpint (own->channels, ==, 3);
  g_assert_cmpuint (own->stride, ==, 96);
  for (int y = 0; y < 16; y++)
    for (int x = 0; x < 32; x++)
      {
        guint32 c = quadrants (x, y);
        assert_rgb_near (own, x, y, c >> 24, (c >> 16) & 0xff, (c >> 8) & 0xff, 0);
      }

  /* A square target takes the centre 16×16 (columns 8..23): the same quadrant layout, with
   * each quadrant 8×8 and, at 1:1 scale, still exact away from nothing. */
  g_autoptr (JdImage) square = jd_image_load (path, 16, 16, &error);
  g_assert_no_error (error);
  g_assert_cmpint (square->width, ==, 16);
  g_assert_cmpint (square->height, ==, 16);
  for (int y = 0; y < 16; y++)
    for (int x = 0; x < 16; x++)
      {
        guint32 c = quadrants (x + 8, y);
        assert_rgb_near (square, x, y, c >> 24, (c >> 16) & 0xff, (c >> 8) & 0xff, 0);
      }
}

/* Left quarter red, middle half green, right quarter blue (wide), or the same top to bottom. */
static guint32
bands_wide (int x, int y)
{
  return x < 10 ? 0xff0000ff : x < 30 ? 0x00ff00ff : 0x0000ffff;
}

static guint32
bands_tall (int x, int y)
{
  return bands_wide (y, x);
}

static void
test_centre_crop_both_ways (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) wide = make_pixbuf (40, 20, FALSE, bands_wide);
  g_autoptr (GdkPixbuf) tall = make_pixbuf (20, 40, FALSE, bands_tall);
  g_autofree char *wide_path = save_pixbuf (wide, "wide.png", "png", NULL, NULL);
  g_autofree char *tall_path = save_pixbuf (tall, "tall.png", "png", NULL, NULL);
  /* The centred square of either is all green, whatever the scale. */
  const char *paths[] = { wide_path, tall_path };
  const int sizes[][2] = { { 10, 10 }, { 5, 5 }, { 30, 30 } };
  for (gsize p = 0; p < G_N_ELEMENTS (paths); p++)
    for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
      {
        g_autoptr (JdImage) image = jd_image_load (paths[p], sizes[s][0], sizes[s][1], &error);
        g_assert_no_error (error);
        g_assert_cmpint (image->width, ==, sizes[s][0]);
        for (int y = 0; y < image->height; y++)
          for (int x = 0; x < image->width; x++)
            assert_rgb_near (image, x, y, 0, 255, 0, 0);
      }
  /* 2:1 out of the wide picture keeps all of it: left edge red, centre green, right blue. */
  g_autoptr (JdImage) same = jd_image_load (wide_path, 8, 4, &error);
  g_assert_no_error (error);
  assert_rgb_near (same, 0, 2, 255, 0, 0, 0);
  assert_rgb_near (same, 4, 2, 0, 255, 0, 0);
  assert_rgb_near (same, 7, 2, 0, 0, 255, 0);
}

static guint32
checkerboard (int x, int y)
{
  return (x + y) & 1 ? 0xffffffff : 0x000000ff;
}

static void
test_large_downscale_does_not_alias (void)
{
  /* A one-pixel checkerboard shrunk 64 times must come out mid-grey everywhere; point sampling
   * would give pure black or white. */
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (1024, 1024, FALSE, checkerboard);
  g_autofree char *path = save_pixbuf (pixbuf, "checker.png", "png", NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdImage) image = jd_image_load (path, 16, 16, &error);
  g_assert_no_error (error);
  for (int y = 0; y < 16; y++)
    for (int x = 0; x < 16; x++)
      assert_rgb_near (image, x, y, 128, 128, 128, 6);
}

static guint32
translucent (int x, int y)
{
  /* Colour (200, 100, 50), alpha 0, 64, 128, 255 in columns. */
  static const guint8 alphas[4] = { 0, 64, 128, 255 };
  return 0xc8643200u | alphas[x];
}

static void
test_alpha_over_white (void)
{
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (4, 1, TRUE, translucent);
  g_autofree char *path = save_pixbuf (pixbuf, "alpha.png", "png", NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdImage) image = jd_image_load (path, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->channels, ==, 3);
  const int alphas[4] = { 0, 64, 128, 255 }, colour[3] = { 200, 100, 50 };
  for (int x = 0; x < 4; x++)
    {
      double a = alphas[x] / 255.0;
      int expected[3];
      for (int c = 0; c < 3; c++)
        expected[c] = (int) (colour[c] * a + 255.0 * (1 - a) + 0.5);
      assert_rgb_near (image, x, 0, expected[0], expected[1], expected[2], 1);
    }
  /* The grey + alpha fixture: grey 100, alpha 32·x. */
  g_autofree char *fixture = media_test_fixture ("grey-alpha.png");
  g_autoptr (JdImage) grey = jd_image_load (fixture, 0, 0, &error);
  g_assert_no_error (error);
  for (int x = 0; x < 8; x++)
    {
      double a = 32 * x / 255.0;
      int v = (int) (100 * a + 255 * (1 - a) + 0.5);
      assert_rgb_near (grey, x, 3, v, v, v, 1);
    }
}

static void
test_grey_and_16_bit_png (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *grey_path = media_test_fixture ("grey.png");
  g_autoptr (JdImage) grey = jd_image_load (grey_path, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (grey->width, ==, 8);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      {
        int v = 4 * (8 * y + x) + 3;
        assert_rgb_near (grey, x, y, v, v, v, 0);
      }

  g_autofree char *grey16_path = media_test_fixture ("grey16.png");
  g_autoptr (JdImage) grey16 = jd_image_load (grey16_path, 0, 0, &error);
  g_assert_no_error (error);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      {
        /* The sample is (v << 8) | 0x80: v when the low byte is dropped, v + 1 when rounded. */
        int v = 30 * y + x;
        const guint8 *p = media_test_pixel (grey16, x, y);
        g_assert_cmpint (p[0], >=, v);
        g_assert_cmpint (p[0], <=, v + 1);
        g_assert_cmpint (p[1], ==, p[0]);
        g_assert_cmpint (p[2], ==, p[0]);
      }

  g_autofree char *rgba16_path = media_test_fixture ("rgba16.png");
  g_autoptr (JdImage) rgba16 = jd_image_load (rgba16_path, 0, 0, &error);
  g_assert_no_error (error);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      assert_rgb_near (rgba16, x, y, 16 * x, 16 * y, 200, 1);
}

static guint32
two_blocks (int x, int y)
{
  return x < 8 ? 0xd02020ff : 0x2020d0ff;
}

static void
test_jpeg_webp_and_cmyk (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (16, 16, FALSE, two_blocks);
  g_autofree char *jpeg = save_pixbuf (pixbuf, "blocks.jpg", "jpeg", "quality", "95");
  g_autoptr (JdImage) from_jpeg = jd_image_load (jpeg, 0, 0, &error);
  g_assert_no_error (error);
  assert_rgb_near (from_jpeg, 2, 8, 0xd0, 0x20, 0x20, 8);
  assert_rgb_near (from_jpeg, 13, 8, 0x20, 0x20, 0xd0, 8);

  GdkPixbufFormat *webp = NULL;
  g_autoptr (GSList) formats = gdk_pixbuf_get_formats ();
  for (GSList *l = formats; l != NULL; l = l->next)
    {
      g_autofree char *name = gdk_pixbuf_format_get_name (l->data);
      if (g_strcmp0 (name, "webp") == 0)
        webp = l->data;
    }
  if (webp == NULL || !gdk_pixbuf_format_is_writable (webp))
    g_test_message ("SKIPPED: no writable gdk-pixbuf WebP loader (install webp-pixbuf-loader)");
  else
    {
      /* Saved under a misleading name: the loader is chosen by content. */
      g_autofree char *path = save_pixbuf (pixbuf, "really-webp.png", "webp", "quality", "95");
      g_autofree char *head = NULL;
      g_assert_true (g_file_get_contents (path, &head, NULL, NULL));
      g_assert_cmpmem (head + 8, 4, "WEBP", 4);
      g_autoptr (JdImage) from_webp = jd_image_load (path, 0, 0, &error);
      g_assert_no_error (error);
      assert_rgb_near (from_webp, 2, 8, 0xd0, 0x20, 0x20, 10);
      assert_rgb_near (from_webp, 13, 8, 0x20, 0x20, 0xd0, 10);
    }

  /* ImageMagick's CMYK JPEG (Adobe, inverted) of rgb(200, 40, 60). */
  g_autofree char *cmyk = media_test_fixture ("cmyk.jpg");
  g_autoptr (JdImage) from_cmyk = jd_image_load (cmyk, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (from_cmyk->width, ==, 16);
  assert_rgb_near (from_cmyk, 8, 8, 200, 40, 60, 8);
}

static void
test_gif_first_frame (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = media_test_fixture ("two-frames.gif");
  g_autoptr (JdImage) image = jd_image_load (path, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 4);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++)
      assert_rgb_near (image, x, y, 255, 0, 0, 0);
}

static void
test_jpeg_reduced_decode_matches_full (void)
{
  /* A big JPEG loaded small (libjpeg decodes it at reduced scale) matches the PNG of the same
   * picture loaded small; loaded at 0×0 it keeps its full size. */
  g_autoptr (GdkPixbuf) small = make_pixbuf (32, 16, FALSE, quadrants);
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_scale_simple (small, 1024, 512, GDK_INTERP_NEAREST);
  g_autofree char *jpeg = save_pixbuf (pixbuf, "big.jpg", "jpeg", "quality", "90");
  g_autofree char *png = save_pixbuf (pixbuf, "big.png", "png", NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdImage) from_jpeg = jd_image_load (jpeg, 24, 24, &error);
  g_assert_no_error (error);
  g_autoptr (JdImage) from_png = jd_image_load (png, 24, 24, &error);
  g_assert_no_error (error);
  g_autoptr (JdImage) full = jd_image_load (jpeg, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (full->width, ==, 1024);
  double worst = 0;
  for (int y = 0; y < 24; y++)
    for (int x = 0; x < 24; x++)
      for (int c = 0; c < 3; c++)
        worst = MAX (worst, fabs ((double) media_test_pixel (from_jpeg, x, y)[c]
                                  - media_test_pixel (from_png, x, y)[c]));
  g_test_message ("largest JPEG-vs-PNG difference at 24×24: %.0f", worst);
  g_assert_cmpfloat (worst, <=, 24); /* the quadrant edges blur a little differently */
  assert_rgb_near (from_jpeg, 4, 4, 0xdc, 0x1e, 0x1e, 8);
  assert_rgb_near (from_jpeg, 19, 19, 0xf0, 0xf0, 0xf0, 8);
}

static guint32
red_left_blue_right (int x, int y)
{
  return x < 128 ? 0xff0000ff : 0x0000ffff;
}

static void
test_exif_orientation (void)
{
  /* A 256×128 JPEG, red left and blue right, with an APP1 Exif block saying orientation 6
   * ("rotate 90° clockwise to display"): upright it is 128×256 with red on top. */
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (256, 128, FALSE, red_left_blue_right);
  g_autofree char *plain = NULL;
  gsize plain_size = 0;
  g_autoptr (GError) error = NULL;
  gdk_pixbuf_save_to_buffer (pixbuf, &plain, &plain_size, "jpeg", &error, "quality", "95", NULL);
  g_assert_no_error (error);
  g_assert_cmpmem (plain, 2, "\xff\xd8", 2);
  static const guint8 app1[] = {
    0xff, 0xe1, 0x00, 0x22,                         /* APP1, 34 bytes */
    'E', 'x', 'i', 'f', 0, 0,                       /* Exif header */
    'M', 'M', 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08,   /* TIFF, big-endian, IFD at 8 */
    0x00, 0x01,                                     /* one entry */
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, /* Orientation, SHORT, count 1 */
    0x00, 0x06, 0x00, 0x00,                         /* value 6 */
    0x00, 0x00, 0x00, 0x00,                         /* no next IFD */
  };
  g_autoptr (GByteArray) jpeg = g_byte_array_new ();
  g_byte_array_append (jpeg, (const guint8 *) plain, 2);
  g_byte_array_append (jpeg, app1, sizeof app1);
  g_byte_array_append (jpeg, (const guint8 *) plain + 2, (guint) plain_size - 2);
  g_autofree char *path = g_build_filename (scratch, "rotated.jpg", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) jpeg->data, jpeg->len, NULL));

  g_autoptr (JdImage) image = jd_image_load (path, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 128);
  g_assert_cmpint (image->height, ==, 256);
  assert_rgb_near (image, 64, 32, 255, 0, 0, 12);
  assert_rgb_near (image, 64, 220, 0, 0, 255, 12);

  /* The same from bytes, as a drop would give them, resized: small enough that libjpeg
   * decodes at reduced scale, and the orientation must survive that. */
  g_autoptr (GBytes) bytes = g_bytes_new (jpeg->data, jpeg->len);
  g_autoptr (JdImage) small = jd_image_load_from_bytes (bytes, "dropped picture", 8, 16, &error);
  g_assert_no_error (error);
  g_assert_cmpint (small->width, ==, 8);
  assert_rgb_near (small, 4, 2, 255, 0, 0, 16);
  assert_rgb_near (small, 4, 13, 0, 0, 255, 16);
}

static guint32
noise (int x, int y)
{
  return g_int_hash (&(int) { x * 7919 + y }) * 2654435761u | 0xff;
}

static guint32
translucent_noise (int x, int y)
{
  return (noise (x, y) & 0xffffff00u) | (guint32) (x * 10);
}

static void
assert_refused (const char *path, int code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdImage) image = jd_image_load (path, 64, 64, &error);
  g_assert_null (image);
  g_autofree char *base = g_path_get_basename (path);
  media_test_assert_error_names (error, code, base);
}

static void
test_bad_files_are_refused_by_name (void)
{
  g_autoptr (GError) error = NULL;
  /* Cut short: the first half of a noisy PNG (noise so the IDAT spans most of the file). */
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (64, 64, FALSE, noise);
  g_autofree char *whole_path = save_pixbuf (pixbuf, "whole.png", "png", NULL, NULL);
  g_autofree char *whole = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (whole_path, &whole, &size, NULL));
  g_autofree char *cut = g_build_filename (scratch, "cut-short.png", NULL);
  g_assert_true (g_file_set_contents (cut, whole, (gssize) size / 2, NULL));
  assert_refused (cut, JD_MEDIA_ERROR_DAMAGED);
  g_autoptr (GBytes) half = g_bytes_new (whole, size / 2);
  g_autoptr (JdImage) none = jd_image_load_from_bytes (half, "pasted bytes", 0, 0, &error);
  g_assert_null (none);
  media_test_assert_error_names (error, JD_MEDIA_ERROR_DAMAGED, "pasted bytes");
  g_clear_error (&error);

  /* The same for the other formats: half a JPEG, a WebP (when it can be saved), a GIF. */
  const struct { const char *type, *name; } others[] = {
    { "jpeg", "cut-short.jpg" }, { "webp", "cut-short.webp" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_autofree char *data = NULL;
      gsize length = 0;
      if (!gdk_pixbuf_save_to_buffer (pixbuf, &data, &length, others[i].type, NULL, NULL))
        {
          g_test_message ("SKIPPED: gdk-pixbuf cannot save %s here", others[i].type);
          continue;
        }
      g_autofree char *path = g_build_filename (scratch, others[i].name, NULL);
      g_assert_true (g_file_set_contents (path, data, (gssize) length / 2, NULL));
      assert_refused (path, JD_MEDIA_ERROR_DAMAGED);
    }
  g_autofree char *gif = media_test_fixture ("two-frames.gif");
  g_autofree char *gif_data = NULL;
  g_assert_true (g_file_get_contents (gif, &gif_data, NULL, NULL));
  g_autofree char *cut_gif = g_build_filename (scratch, "cut-short.gif", NULL);
  /* Header, palette and the first frame's descriptor, but not its pixels. */
  g_assert_true (g_file_set_contents (cut_gif, gif_data, 60, NULL));
  assert_refused (cut_gif, JD_MEDIA_ERROR_DAMAGED);

  /* Progressive JPEG and Adam7 PNG: whole they load, cut they are refused — the PNG cut in its
   * last pass, when every row but the odd ones near the bottom has been painted. */
  const struct { const char *name; double keep; } layered[] = {
    { "progressive.jpg", 0.5 }, { "progressive.jpg", 0.9 }, { "interlaced.png", 0.95 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (layered); i++)
    {
      g_autofree char *fixture = media_test_fixture (layered[i].name);
      g_autoptr (JdImage) whole_image = jd_image_load (fixture, 0, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (whole_image->width, ==, 32);
      g_autofree char *data = NULL;
      gsize length = 0;
      g_assert_true (g_file_get_contents (fixture, &data, &length, NULL));
      g_autofree char *cut_name = g_strdup_printf ("cut-%" G_GSIZE_FORMAT "-%s", i,
                                                   layered[i].name);
      g_autofree char *path = g_build_filename (scratch, cut_name, NULL);
      g_assert_true (g_file_set_contents (path, data, (gssize) (length * layered[i].keep), NULL));
      assert_refused (path, JD_MEDIA_ERROR_DAMAGED);
    }
  g_autofree char *progressive = media_test_fixture ("progressive.jpg");
  g_autoptr (JdImage) gradient = jd_image_load (progressive, 0, 0, &error);
  g_assert_no_error (error);
  assert_rgb_near (gradient, 16, 0, 255, 0, 0, 16);  /* ImageMagick's gradient: red on top */
  assert_rgb_near (gradient, 16, 31, 0, 0, 255, 16); /* blue at the bottom */

  g_autofree char *text = g_build_filename (scratch, "notes.png", NULL);
  g_assert_true (g_file_set_contents (text, "These are my notes, not a picture.\n", -1, NULL));
  assert_refused (text, JD_MEDIA_ERROR_NOT_AN_IMAGE);

  g_autofree char *empty = g_build_filename (scratch, "empty.png", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  assert_refused (empty, JD_MEDIA_ERROR_NOT_AN_IMAGE);

  g_autofree char *missing = g_build_filename (scratch, "missing.png", NULL);
  assert_refused (missing, JD_MEDIA_ERROR_IO);
  assert_refused (scratch, JD_MEDIA_ERROR_NOT_AN_IMAGE);

  /* 10001×10001 is refused from its header alone, with the numbers in the message. */
  g_autofree char *huge = media_test_fixture ("huge.png");
  g_autoptr (JdImage) image = jd_image_load (huge, 64, 64, &error);
  g_assert_null (image);
  media_test_assert_error_names (error, JD_MEDIA_ERROR_TOO_LARGE, "huge.png");
  g_assert_nonnull (strstr (error->message, "10001×10001"));
  g_assert_nonnull (strstr (error->message, "100 megapixels"));
  g_clear_error (&error);

  /* The same for a JPEG whose frame header claims 10001×10001 and a GIF whose screen and
   * frame claim 20000×20000 (4 gigabytes once decoded), patched from small valid files. */
  g_autoptr (GdkPixbuf) small = make_pixbuf (16, 16, FALSE, noise);
  g_autofree char *jpeg = NULL;
  gsize jpeg_size = 0;
  g_assert_true (gdk_pixbuf_save_to_buffer (small, &jpeg, &jpeg_size, "jpeg", NULL, NULL));
  guint8 *sof = memmem (jpeg, jpeg_size, "\xff\xc0", 2);
  g_assert_nonnull (sof);
  sof[5] = sof[7] = 10001 >> 8;
  sof[6] = sof[8] = 10001 & 0xff;
  g_autofree char *huge_jpeg = g_build_filename (scratch, "huge.jpg", NULL);
  g_assert_true (g_file_set_contents (huge_jpeg, jpeg, (gssize) jpeg_size, NULL));
  assert_refused (huge_jpeg, JD_MEDIA_ERROR_TOO_LARGE);

  g_autofree char *gif_fixture = media_test_fixture ("two-frames.gif");
  g_autofree char *big_gif = NULL;
  gsize gif_size = 0;
  g_assert_true (g_file_get_contents (gif_fixture, &big_gif, &gif_size, NULL));
  const guint16 side = 20000;
  memcpy (big_gif + 6, &side, 2); /* logical screen, little-endian */
  memcpy (big_gif + 8, &side, 2);
  guint8 *frame = memchr (big_gif + 13 + 12, 0x2c, gif_size - 25); /* first image descriptor */
  g_assert_nonnull (frame);
  memcpy (frame + 5, &side, 2);
  memcpy (frame + 7, &side, 2);
  g_autofree char *huge_gif = g_build_filename (scratch, "huge.gif", NULL);
  g_assert_true (g_file_set_contents (huge_gif, big_gif, (gssize) gif_size, NULL));
  assert_refused (huge_gif, JD_MEDIA_ERROR_TOO_LARGE);

  /* Bad target sizes. */
  g_autoptr (JdImage) odd = jd_image_load (whole_path, 64, 0, &error);
  g_assert_null (odd);
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "whole.png");
}

static void
test_every_cut_is_refused (void)
{
  /* Any prefix of a picture that stops before its last structural element (PNG: the IEND
   * chunk; JPEG: the end-of-image marker; GIF: the trailer byte) is refused as damaged or not
   * a picture, never returned as a half-grey image. */
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (24, 16, TRUE, translucent_noise);
  g_autofree char *png_data = NULL, *jpeg_data = NULL;
  gsize png_size = 0, jpeg_size = 0;
  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &png_data, &png_size, "png", NULL, NULL));
  g_autoptr (GdkPixbuf) rgb = make_pixbuf (24, 16, FALSE, noise);
  g_assert_true (gdk_pixbuf_save_to_buffer (rgb, &jpeg_data, &jpeg_size, "jpeg", NULL, NULL));
  g_autofree char *gif_path = media_test_fixture ("two-frames.gif");
  g_autofree char *interlaced_path = media_test_fixture ("interlaced.png");
  g_autofree char *progressive_path = media_test_fixture ("progressive.jpg");
  g_autofree char *gif_data = NULL, *interlaced_data = NULL, *progressive_data = NULL;
  gsize gif_size = 0, interlaced_size = 0, progressive_size = 0;
  g_assert_true (g_file_get_contents (gif_path, &gif_data, &gif_size, NULL));
  g_assert_true (g_file_get_contents (interlaced_path, &interlaced_data, &interlaced_size, NULL));
  g_assert_true (g_file_get_contents (progressive_path, &progressive_data, &progressive_size,
                                      NULL));
  const struct { const char *name, *data; gsize size, needed; } pictures[] = {
    { "png", png_data, png_size, png_size },
    { "jpeg", jpeg_data, jpeg_size, jpeg_size },
    { "gif", gif_data, gif_size, gif_size },
    { "interlaced png", interlaced_data, interlaced_size, interlaced_size },
    { "progressive jpeg", progressive_data, progressive_size, progressive_size },
  };
  for (gsize p = 0; p < G_N_ELEMENTS (pictures); p++)
    {
      guint refused = 0;
      for (gsize length = 0; length < pictures[p].needed; length++)
        {
          g_autoptr (GBytes) bytes = g_bytes_new (pictures[p].data, length);
          g_autoptr (GError) error = NULL;
          g_autoptr (JdImage) image = jd_image_load_from_bytes (bytes, "prefix", 8, 8, &error);
          if (image != NULL)
            g_error ("%s cut to %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes was accepted",
                     pictures[p].name, length, pictures[p].size);
          g_assert_true (g_error_matches (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_DAMAGED)
                         || g_error_matches (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_NOT_AN_IMAGE));
          refused++;
        }
      g_autoptr (GBytes) whole = g_bytes_new (pictures[p].data, pictures[p].size);
      g_autoptr (GError) error = NULL;
      g_autoptr (JdImage) image = jd_image_load_from_bytes (whole, "whole", 8, 8, &error);
      g_assert_no_error (error);
      g_test_message ("%s: all %u cuts refused, the whole file loads", pictures[p].name, refused);
    }
}

static void
test_data_after_the_end_is_ignored (void)
{
  /* Phones append a video after a JPEG's end ("motion photos"), cameras a second picture; a
   * PNG may carry junk after IEND. The picture is complete, so it loads — even when the extra
   * bytes hold what looks like a JPEG scan start (FF DA) with no end marker after it. */
  g_autoptr (GdkPixbuf) pixbuf = make_pixbuf (16, 16, FALSE, two_blocks);
  const char *types[] = { "jpeg", "png" };
  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    {
      g_autofree char *data = NULL;
      gsize size = 0;
      g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &data, &size, types[t], NULL, NULL));
      g_autoptr (GByteArray) longer = g_byte_array_new ();
      g_byte_array_append (longer, (const guint8 *) data, (guint) size);
      static const guint8 tail[] = { 0, 0, 0, 0x18, 'f', 't', 'y', 'p', 0xff, 0xda, 0, 8,
                                     'I', 'D', 'A', 'T', 1, 2, 3, 0xff, 0xd8, 0xff, 0xda };
      g_byte_array_append (longer, tail, sizeof tail);
      g_autoptr (GBytes) bytes = g_bytes_new (longer->data, longer->len);
      g_autoptr (GError) error = NULL;
      g_autoptr (JdImage) image = jd_image_load_from_bytes (bytes, types[t], 0, 0, &error);
      g_assert_no_error (error);
      assert_rgb_near (image, 2, 8, 0xd0, 0x20, 0x20, 8);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  scratch = media_test_scratch ();
  g_test_add_func ("/media/image/png-rgb", test_png_rgb_exact_and_cropped);
  g_test_add_func ("/media/image/centre-crop", test_centre_crop_both_ways);
  g_test_add_func ("/media/image/downscale-no-alias", test_large_downscale_does_not_alias);
  g_test_add_func ("/media/image/alpha-over-white", test_alpha_over_white);
  g_test_add_func ("/media/image/grey-16-bit", test_grey_and_16_bit_png);
  g_test_add_func ("/media/image/jpeg-webp-cmyk", test_jpeg_webp_and_cmyk);
  g_test_add_func ("/media/image/gif-first-frame", test_gif_first_frame);
  g_test_add_func ("/media/image/jpeg-reduced-decode", test_jpeg_reduced_decode_matches_full);
  g_test_add_func ("/media/image/exif-orientation", test_exif_orientation);
  g_test_add_func ("/media/image/bad-files", test_bad_files_are_refused_by_name);
  g_test_add_func ("/media/image/every-cut", test_every_cut_is_refused);
  g_test_add_func ("/media/image/data-after-end", test_data_after_the_end_is_ignored);
  int status = g_test_run ();
  media_test_rmtree (scratch);
  g_free (scratch);
  return status;
}

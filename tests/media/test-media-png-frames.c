/* PNG frames: a complete numbered set or nothing. */
#include <glib/gstdio.h>
#include <string.h>

#include "jd-media-error.h"
#include "jd-png-frames.h"
#include "media-test-util.h"

static char *scratch;

static JdImage *
make_frame (int index, int channels)
{
  g_autoptr (GError) error = NULL;
  JdImage *image = jd_image_new (7, 5, channels, &error); /* odd sizes on purpose */
  g_assert_no_error (error);
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 7; x++)
      {
        guint8 *p = image->pixels + (gsize) y * image->stride + (gsize) x * (gsize) channels;
        p[0] = (guint8) (30 * index + x);
        p[1] = (guint8) (40 * y);
        p[2] = (guint8) (255 - 20 * index);
        if (channels == 4)
          p[3] = 255;
      }
  return image;
}

static void
test_complete_set (void)
{
  JdImage *frames[3] = { make_frame (0, 3), make_frame (1, 4), make_frame (2, 3) };
  g_autofree char *folder = g_build_filename (scratch, "frames", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_png_frames_write (folder, frames, 3, &error));
  g_assert_no_error (error);
  g_autofree char *listing = media_test_listing (folder);
  g_assert_cmpstr (listing, ==, "00000.png 00001.png 00002.png");
  g_autofree char *parent = media_test_listing (scratch);
  g_assert_cmpstr (parent, ==, "frames"); /* no temporary folder left */

  for (int i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("%05d.png", i);
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autoptr (JdImage) back = jd_image_load (path, 0, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (back->width, ==, 7);
      g_assert_cmpint (back->height, ==, 5);
      for (int y = 0; y < 5; y++)
        for (int x = 0; x < 7; x++)
          g_assert_cmpmem (media_test_pixel (back, x, y), 3, media_test_pixel (frames[i], x, y),
                           3);
    }

  /* An empty existing folder is fine; a non-empty one is refused and left alone. */
  g_autofree char *empty = g_build_filename (scratch, "empty", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_assert_true (jd_png_frames_write (empty, frames, 2, &error));
  g_autofree char *empty_listing = media_test_listing (empty);
  g_assert_cmpstr (empty_listing, ==, "00000.png 00001.png");

  g_assert_false (jd_png_frames_write (folder, frames, 1, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_IO, "frames");
  g_clear_error (&error);
  g_autofree char *still = media_test_listing (folder);
  g_assert_cmpstr (still, ==, "00000.png 00001.png 00002.png");

  for (int i = 0; i < 3; i++)
    jd_image_free (frames[i]);
}

static void
test_failures_leave_nothing (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *work = g_build_filename (scratch, "failures", NULL);
  g_assert_cmpint (g_mkdir (work, 0755), ==, 0);
  JdImage *frames[2] = { make_frame (0, 3), NULL };

  g_autofree char *nowhere = g_build_filename (work, "missing", "frames", NULL);
  g_assert_false (jd_png_frames_write (nowhere, frames, 1, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_IO, "frames");
  g_clear_error (&error);

  g_autofree char *partial = g_build_filename (work, "partial", NULL);
  g_assert_false (jd_png_frames_write (partial, frames, 2, &error)); /* frame 1 missing */
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "partial");
  g_clear_error (&error);
  g_assert_false (jd_png_frames_write (partial, frames, 0, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "partial");
  g_clear_error (&error);

  g_autofree char *file = g_build_filename (work, "a-file", NULL);
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  g_assert_false (jd_png_frames_write (file, frames, 1, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_IO, "a-file");

  g_autofree char *listing = media_test_listing (work);
  g_assert_cmpstr (listing, ==, "a-file");
  jd_image_free (frames[0]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  scratch = media_test_scratch ();
  g_test_add_func ("/media/png-frames/complete-set", test_complete_set);
  g_test_add_func ("/media/png-frames/failures", test_failures_leave_nothing);
  int status = g_test_run ();
  media_test_rmtree (scratch);
  g_free (scratch);
  return status;
}

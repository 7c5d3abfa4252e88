/* media-test-util.c — scratch folders, fixtures and error checks for the media tests. */
#include <glib/gstdio.h>
#include <string.h>

#include "jd-media-error.h"
#include "media-test-util.h"

char *
media_test_scratch (void)
{
  g_autoptr (GError) error = NULL;
  char *path = g_dir_make_tmp ("jd-media-test-XXXXXX", &error);
  g_assert_no_error (error);
  return path;
}

void
media_test_rmtree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          media_test_rmtree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char *
media_test_listing (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (dir);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

char *
media_test_fixture (const char *name)
{
  return g_build_filename (JD_MEDIA_FIXTURES, name, NULL);
}

void
media_test_assert_error_names (const GError *error, int code, const char *name)
{
  g_assert_nonnull (error);
  g_test_message ("expected error: %s", error->message);
  g_assert_cmpuint (error->domain, ==, JD_MEDIA_ERROR);
  g_assert_cmpint (error->code, ==, code);
  g_assert_nonnull (strstr (error->message, name));
}

const guint8 *
media_test_pixel (const JdImage *image, int x, int y)
{
  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, image->width);
  g_assert_cmpint (y, <, image->height);
  return image->pixels + (gsize) y * image->stride + (gsize) x * (gsize) image->channels;
}

/* media-test-probe.c — ffprobe's view of a written file, shared by the MP4 and export tests so
 * both read the streams and their numbers the same way. */
#include "media-test-probe.h"

JsonNode *
media_test_probe (const char *path, gboolean count_frames)
{
  g_autofree char *ffprobe = g_find_program_in_path ("ffprobe");
  if (ffprobe == NULL)
    {
      g_test_skip ("ffprobe is not installed (Debian package ffmpeg)");
      return NULL;
    }
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *options[] = { "-v", "error", "-show_streams", "-show_format" };
  g_ptr_array_add (argv, ffprobe);
  for (gsize i = 0; i < G_N_ELEMENTS (options); i++)
    g_ptr_array_add (argv, (char *) options[i]);
  if (count_frames)
    g_ptr_array_add (argv, "-count_frames");
  g_ptr_array_add (argv, "-of");
  g_ptr_array_add (argv, "json");
  g_ptr_array_add (argv, (char *) path);
  g_ptr_array_add (argv, NULL);

  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("ffprobe failed on %s: %s", path, err);
  JsonNode *root = json_from_string (out, &error);
  g_assert_no_error (error);
  return root;
}

JsonObject *
media_test_probe_stream (JsonNode *root, const char *type)
{
  JsonArray *streams = json_object_get_array_member (json_node_get_object (root), "streams");
  for (guint i = 0; i < json_array_get_length (streams); i++)
    {
      JsonObject *s = json_array_get_object_element (streams, i);
      if (g_strcmp0 (json_object_get_string_member (s, "codec_type"), type) == 0)
        return s;
    }
  return NULL;
}

double
media_test_probe_number (JsonObject *object, const char *name)
{
  const char *text = json_object_get_string_member (object, name);
  g_assert_nonnull (text);
  return g_ascii_strtod (text, NULL);
}

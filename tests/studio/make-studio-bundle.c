/* make-studio-bundle.c — the parity bundle with preview maps added, so the studio's tests (and
 * `meson devenv` runs) see frames and a spectrogram form while sampling.
 *
 *   make-studio-bundle PARITY.safetensors OUT.safetensors
 *
 * The maps are fixed numbers, not fitted: the parity model's weights are random, so any linear
 * map of its latents is as meaningful as another; these ones give colourful frames. */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "jd-safetensors.h"

static const char preview_json[] =
  "{\"video_rgb\": {\"weight\": [[0.9, -0.3, 0.2, 0.1], [0.1, 0.8, -0.4, 0.2],"
  "                              [-0.2, 0.3, 0.9, -0.1]], \"bias\": [0.1, 0.0, -0.1]},"
  " \"audio_mel\": {\"weight\": [0.5, -0.4, 0.3, -0.2, 0.2, -0.3, 0.4, -0.5], \"bias\": 0.1}}";

static gboolean
make_bundle (const char *in_path,
             const char *out_path,
             GError    **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonParser) preview = json_parser_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  JdSafetensors *file = jd_safetensors_open (in_path, error);
  if (file == NULL)
    return FALSE;
  if (!json_parser_load_from_data (parser, jd_safetensors_get_metadata (file, "jointdit.config"),
                                   -1, error)
      || !json_parser_load_from_data (preview, preview_json, -1, error))
    {
      jd_safetensors_free (file);
      return FALSE;
    }
  JsonObject *config = json_node_get_object (json_parser_get_root (parser));
  json_object_set_string_member (config, "name", "studio-test");
  json_object_set_member (config, "preview", json_node_copy (json_parser_get_root (preview)));
  json_generator_set_root (generator, json_parser_get_root (parser));
  g_autofree char *text = json_generator_to_data (generator, NULL);

  JdSafetensorsWriter *writer = jd_safetensors_writer_new ();
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < jd_safetensors_get_n_tensors (file); i++)
    {
      const JdSafetensorsEntry *e = jd_safetensors_get_entry (file, i);
      ok = jd_safetensors_writer_add (writer, e->name, e->dtype, e->ndim, e->shape, e->data,
                                      error);
    }
  jd_safetensors_writer_set_metadata (writer, "jointdit.config", text);
  ok = ok && jd_safetensors_writer_write (writer, out_path, error);
  jd_safetensors_writer_free (writer);
  jd_safetensors_free (file);
  return ok;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  if (argc != 3)
    {
      fprintf (stderr, "usage: %s PARITY.safetensors OUT.safetensors\n", argv[0]);
      return 2;
    }
  if (!make_bundle (argv[1], argv[2], &error))
    {
      fprintf (stderr, "make-studio-bundle: %s\n", error->message);
      return 1;
    }
  return 0;
}

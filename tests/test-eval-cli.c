/* `jointdit eval` end to end: the JSON report of a committed world clip (a frame folder), the
 * same clip as an MP4 agreeing with it, and refusals of bad input, each with one sentence. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "jd-image.h"
#include "jd-mp4.h"
#include "jd-wav.h"

static char *jointdit;
static char *work_dir;

typedef struct {
  int   status;
  char *out, *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

static void
run (Run *r, const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, jointdit);
  g_ptr_array_add (argv, "eval");
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r->out, &r->err, &wait_status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  r->status = WEXITSTATUS (wait_status);
  g_ptr_array_free (argv, TRUE);
}

static char *
clip_folder (void)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "metrics", "bounce-11", NULL);
}

static JsonObject *
parse (JsonParser *parser, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_json_fields (void)
{
  g_autofree char *folder = clip_folder ();
  g_autofree char *truth = g_build_filename (folder, "truth.json", NULL);
  Run r = { 0 };
  run (&r, (const char *const[]) { folder, "--truth", truth, "--json", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse (parser, r.out);
  static const char *const numbers[] = { "fps", "sync_offset_ms", "sync_error_ms", "precision",
                                         "recall", "av_align", "motion_score", "seconds" };
  for (gsize i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_assert_true (json_object_has_member (o, numbers[i]));
      g_assert_true (JSON_NODE_HOLDS_VALUE (json_object_get_member (o, numbers[i])));
    }
  g_assert_cmpfloat (json_object_get_double_member (o, "fps"), ==, 12.5);
  g_assert_cmpint (json_object_get_int_member (o, "frames"), ==, 32);
  /* a ground-truth clip: small offset and error, events found */
  g_assert_cmpfloat (fabs (json_object_get_double_member (o, "sync_offset_ms")), <, 40);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "visual_events")), >, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "audio_onsets_ms")), >, 0);
  JsonObject *t = json_object_get_object_member (o, "truth");
  g_assert_nonnull (t);
  JsonArray *events = json_object_get_array_member (t, "events");
  g_assert_cmpuint (json_array_get_length (events), >, 0);
  JsonObject *e = json_array_get_object_element (events, 0);
  g_assert_true (json_object_has_member (e, "visual_error_ms"));
  g_assert_true (json_object_has_member (e, "audio_error_ms"));
  /* sound onsets of a world clip are within 2 ms of the truth */
  g_assert_cmpfloat (json_object_get_double_member (t, "audio_median_abs_error_ms"), <, 2);
  run_clear (&r);

  /* the text report names the clip and the measures */
  run (&r, (const char *const[]) { folder, "--fps", "12.5", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "sync offset"));
  g_assert_nonnull (strstr (r.out, "AV-Align"));
  run_clear (&r);
}

static void
test_mp4_agrees (void)
{
  /* The folder's frames and sound written as MP4 (H.264 at high quality + AAC), then measured:
   * the numbers agree with the folder's within what the codecs change. */
  g_autofree char *folder = clip_folder ();
  g_autoptr (GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) jd_image_free);
  for (int i = 0; i < 32; i++)
    {
      g_autofree char *name = g_strdup_printf ("%05d.png", i);
      g_autofree char *path = g_build_filename (folder, "frames", name, NULL);
      g_autoptr (GError) error = NULL;
      JdImage *image = jd_image_load (path, 0, 0, &error);
      g_assert_no_error (error);
      g_ptr_array_add (frames, image);
    }
  g_autofree char *wav = g_build_filename (folder, "audio.wav", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdAudio) audio = jd_wav_read (wav, &error);
  g_assert_no_error (error);
  g_autofree char *mp4 = g_build_filename (work_dir, "clip.mp4", NULL);
  JdMp4Input input = { .frames = (JdImage *const *) frames->pdata, .n_frames = 32, .fps_num = 25,
                       .fps_den = 2, .audio = audio, .crf = 4 };
  g_assert_true (jd_mp4_write (mp4, &input, &error));
  g_assert_no_error (error);

  Run a = { 0 }, b = { 0 };
  run (&a, (const char *const[]) { folder, "--fps", "12.5", "--json", NULL });
  run (&b, (const char *const[]) { mp4, "--json", NULL });
  g_assert_cmpint (a.status, ==, 0);
  g_assert_cmpint (b.status, ==, 0);
  g_autoptr (JsonParser) pa = json_parser_new ();
  g_autoptr (JsonParser) pb = json_parser_new ();
  JsonObject *x = parse (pa, a.out), *y = parse (pb, b.out);
  g_assert_cmpfloat (json_object_get_double_member (y, "fps"), ==, 12.5);
  g_assert_cmpint (json_object_get_int_member (y, "frames"), ==, 32);
  double off_a = json_object_get_double_member (x, "sync_offset_ms");
  double off_b = json_object_get_double_member (y, "sync_offset_ms");
  double m_a = json_object_get_double_member (x, "motion_score");
  double m_b = json_object_get_double_member (y, "motion_score");
  g_test_message ("folder: offset %.1f ms, motion %.4f, AV-Align %.3f; MP4: offset %.1f ms, "
                  "motion %.4f, AV-Align %.3f", off_a, m_a,
                  json_object_get_double_member (x, "av_align"), off_b, m_b,
                  json_object_get_double_member (y, "av_align"));
  g_assert_cmpfloat (fabs (off_a - off_b), <=, 5);
  g_assert_cmpfloat (fabs (m_a - m_b), <=, 0.05 * m_a);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (x, "audio_onsets_ms")),
                    ==,
                    json_array_get_length (json_object_get_array_member (y, "audio_onsets_ms")));
  run_clear (&a);
  run_clear (&b);
}

static void
assert_refused (const char *const *args, const char *needle)
{
  Run r = { 0 };
  run (&r, args);
  g_test_message ("%s", r.err);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_true (g_str_has_prefix (r.err, "jointdit: eval: "));
  g_assert_nonnull (strstr (r.err, needle));
  /* one sentence on one line */
  g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
  run_clear (&r);
}

static void
test_bad_input (void)
{
  g_autofree char *folder = clip_folder ();
  g_autofree char *missing = g_build_filename (work_dir, "no-such-clip.mp4", NULL);
  assert_refused ((const char *const[]) { missing, NULL }, "no-such-clip.mp4");
  /* a folder has no frame rate */
  assert_refused ((const char *const[]) { folder, NULL }, "--fps");
  /* truth that is not JSON, and JSON without events */
  g_autofree char *bad = g_build_filename (work_dir, "truth-bad.json", NULL);
  g_assert_true (g_file_set_contents (bad, "{\"fps\": 12.5, \"events\": [", -1, NULL));
  assert_refused ((const char *const[]) { folder, "--truth", bad, NULL }, "not valid JSON");
  g_assert_true (g_file_set_contents (bad, "{\"fps\": 12.5, \"events\": [{\"kind\": 1}]}", -1,
                                      NULL));
  assert_refused ((const char *const[]) { folder, "--truth", bad, NULL }, "\"time\"");
  g_assert_true (g_file_set_contents (bad, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                                      -1, NULL));
  assert_refused ((const char *const[]) { folder, "--truth", bad, NULL }, "nested");
  /* not a video */
  assert_refused ((const char *const[]) { bad, NULL }, "truth-bad.json");
  /* a folder without frames */
  assert_refused ((const char *const[]) { work_dir, "--fps", "10", NULL }, "frames/");

  /* usage errors: status 2 */
  Run r = { 0 };
  run (&r, (const char *const[]) { NULL });
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  run (&r, (const char *const[]) { folder, "--fps", "fast", NULL });
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--fps"));
  run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (argc, >=, 2);
  jointdit = g_canonicalize_filename (argv[1], NULL);
  work_dir = g_dir_make_tmp ("jd-eval-cli-XXXXXX", NULL);
  g_test_add_func ("/eval-cli/json-fields", test_json_fields);
  g_test_add_func ("/eval-cli/mp4-agrees", test_mp4_agrees);
  g_test_add_func ("/eval-cli/bad-input", test_bad_input);
  int status = g_test_run ();
  g_autofree char *mp4 = g_build_filename (work_dir, "clip.mp4", NULL);
  g_autofree char *bad = g_build_filename (work_dir, "truth-bad.json", NULL);
  g_remove (mp4);
  g_remove (bad);
  g_rmdir (work_dir);
  g_free (work_dir);
  g_free (jointdit);
  return status;
}

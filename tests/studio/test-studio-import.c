/* test-studio-import.c — "Import Checkpoints…" from the model group: the dialog converts the
 * committed tiny diffusers checkpoints (tests/fixtures/checkpoints, as test-convert uses them)
 * into a bundle on a thread while the main loop runs, makes it the model and shows the
 * converter's notices; a missing folder or a pickled Joint Blocks file shows the converter's
 * refusal and writes nothing; closing during an import discards it and writes nothing.
 *
 * The paths are set through jds_import_dialog_set_path: a native file chooser cannot be driven. */
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "jd-bundle.h"
#include "jds-import-dialog.h"
#include "jds-window.h"
#include "studio-test-util.h"

static JdsApplication *app;

static char *
fixture (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "checkpoints", name, NULL);
}

static JdsImportDialog *
find_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GObject) toplevel = g_list_model_get_item (toplevels, i);
      if (JDS_IS_IMPORT_DIALOG (toplevel) && gtk_widget_get_visible (GTK_WIDGET (toplevel)))
        return JDS_IMPORT_DIALOG (toplevel);
    }
  return NULL;
}

static gboolean
dialog_shown (gpointer data)
{
  JdsImportDialog *dialog = find_dialog ();
  return dialog != NULL && gtk_widget_get_mapped (GTK_WIDGET (dialog));
}

/* A main window with the dialog opened from its controls, as the "Import Checkpoints…" row
 * does. */
static JdsImportDialog *
open_dialog (JdsWindow **window_out)
{
  studio_test_reset_settings (app);
  JdsWindow *window = jds_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (studio_test_wait (studio_test_mapped, window, 10));
  GtkWidget *controls = jds_window_get_controls (window);
  g_assert_true (gtk_widget_activate_action (controls, "controls.import-checkpoints", NULL));
  g_assert_true (studio_test_wait (dialog_shown, NULL, 10));
  JdsImportDialog *dialog = find_dialog ();
  /* Mapped first, allocated on the next frame. */
  g_assert_true (studio_test_wait (studio_test_mapped, dialog, 10));
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (window));
  g_assert_true (gtk_window_get_modal (GTK_WINDOW (dialog)));
  *window_out = window;
  return dialog;
}

static gboolean
import_finished (gpointer data)
{
  return jds_import_dialog_get_state (data) != JDS_IMPORT_RUNNING;
}

static void
click_import (JdsImportDialog *dialog)
{
  GtkWidget *button = jds_import_dialog_get_import_button (dialog);
  g_assert_true (gtk_widget_get_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpint (jds_import_dialog_get_state (dialog), ==, JDS_IMPORT_RUNNING);
  /* The form cannot change under a running import, nor start a second one. */
  g_assert_false (gtk_widget_get_sensitive (button));
}

static guint
count_files (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
    {
      g_test_message ("in %s: %s", folder, name);
      n++;
    }
  return n;
}

static void
remove_tree (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  if (dir == NULL)
    return;
  for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (folder);
}

static void
test_import_converts (void)
{
  JdsWindow *window = NULL;
  JdsImportDialog *dialog = open_dialog (&window);
  GSettings *settings = jds_application_get_settings (app);
  g_autofree char *folder = g_dir_make_tmp ("jds-import-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (folder, "imported.safetensors", NULL);
  g_autofree char *svd = fixture ("svd"), *audio = fixture ("audioldm2");

  /* Import needs both sources and the output; the optional ones may stay empty. */
  GtkWidget *import = jds_import_dialog_get_import_button (dialog);
  g_assert_false (gtk_widget_get_sensitive (import));
  jds_import_dialog_set_path (dialog, JDS_IMPORT_SVD, svd);
  jds_import_dialog_set_path (dialog, JDS_IMPORT_AUDIOLDM2, audio);
  g_assert_false (gtk_widget_get_sensitive (import));
  jds_import_dialog_set_path (dialog, JDS_IMPORT_OUTPUT, out);
  g_assert_true (gtk_widget_get_sensitive (import));
  jds_import_dialog_set_path (dialog, JDS_IMPORT_SVD, "");
  g_assert_false (gtk_widget_get_sensitive (import));
  jds_import_dialog_set_path (dialog, JDS_IMPORT_SVD, svd);
  g_assert_cmpstr (jds_import_dialog_get_path (dialog, JDS_IMPORT_SVD), ==, svd);

  click_import (dialog);
  /* The main loop keeps running while the converter works on its thread. */
  g_assert_true (studio_test_wait (import_finished, dialog, 120));
  g_assert_null (jds_import_dialog_get_error (dialog));
  g_assert_cmpint (jds_import_dialog_get_state (dialog), ==, JDS_IMPORT_DONE);
  /* The converter's progress reached the bar: all of the bundle written. */
  g_assert_cmpfloat (jds_import_dialog_get_progress (dialog), ==, 1.0);

  /* The bundle is where it was asked for, alone (no temporary file left), and opens. */
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (count_files (folder), ==, 1);
  g_autoptr (GError) error = NULL;
  JdBundle *bundle = jd_bundle_open (out, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bundle);
  g_assert_cmpuint (jd_bundle_get_n_parts (bundle), >=, 6);
  jd_bundle_free (bundle);

  /* It is the model now, and the converter's notices are said. */
  g_autofree char *model = g_settings_get_string (settings, "model-path");
  g_assert_cmpstr (model, ==, out);
  const char *notices = jds_import_dialog_get_notices (dialog);
  g_assert_nonnull (notices);
  g_assert_nonnull (strstr (notices, "must be fine-tuned"));
  g_assert_nonnull (strstr (notices, "Joint Blocks are fresh"));

  g_free (studio_test_screenshot (GTK_WIDGET (dialog), "import-done", 8));
  gtk_window_close (GTK_WINDOW (dialog));
  studio_test_spin (0.1);
  g_assert_null (find_dialog ());
  gtk_window_destroy (GTK_WINDOW (window));
  studio_test_reset_settings (app);
  remove_tree (folder);
}

typedef struct
{
  const char *label;
  gboolean    missing_svd;   /* else: a pickled Joint Blocks file */
  const char *expected;      /* in the refusal */
} Refusal;

static void
test_import_refused (gconstpointer data)
{
  const Refusal *refusal = data;
  JdsWindow *window = NULL;
  JdsImportDialog *dialog = open_dialog (&window);
  GSettings *settings = jds_application_get_settings (app);
  g_autofree char *folder = g_dir_make_tmp ("jds-import-XXXXXX", NULL);
  g_autofree char *out_folder = g_build_filename (folder, "out", NULL);
  g_assert_cmpint (g_mkdir (out_folder, 0700), ==, 0);
  g_autofree char *out = g_build_filename (out_folder, "refused.safetensors", NULL);
  g_autofree char *svd = fixture ("svd"), *audio = fixture ("audioldm2");
  g_autofree char *missing = g_build_filename (folder, "no-such-svd", NULL);
  g_autofree char *pickle = g_build_filename (folder, "joint.pt", NULL);
  g_assert_true (g_file_set_contents (pickle, "\x80\x02}q\x00.", -1, NULL));

  jds_import_dialog_set_path (dialog, JDS_IMPORT_SVD, refusal->missing_svd ? missing : svd);
  jds_import_dialog_set_path (dialog, JDS_IMPORT_AUDIOLDM2, audio);
  if (!refusal->missing_svd)
    jds_import_dialog_set_path (dialog, JDS_IMPORT_JOINT, pickle);
  jds_import_dialog_set_path (dialog, JDS_IMPORT_OUTPUT, out);
  click_import (dialog);
  g_assert_true (studio_test_wait (import_finished, dialog, 60));

  /* The converter's sentence is shown in the dialog, which stays open to fix the input. */
  g_assert_cmpint (jds_import_dialog_get_state (dialog), ==, JDS_IMPORT_EDITING);
  const char *shown = jds_import_dialog_get_error (dialog);
  g_assert_nonnull (shown);
  g_test_message ("refusal: %s", shown);
  g_assert_nonnull (strstr (shown, refusal->expected));
  g_assert_true (gtk_widget_get_sensitive (jds_import_dialog_get_import_button (dialog)));
  g_assert_null (jds_import_dialog_get_notices (dialog));
  /* Refused before anything was written. */
  g_assert_cmpfloat (jds_import_dialog_get_progress (dialog), ==, 0.0);
  studio_test_spin (0.2);
  g_free (studio_test_screenshot (GTK_WIDGET (dialog),
                                  refusal->missing_svd ? "import-missing" : "import-pickle", 8));

  /* Nothing was written and the model did not change. */
  g_assert_cmpuint (count_files (out_folder), ==, 0);
  g_autofree char *model = g_settings_get_string (settings, "model-path");
  g_assert_cmpstr (model, ==, "");

  /* A new choice makes the refusal stale. */
  jds_import_dialog_set_path (dialog, JDS_IMPORT_JOINT, NULL);
  g_assert_null (jds_import_dialog_get_error (dialog));

  gtk_window_destroy (GTK_WINDOW (dialog));
  gtk_window_destroy (GTK_WINDOW (window));
  remove_tree (folder);
}

static void
test_import_closed_while_running (void)
{
  JdsWindow *window = NULL;
  JdsImportDialog *dialog = open_dialog (&window);
  GSettings *settings = jds_application_get_settings (app);
  g_autofree char *folder = g_dir_make_tmp ("jds-import-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (folder, "discarded.safetensors", NULL);
  /* An existing file at the chosen path survives a discarded import. */
  g_assert_true (g_file_set_contents (out, "older bundle", -1, NULL));
  g_autofree char *svd = fixture ("svd"), *audio = fixture ("audioldm2");
  jds_import_dialog_set_path (dialog, JDS_IMPORT_SVD, svd);
  jds_import_dialog_set_path (dialog, JDS_IMPORT_AUDIOLDM2, audio);
  jds_import_dialog_set_path (dialog, JDS_IMPORT_OUTPUT, out);
  click_import (dialog);

  GtkWidget *watched = GTK_WIDGET (dialog);
  g_object_add_weak_pointer (G_OBJECT (watched), (gpointer *) &watched);
  gtk_window_close (GTK_WINDOW (dialog));
  /* Out of sight at once; it goes away when the converter is done. */
  g_assert_nonnull (watched);
  g_assert_false (gtk_widget_get_visible (watched));
  g_assert_null (find_dialog ());
  for (gint64 end = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
       watched != NULL && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (watched);

  g_assert_cmpuint (count_files (folder), ==, 1);
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "older bundle");
  g_autofree char *model = g_settings_get_string (settings, "model-path");
  g_assert_cmpstr (model, ==, "");
  gtk_window_destroy (GTK_WINDOW (window));
  remove_tree (folder);
}

static const Refusal refusals[] = {
  { "missing-folder", TRUE, "no-such-svd" },
  { "pickled-joint", FALSE, "joint.pt is a pickled checkpoint" },
};

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, NULL);
  app = studio_test_application ();

  g_test_add_func ("/studio/import/converts", test_import_converts);
  for (gsize i = 0; i < G_N_ELEMENTS (refusals); i++)
    {
      g_autofree char *path = g_strdup_printf ("/studio/import/refused/%s", refusals[i].label);
      g_test_add_data_func (path, &refusals[i], test_import_refused);
    }
  g_test_add_func ("/studio/import/closed-while-running", test_import_closed_while_running);
  int status = g_test_run ();
  studio_test_application_free (app);
  return status;
}

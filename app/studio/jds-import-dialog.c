/* jds-import-dialog.c — "Import Checkpoints": the form, the conversion on a GTask thread with
 * its progress, and the outcome (see the header for what closing does meanwhile). */
#include "jds-import-dialog.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stddef.h>

#include "jd-convert.h"
#include "jds-config.h"

/* What one import needs on its thread: copies of the form, so the form may change meanwhile. */
typedef struct
{
  char           *paths[JDS_IMPORT_N_PATHS];
  char           *temp_out;   /* hidden, next to the bundle; renamed into place when kept */
  JdDType         dtype;
  int             permille;   /* atomic; -1 while the sources are checked, before writing */
  JdConvertReport report;
} ImportJob;

struct _JdsImportDialog
{
  AdwWindow             parent_instance;

  GSettings            *settings;

  GtkWidget            *cancel_button;
  GtkWidget            *import_button;
  GtkStack             *stack;
  GtkWidget            *error_group;
  GtkLabel             *error_label;
  GtkWidget            *sources_group;
  GtkWidget            *optional_group;
  GtkWidget            *output_group;
  AdwActionRow         *rows[JDS_IMPORT_N_PATHS];
  GtkWidget            *clip_clear_button;
  GtkWidget            *joint_clear_button;
  AdwComboRow          *dtype_row;
  GtkWidget            *progress_group;
  GtkProgressBar       *progress_bar;
  GtkLabel             *progress_label;
  GtkLabel             *done_label;
  GtkLabel             *notices_label;

  char                 *paths[JDS_IMPORT_N_PATHS];
  GtkFileChooserNative *chooser;
  JdsImportPath         choosing;
  JdsImportState        state;
  ImportJob            *job;          /* while running; owned by the task */
  guint                 progress_id;
  gboolean              discard;      /* closed while running: throw the result away */
  gboolean              disposed;
};

G_DEFINE_FINAL_TYPE (JdsImportDialog, jds_import_dialog, ADW_TYPE_WINDOW)

/* The storage types in the order of the dtype row. */
static const JdDType storage_types[] = { JD_DTYPE_BF16, JD_DTYPE_F16, JD_DTYPE_F32 };

#define SUGGESTED_NAME "jointdit-model.safetensors"

static void
import_job_free (gpointer data)
{
  ImportJob *job = data;
  for (int i = 0; i < JDS_IMPORT_N_PATHS; i++)
    g_free (job->paths[i]);
  g_free (job->temp_out);
  jd_convert_report_clear (&job->report);
  g_free (job);
}

static gboolean
can_import (JdsImportDialog *self)
{
  return self->state == JDS_IMPORT_EDITING && self->paths[JDS_IMPORT_SVD] != NULL
         && self->paths[JDS_IMPORT_AUDIOLDM2] != NULL && self->paths[JDS_IMPORT_OUTPUT] != NULL;
}

static void
update_row (JdsImportDialog *self,
            JdsImportPath    which)
{
  const char *path = self->paths[which];
  g_autofree char *shown = path ? g_filename_display_name (path) : NULL;
  if (shown == NULL)
    switch (which)
      {
      case JDS_IMPORT_CLIP:
        shown = g_strdup (_("SVD’s own image encoder"));
        break;
      case JDS_IMPORT_JOINT:
        shown = g_strdup (_("Fresh blocks, to be trained"));
        break;
      default:
        shown = g_strdup (_("Not chosen"));
        break;
      }
  adw_action_row_set_subtitle (self->rows[which], shown);
  if (which == JDS_IMPORT_CLIP)
    gtk_widget_set_visible (self->clip_clear_button, path != NULL);
  if (which == JDS_IMPORT_JOINT)
    gtk_widget_set_visible (self->joint_clear_button, path != NULL);
}

static void
set_state (JdsImportDialog *self,
           JdsImportState   state)
{
  self->state = state;
  gboolean editing = state == JDS_IMPORT_EDITING;
  gtk_widget_set_sensitive (self->sources_group, editing);
  gtk_widget_set_sensitive (self->optional_group, editing);
  gtk_widget_set_sensitive (self->output_group, editing);
  gtk_widget_set_visible (self->progress_group, state == JDS_IMPORT_RUNNING);
  gtk_widget_set_visible (self->import_button, state != JDS_IMPORT_DONE);
  gtk_widget_set_sensitive (self->import_button, can_import (self));
  gtk_stack_set_visible_child_name (self->stack, state == JDS_IMPORT_DONE ? "done" : "form");
  if (state == JDS_IMPORT_DONE)
    {
      gtk_button_set_label (GTK_BUTTON (self->cancel_button), _("_Close"));
      gtk_widget_set_tooltip_text (self->cancel_button, _("Close this window"));
    }
}

static void
hide_error (JdsImportDialog *self)
{
  gtk_widget_set_visible (self->error_group, FALSE);
  gtk_label_set_label (self->error_label, "");
}

static void
show_error (JdsImportDialog *self,
            const char      *message)
{
  gtk_label_set_label (self->error_label, message);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->error_label),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, message, -1);
  gtk_widget_set_visible (self->error_group, TRUE);
}

void
jds_import_dialog_set_path (JdsImportDialog *self,
                            JdsImportPath    which,
                            const char      *path)
{
  g_return_if_fail (JDS_IS_IMPORT_DIALOG (self));
  g_return_if_fail (which < JDS_IMPORT_N_PATHS);
  g_return_if_fail (self->state == JDS_IMPORT_EDITING);

  g_free (self->paths[which]);
  self->paths[which] = path != NULL && path[0] != '\0' ? g_strdup (path) : NULL;
  update_row (self, which);
  /* A refusal is about the paths it was given; a new path makes it stale. */
  hide_error (self);
  gtk_widget_set_sensitive (self->import_button, can_import (self));
}

const char *
jds_import_dialog_get_path (JdsImportDialog *self,
                            JdsImportPath    which)
{
  g_return_val_if_fail (JDS_IS_IMPORT_DIALOG (self), NULL);
  g_return_val_if_fail (which < JDS_IMPORT_N_PATHS, NULL);
  return self->paths[which];
}

const char *
jds_import_dialog_get_error (JdsImportDialog *self)
{
  g_return_val_if_fail (JDS_IS_IMPORT_DIALOG (self), NULL);
  return gtk_widget_get_visible (self->error_group) ? gtk_label_get_label (self->error_label)
                                                    : NULL;
}

const char *
jds_import_dialog_get_notices (JdsImportDialog *self)
{
  g_return_val_if_fail (JDS_IS_IMPORT_DIALOG (self), NULL);
  return self->state == JDS_IMPORT_DONE ? gtk_label_get_label (self->notices_label) : NULL;
}

JdsImportState
jds_import_dialog_get_state (JdsImportDialog *self)
{
  g_return_val_if_fail (JDS_IS_IMPORT_DIALOG (self), JDS_IMPORT_EDITING);
  return self->state;
}

double
jds_import_dialog_get_progress (JdsImportDialog *self)
{
  g_return_val_if_fail (JDS_IS_IMPORT_DIALOG (self), 0);
  return gtk_progress_bar_get_fraction (self->progress_bar);
}

GtkWidget *
jds_import_dialog_get_import_button (JdsImportDialog *self)
{
  g_return_val_if_fail (JDS_IS_IMPORT_DIALOG (self), NULL);
  return self->import_button;
}

/* ---- choosing paths ---- */

static void
on_chooser_response (GtkNativeDialog *dialog,
                     int              response,
                     JdsImportDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->state == JDS_IMPORT_EDITING)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      /* A bundle typed without its extension gets it: the model chooser lists *.safetensors. */
      if (path != NULL && self->choosing == JDS_IMPORT_OUTPUT
          && !g_str_has_suffix (path, ".safetensors"))
        {
          char *with_extension = g_strconcat (path, ".safetensors", NULL);
          g_free (path);
          path = with_extension;
        }
      if (path != NULL)
        jds_import_dialog_set_path (self, self->choosing, path);
    }
  g_clear_object (&self->chooser);
}

static void
choose (JdsImportDialog *self,
        JdsImportPath    which)
{
  const char *title = NULL;
  GtkFileChooserAction action = GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER;
  switch (which)
    {
    case JDS_IMPORT_SVD:
      title = _("Choose the Stable Video Diffusion Folder");
      break;
    case JDS_IMPORT_AUDIOLDM2:
      title = _("Choose the AudioLDM2 Folder");
      break;
    case JDS_IMPORT_CLIP:
      title = _("Choose a CLIP Image Encoder Folder");
      break;
    case JDS_IMPORT_JOINT:
      title = _("Choose a Joint Blocks File");
      action = GTK_FILE_CHOOSER_ACTION_OPEN;
      break;
    case JDS_IMPORT_OUTPUT:
    default:
      title = _("Save the Model Bundle");
      action = GTK_FILE_CHOOSER_ACTION_SAVE;
      break;
    }
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  self->choosing = which;
  self->chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action,
                                               action == GTK_FILE_CHOOSER_ACTION_SAVE
                                               ? _("_Save") : _("_Choose"),
                                               _("_Cancel"));
  GtkFileChooser *chooser = GTK_FILE_CHOOSER (self->chooser);
  if (which == JDS_IMPORT_JOINT || which == JDS_IMPORT_OUTPUT)
    {
      g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, _("Safetensors files"));
      gtk_file_filter_add_pattern (filter, "*.safetensors");
      gtk_file_chooser_add_filter (chooser, filter);
    }
  if (which == JDS_IMPORT_OUTPUT)
    {
      g_autofree char *name = self->paths[which] ? g_path_get_basename (self->paths[which])
                                                 : g_strdup (SUGGESTED_NAME);
      gtk_file_chooser_set_current_name (chooser, name);
    }
  else if (self->paths[which] != NULL)
    {
      /* Start where the last choice was; a chooser that cannot go there starts elsewhere. */
      g_autoptr (GFile) current = g_file_new_for_path (self->paths[which]);
      gtk_file_chooser_set_file (chooser, current, NULL);
    }
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void on_svd_choose_clicked (JdsImportDialog *self) { choose (self, JDS_IMPORT_SVD); }
static void on_audioldm2_choose_clicked (JdsImportDialog *self) { choose (self, JDS_IMPORT_AUDIOLDM2); }
static void on_clip_choose_clicked (JdsImportDialog *self) { choose (self, JDS_IMPORT_CLIP); }
static void on_joint_choose_clicked (JdsImportDialog *self) { choose (self, JDS_IMPORT_JOINT); }
static void on_out_choose_clicked (JdsImportDialog *self) { choose (self, JDS_IMPORT_OUTPUT); }

static void
on_clip_clear_clicked (JdsImportDialog *self)
{
  jds_import_dialog_set_path (self, JDS_IMPORT_CLIP, NULL);
}

static void
on_joint_clear_clicked (JdsImportDialog *self)
{
  jds_import_dialog_set_path (self, JDS_IMPORT_JOINT, NULL);
}

/* ---- the conversion ---- */

/* On the conversion's thread: only an atomic store, read by update_progress on the main loop. */
static void
on_convert_progress (guint64     done,
                     guint64     total,
                     const char *name,
                     gpointer    user_data)
{
  ImportJob *job = user_data;
  int permille = total > 0 ? (int) (1000.0 * (double) done / (double) total) : 1000;
  g_atomic_int_set (&job->permille, CLAMP (permille, 0, 1000));
}

static void
import_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ImportJob *job = task_data;
  JdConvertOptions options = {
    .svd = job->paths[JDS_IMPORT_SVD],
    .audioldm2 = job->paths[JDS_IMPORT_AUDIOLDM2],
    .clip = job->paths[JDS_IMPORT_CLIP],
    .joint = job->paths[JDS_IMPORT_JOINT],
    .out = job->temp_out,
    .dtype = job->dtype,
    .hash_sources = TRUE,
    .progress = on_convert_progress,
    .user_data = job,
  };
  GError *error = NULL;
  if (jd_convert_run (&options, &job->report, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
update_progress (gpointer user_data)
{
  JdsImportDialog *self = user_data;
  if (self->job == NULL)
    return G_SOURCE_CONTINUE;
  int permille = g_atomic_int_get (&self->job->permille);
  if (permille < 0)
    {
      gtk_progress_bar_pulse (self->progress_bar);
      gtk_label_set_label (self->progress_label,
                           _("Checking the sources and computing their checksums…"));
    }
  else
    {
      gtk_progress_bar_set_fraction (self->progress_bar, permille / 1000.0);
      gtk_label_set_label (self->progress_label, _("Writing the model bundle…"));
    }
  return G_SOURCE_CONTINUE;
}

/* The engine words its notices in English for the command line; the ones every import gives
 * are said here in the user's language (others as they are). */
static char *
notice_for_people (const char *notice)
{
  if (g_str_has_prefix (notice, "The audio UNet's image conditioning"))
    return g_strdup (_("The sound does not follow the picture yet: the audio model’s image "
                       "conditioning starts at zero and must be fine-tuned."));
  if (g_str_has_prefix (notice, "Joint Blocks are fresh"))
    return g_strdup (_("The Joint Blocks are fresh: picture and sound are made independently "
                       "until they are trained."));
  if (g_str_has_prefix (notice, "Joint Blocks loaded from"))
    return g_strdup (_("The Joint Blocks come from the chosen file."));
  if (g_str_has_prefix (notice, "Dropped "))
    return g_strdup (_("AudioLDM2’s text layers were left out on purpose: JointDiT conditions "
                       "the sound on the picture, not on text."));
  return g_strdup (notice);
}

static void
show_done (JdsImportDialog *self,
           ImportJob       *job)
{
  g_autofree char *name = g_filename_display_basename (job->paths[JDS_IMPORT_OUTPUT]);
  /* Translators: %s is the bundle's file name */
  g_autofree char *done = g_strdup_printf (_("“%s” is now the studio’s model."), name);
  gtk_label_set_label (self->done_label, done);
  g_autoptr (GString) notices = g_string_new (NULL);
  for (guint i = 0; job->report.notices != NULL && i < job->report.notices->len; i++)
    {
      g_autofree char *notice = notice_for_people (g_ptr_array_index (job->report.notices, i));
      if (notices->len > 0)
        g_string_append (notices, "\n\n");
      g_string_append (notices, notice);
    }
  gtk_label_set_label (self->notices_label, notices->str);
  gtk_widget_set_visible (GTK_WIDGET (self->notices_label), notices->len > 0);
}

static void
on_import_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  JdsImportDialog *self = JDS_IMPORT_DIALOG (source);
  ImportJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  g_clear_handle_id (&self->progress_id, g_source_remove);
  /* The converter's last report (the whole bundle written, on success) is shown as it ends. */
  if (!self->disposed)
    update_progress (self);
  self->job = NULL;

  if (self->discard)
    {
      if (ok)
        g_unlink (job->temp_out);
      if (!self->disposed)
        gtk_window_destroy (GTK_WINDOW (self));
      return;
    }

  if (ok && g_rename (job->temp_out, job->paths[JDS_IMPORT_OUTPUT]) != 0)
    {
      int saved_errno = errno;
      g_autofree char *shown = g_filename_display_name (job->paths[JDS_IMPORT_OUTPUT]);
      g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   /* Translators: %s are the bundle's path and the system's reason */
                   _("The model bundle could not be saved as “%s”: %s"), shown,
                   g_strerror (saved_errno));
      g_unlink (job->temp_out);
      ok = FALSE;
    }
  if (!ok)
    {
      set_state (self, JDS_IMPORT_EDITING);
      show_error (self, error->message);
      return;
    }
  g_settings_set_string (self->settings, "model-path", job->paths[JDS_IMPORT_OUTPUT]);
  show_done (self, job);
  set_state (self, JDS_IMPORT_DONE);
}

static void
on_import_clicked (JdsImportDialog *self)
{
  if (!can_import (self))
    return;
  hide_error (self);

  ImportJob *job = g_new0 (ImportJob, 1);
  for (int i = 0; i < JDS_IMPORT_N_PATHS; i++)
    job->paths[i] = g_strdup (self->paths[i]);
  guint selected = adw_combo_row_get_selected (self->dtype_row);
  job->dtype = storage_types[selected < G_N_ELEMENTS (storage_types) ? selected : 0];
  job->permille = -1;
  /* Written beside the bundle (so the rename stays on one file system), hidden, and renamed
   * only when the import is kept: an existing bundle survives a discarded import. */
  g_autofree char *folder = g_path_get_dirname (job->paths[JDS_IMPORT_OUTPUT]);
  g_autofree char *base = g_path_get_basename (job->paths[JDS_IMPORT_OUTPUT]);
  g_autofree char *hidden = g_strdup_printf (".%s.importing", base);
  job->temp_out = g_build_filename (folder, hidden, NULL);

  self->job = job;
  set_state (self, JDS_IMPORT_RUNNING);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  update_progress (self);
  self->progress_id = g_timeout_add (100, update_progress, self);

  g_autoptr (GTask) task = g_task_new (self, NULL, on_import_done, NULL);
  g_task_set_source_tag (task, on_import_clicked);
  g_task_set_task_data (task, job, import_job_free);
  g_task_run_in_thread (task, import_thread);
}

static void
on_cancel_clicked (JdsImportDialog *self)
{
  gtk_window_close (GTK_WINDOW (self));
}

static gboolean
jds_import_dialog_close_request (GtkWindow *window)
{
  JdsImportDialog *self = JDS_IMPORT_DIALOG (window);
  if (self->state == JDS_IMPORT_RUNNING)
    {
      /* The converter cannot stop between tensors: let it finish out of sight, then discard. */
      self->discard = TRUE;
      gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
      return TRUE;
    }
  return GTK_WINDOW_CLASS (jds_import_dialog_parent_class)->close_request (window);
}

GtkWidget *
jds_import_dialog_new (GtkWindow *parent,
                       GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  JdsImportDialog *self = g_object_new (JDS_TYPE_IMPORT_DIALOG, NULL);
  self->settings = g_object_ref (settings);
  if (parent != NULL)
    {
      gtk_window_set_transient_for (GTK_WINDOW (self), parent);
      /* In the application's windows, so a discarded import can finish before it quits. */
      GtkApplication *application = gtk_window_get_application (parent);
      if (application != NULL)
        gtk_window_set_application (GTK_WINDOW (self), application);
    }
  return GTK_WIDGET (self);
}

static void
jds_import_dialog_dispose (GObject *object)
{
  JdsImportDialog *self = JDS_IMPORT_DIALOG (object);
  /* Destroyed while converting (the application quits): the task still holds this object and
   * discards the result when it ends. */
  if (self->state == JDS_IMPORT_RUNNING)
    self->discard = TRUE;
  self->disposed = TRUE;
  g_clear_handle_id (&self->progress_id, g_source_remove);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), JDS_TYPE_IMPORT_DIALOG);
  G_OBJECT_CLASS (jds_import_dialog_parent_class)->dispose (object);
}

static void
jds_import_dialog_finalize (GObject *object)
{
  JdsImportDialog *self = JDS_IMPORT_DIALOG (object);
  for (int i = 0; i < JDS_IMPORT_N_PATHS; i++)
    g_free (self->paths[i]);
  G_OBJECT_CLASS (jds_import_dialog_parent_class)->finalize (object);
}

static void
jds_import_dialog_class_init (JdsImportDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = jds_import_dialog_dispose;
  object_class->finalize = jds_import_dialog_finalize;
  window_class->close_request = jds_import_dialog_close_request;
  /* Escape closes, as in every dialog (while converting, that discards the import). */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               JDS_RESOURCE_PATH "/jds-import-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, import_button);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, error_group);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, sources_group);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, optional_group);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, output_group);
  gtk_widget_class_bind_template_child_full (widget_class, "svd_row", FALSE,
                                             offsetof (JdsImportDialog, rows[JDS_IMPORT_SVD]));
  gtk_widget_class_bind_template_child_full (widget_class, "audioldm2_row", FALSE,
                                             offsetof (JdsImportDialog,
                                                       rows[JDS_IMPORT_AUDIOLDM2]));
  gtk_widget_class_bind_template_child_full (widget_class, "clip_row", FALSE,
                                             offsetof (JdsImportDialog, rows[JDS_IMPORT_CLIP]));
  gtk_widget_class_bind_template_child_full (widget_class, "joint_row", FALSE,
                                             offsetof (JdsImportDialog, rows[JDS_IMPORT_JOINT]));
  gtk_widget_class_bind_template_child_full (widget_class, "out_row", FALSE,
                                             offsetof (JdsImportDialog,
                                                       rows[JDS_IMPORT_OUTPUT]));
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, clip_clear_button);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, joint_clear_button);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, dtype_row);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, progress_group);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, progress_label);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, done_label);
  gtk_widget_class_bind_template_child (widget_class, JdsImportDialog, notices_label);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_import_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_svd_choose_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_audioldm2_choose_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_clip_choose_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_joint_choose_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_out_choose_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_clip_clear_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_joint_clear_clicked);
}

static void
jds_import_dialog_init (JdsImportDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  for (int i = 0; i < JDS_IMPORT_N_PATHS; i++)
    update_row (self, i);
  set_state (self, JDS_IMPORT_EDITING);
}

/* jds-window.c — the main window's states, the run's life cycle and the window actions. */
#include "jds-window-private.h"

#include <glib/gi18n.h>

#include "jd-image.h"
#include "jds-config.h"
#include "jds-compare-window.h"
#include "jd-export.h"
#include "jds-history-row.h"
#include "jds-launch.h"

G_DEFINE_FINAL_TYPE (JdsWindow, jds_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_STATE,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

GType
jds_window_state_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { JDS_WINDOW_EMPTY, "JDS_WINDOW_EMPTY", "empty" },
    { JDS_WINDOW_READY, "JDS_WINDOW_READY", "ready" },
    { JDS_WINDOW_RUNNING, "JDS_WINDOW_RUNNING", "running" },
    { JDS_WINDOW_FINISHED, "JDS_WINDOW_FINISHED", "finished" },
    { JDS_WINDOW_MODEL_ERROR, "JDS_WINDOW_MODEL_ERROR", "model-error" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("JdsWindowState", values));
  return type;
}

void
jds_window_add_toast (JdsWindow  *self,
                      const char *message)
{
  AdwToast *toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
update_actions (JdsWindow *self)
{
  gboolean running = self->state == JDS_WINDOW_RUNNING;
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "export");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), self->result != NULL);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "copy-frame");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), self->result != NULL);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "play-pause");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), self->result != NULL);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "compare");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), self->image_bytes != NULL);
  gtk_stack_set_visible_child_name (self->run_stack, running ? "cancel" : "generate");
  if (self->application != NULL)
    {
      GActionMap *app = G_ACTION_MAP (self->application);
      g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (app, "generate")),
                                   self->image_bytes != NULL && !running
                                   && self->state != JDS_WINDOW_MODEL_ERROR);
      g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (app, "cancel")),
                                   running);
    }
}

void
_jds_window_set_state (JdsWindow      *self,
                       JdsWindowState  state)
{
  const char *page = "work";
  if (state == JDS_WINDOW_EMPTY)
    page = "empty";
  else if (state == JDS_WINDOW_MODEL_ERROR)
    page = "error";
  gtk_stack_set_visible_child_name (self->main_stack, page);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), state == JDS_WINDOW_RUNNING);
  if (self->state == state)
    return;
  self->state = state;
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* The state to show when no run goes and the model is fine. */
static JdsWindowState
resting_state (JdsWindow *self)
{
  if (self->image_bytes == NULL)
    return JDS_WINDOW_EMPTY;
  return self->result != NULL ? JDS_WINDOW_FINISHED : JDS_WINDOW_READY;
}

/* What happens to the picture. Set from the window's first moment (before the worker is known)
 * and never left empty: the header's text column takes its minimum width from this label's
 * longest word. When the label got its first text only in jds_window_setup, GTK sometimes still
 * held the column's minimum width measured while it was empty (0 px) when the window was first
 * shown; the header row, sharing out its width by height, then found the column needing 51 px
 * at any height and reported "GtkBox reports a minimum width of 0, but minimum width for height
 * of 1048576 is 51" (caught with its ancestors in the window tests, 1 first window in 13). */
static void
update_source_detail (JdsWindow *self)
{
  const JdModelInfo *info = self->worker ? jds_worker_get_model_info (self->worker) : NULL;
  g_autofree char *text = NULL;
  if (info != NULL)
    /* Translators: the model only takes pictures of one size */
    text = g_strdup_printf (_("Cropped to fit and scaled to %d × %d pixels for the model"),
                            info->width, info->height);
  else
    text = g_strdup (_("Cropped to fit and scaled to the model’s size"));
  gtk_label_set_label (self->source_detail_label, text);
}

/* ---- opening pictures ---- */

gboolean
jds_window_open_bytes (JdsWindow   *self,
                       GBytes      *bytes,
                       const char  *name,
                       GError     **error)
{
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (JDS_IS_WINDOW (self), FALSE);

  /* Decoded here at its own size: a non-image is refused at once, and the picture shown is
   * what the model will get, orientation applied. The worker decodes it again at the model's
   * size when a generation starts. */
  g_autoptr (JdImage) image = jd_image_load_from_bytes (bytes, name, 0, 0, &local_error);
  if (image == NULL)
    {
      jds_window_add_toast (self, local_error->message);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  g_autoptr (GBytes) pixels = g_bytes_new (image->pixels, image->stride * image->height);
  g_autoptr (GdkTexture) texture =
    gdk_memory_texture_new (image->width, image->height,
                            image->channels == 4 ? GDK_MEMORY_R8G8B8A8 : GDK_MEMORY_R8G8B8,
                            pixels, image->stride);
  gtk_picture_set_paintable (self->source_picture, GDK_PAINTABLE (texture));

  g_clear_pointer (&self->image_bytes, g_bytes_unref);
  self->image_bytes = g_bytes_ref (bytes);
  g_free (self->image_name);
  self->image_name = g_strdup (name);
  gtk_label_set_label (self->source_name_label, name);
  adw_window_title_set_subtitle (self->window_title, name);
  update_source_detail (self);

  if (self->state != JDS_WINDOW_RUNNING)
    {
      /* A new picture starts fresh; the last result stays in the history. */
      g_clear_pointer (&self->result, jds_result_unref);
      _jds_window_player_show (self, NULL);
      jds_preview_view_set_frames (self->preview_view, NULL);
      gtk_label_set_label (self->progress_label, _("Ready to generate"));
      if (self->state != JDS_WINDOW_MODEL_ERROR)
        _jds_window_set_state (self, resting_state (self));
      update_actions (self);
    }
  return TRUE;
}

gboolean
jds_window_open_file (JdsWindow  *self,
                      GFile      *file,
                      GError    **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_return_val_if_fail (JDS_IS_WINDOW (self), FALSE);

  g_autofree char *name = g_file_get_basename (file);
  if (!g_file_load_contents (file, NULL, &contents, &length, NULL, &local_error))
    {
      g_autofree char *message = g_strdup_printf (_("Could not read “%s”: %s"), name,
                                                  local_error->message);
      jds_window_add_toast (self, message);
      g_set_error_literal (error, local_error->domain, local_error->code, message);
      return FALSE;
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
  return jds_window_open_bytes (self, bytes, name, error);
}

gboolean
jds_window_open_texture (JdsWindow   *self,
                         GdkTexture  *texture,
                         const char  *name,
                         GError     **error)
{
  g_autoptr (GBytes) png = gdk_texture_save_to_png_bytes (texture);
  return jds_window_open_bytes (self, png, name, error);
}

/* ---- running ---- */

static void
show_progress (JdsWindow        *self,
               const JdProgress *progress)
{
  g_autofree char *text = NULL;
  gtk_progress_bar_set_fraction (self->progress_bar, (double) progress->step / progress->total);
  if (progress->step < progress->total)
    /* Translators: the progress of a generation, e.g. "Step 3 of 25 · about 12 s left" */
    text = g_strdup_printf (_("Step %d of %d · about %.0f s left"), progress->step,
                            progress->total, progress->eta_s);
  else
    text = g_strdup_printf (_("Step %d of %d · decoding the clip"), progress->step,
                            progress->total);
  gtk_label_set_label (self->progress_label, text);
}

static void
drain_mailbox (JdsWindow *self)
{
  JdsMailbox *mailbox = jds_worker_get_mailbox (self->worker);
  JdProgress progress;
  if (jds_mailbox_take_progress (mailbox, &progress))
    show_progress (self, &progress);
  g_autoptr (JdsFrames) preview = jds_mailbox_take_preview (mailbox);
  if (preview != NULL)
    jds_preview_view_set_frames (self->preview_view, preview);
}

/* Read on the frame clock: at most one picture per frame reaches the screen. */
static gboolean
on_mailbox_tick (GtkWidget     *widget,
                 GdkFrameClock *clock,
                 gpointer       user_data)
{
  drain_mailbox (JDS_WINDOW (widget));
  return G_SOURCE_CONTINUE;
}

static void
end_run (JdsWindow *self)
{
  if (self->mailbox_tick != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->mailbox_tick);
  self->mailbox_tick = 0;
  if (self->inhibit_cookie != 0)
    gtk_application_uninhibit (GTK_APPLICATION (self->application), self->inhibit_cookie);
  self->inhibit_cookie = 0;
}

void
jds_window_generate (JdsWindow *self)
{
  g_return_if_fail (JDS_IS_WINDOW (self));

  if (self->image_bytes == NULL)
    {
      jds_window_add_toast (self, _("Open an image first: drop one here or press Ctrl+O"));
      return;
    }
  if (self->state == JDS_WINDOW_RUNNING)
    return;

  jds_worker_generate (self->worker, self->image_bytes, self->image_name,
                       g_settings_get_int (self->settings, "steps"),
                       g_settings_get_uint (self->settings, "seed"));

  g_clear_pointer (&self->result, jds_result_unref);
  _jds_window_player_show (self, NULL);
  jds_preview_view_set_frames (self->preview_view, NULL);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_label (self->progress_label, _("Preparing the model…"));
  self->mailbox_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), on_mailbox_tick, NULL,
                                                     NULL);
  self->inhibit_cookie = gtk_application_inhibit (GTK_APPLICATION (self->application),
                                                  GTK_WINDOW (self),
                                                  GTK_APPLICATION_INHIBIT_SUSPEND,
                                                  _("Generating a clip"));
  _jds_window_set_state (self, JDS_WINDOW_RUNNING);
}

void
jds_window_cancel (JdsWindow *self)
{
  g_return_if_fail (JDS_IS_WINDOW (self));
  if (self->state != JDS_WINDOW_RUNNING)
    return;
  gtk_label_set_label (self->progress_label, _("Stopping after this step…"));
  jds_worker_cancel (self->worker);
}

static void
apply_seed_policy (JdsWindow *self)
{
  g_autofree char *policy = g_settings_get_string (self->settings, "seed-policy");
  guint seed = g_settings_get_uint (self->settings, "seed");
  if (g_str_equal (policy, "increment"))
    g_settings_set_uint (self->settings, "seed", seed + 1);
  else if (g_str_equal (policy, "randomize"))
    jds_controls_roll_seed (self->controls);
}

static void
show_result (JdsWindow *self,
             JdsResult *result)
{
  if (result != self->result)
    {
      jds_result_ref (result);
      g_clear_pointer (&self->result, jds_result_unref);
      self->result = result;
      _jds_window_player_show (self, result);
    }
  jds_preview_view_set_frames (self->preview_view, result->frames);
  char seed[32];
  g_snprintf (seed, sizeof seed, "%" G_GUINT64_FORMAT, result->seed);
  g_autofree char *text =
    g_strdup_printf (_("Done in %.1f s · seed %s · %d steps"),
                     result->clip->condition_s + result->clip->sampling_s
                     + result->clip->decode_s, seed, result->steps);
  gtk_label_set_label (self->progress_label, text);
  update_actions (self);
}

static void
on_history_activated (GtkListBox    *list,
                      GtkListBoxRow *row,
                      JdsWindow     *self)
{
  if (self->state == JDS_WINDOW_RUNNING || !JDS_IS_HISTORY_ROW (row))
    return;
  JdsResult *result = jds_history_row_get_result (JDS_HISTORY_ROW (row));
  /* Restore the settings that made it, then the picture and the clip. */
  g_settings_set_string (self->settings, "guidance-mode", jd_guidance_mode_name (result->mode));
  g_settings_set_boolean (self->settings, "omega-linked",
                          result->omega_video == result->omega_audio);
  g_settings_set_double (self->settings, "omega-video", result->omega_video);
  if (result->omega_video > 0.0)
    g_settings_set_boolean (self->settings, "omega-video-ramp",
                            result->omega_video_first != result->omega_video);
  g_settings_set_double (self->settings, "omega-audio", result->omega_audio);
  g_settings_set_int (self->settings, "steps", result->steps);
  g_settings_set_uint (self->settings, "seed", (guint) result->seed);
  if (result->source_bytes != NULL)
    jds_window_open_bytes (self, result->source_bytes, result->source_name, NULL);
  show_result (self, result);
  _jds_window_set_state (self, JDS_WINDOW_FINISHED);
}

static void
on_worker_finished (JdsWorker *worker,
                    JdsResult *result,
                    JdsWindow *self)
{
  if (result->batch != 0)
    return;  /* a compare run: the compare window shows it */
  drain_mailbox (self);
  end_run (self);
  show_result (self, result);
  jds_controls_add_history_row (self->controls, jds_history_row_new (result));
  apply_seed_policy (self);
  _jds_window_set_state (self, JDS_WINDOW_FINISHED);

  if (!gtk_window_is_active (GTK_WINDOW (self)))
    {
      g_autoptr (GNotification) notification = g_notification_new (_("Your Clip Is Ready"));
      char seed[32];
      g_snprintf (seed, sizeof seed, "%" G_GUINT64_FORMAT, result->seed);
      g_autofree char *body = g_strdup_printf (_("“%s” with seed %s"), result->source_name, seed);
      g_notification_set_body (notification, body);
      g_application_send_notification (G_APPLICATION (self->application), "finished",
                                       notification);
    }
}

static void
on_worker_failed (JdsWorker    *worker,
                  const GError *error,
                  guint         batch,
                  JdsWindow    *self)
{
  if (batch != 0 || self->state != JDS_WINDOW_RUNNING)
    return;
  drain_mailbox (self);
  end_run (self);
  jds_preview_view_set_frames (self->preview_view, NULL);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      gtk_label_set_label (self->progress_label, _("Cancelled · ready to generate"));
      jds_window_add_toast (self, _("Generation cancelled"));
    }
  else
    {
      gtk_label_set_label (self->progress_label, error->message);
      jds_window_add_toast (self, error->message);
    }
  _jds_window_set_state (self, self->image_bytes ? JDS_WINDOW_READY : JDS_WINDOW_EMPTY);
}

static void
on_model_loaded (JdsWorker *worker,
                 JdsWindow *self)
{
  const JdModelInfo *info = jds_worker_get_model_info (worker);
  g_autofree char *summary =
    g_strdup_printf (_("%s · %d × %d · %d frames · %.1f s of sound"), info->name, info->width,
                     info->height, info->frames, info->audio_seconds);
  jds_controls_set_model_summary (self->controls, summary);
  update_source_detail (self);
  if (self->state == JDS_WINDOW_MODEL_ERROR)
    _jds_window_set_state (self, resting_state (self));
}

static void
on_model_failed (JdsWorker    *worker,
                 const GError *error,
                 JdsWindow    *self)
{
  adw_status_page_set_description (self->error_page, error->message);
  jds_controls_set_model_summary (self->controls, _("Could not be loaded"));
  if (self->state != JDS_WINDOW_RUNNING)
    _jds_window_set_state (self, JDS_WINDOW_MODEL_ERROR);
}

/* ---- export ---- */

static void
on_worker_exported (JdsWorker    *worker,
                    const char   *path,
                    const GError *error,
                    JdsWindow    *self)
{
  if (error != NULL)
    {
      jds_window_add_toast (self, error->message);
      return;
    }
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *message = g_strdup_printf (_("Exported “%s”"), name);
  AdwToast *toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 8);
  /* A toast has one button (libadwaita 1.2): "Open" is it; "Show in Folder" sits in the title. */
  adw_toast_set_button_label (toast, _("_Open"));
  adw_toast_set_action_name (toast, "win.open-exported");
  adw_toast_set_action_target_value (toast, g_variant_new_string (path));
  GtkWidget *title = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *label = gtk_label_new (message);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_box_append (GTK_BOX (title), label);
  GtkWidget *show = gtk_button_new_with_mnemonic (_("Show in _Folder"));
  gtk_widget_add_css_class (show, "flat");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (show), "win.show-in-folder");
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (show), g_variant_new_string (path));
  gtk_box_append (GTK_BOX (title), show);
  adw_toast_set_custom_title (toast, title);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
jds_window_export (JdsWindow  *self,
                   const char *path,
                   gboolean    latest)
{
  g_autoptr (GError) error = NULL;
  JdExportFormat format;

  g_return_if_fail (JDS_IS_WINDOW (self));
  if (!jd_export_format_for_path (path, &format, &error))
    {
      jds_window_add_toast (self, error->message);
      return;
    }
  /* The worker takes jobs in order: an export asked for during a run waits for its result. */
  jds_worker_export (self->worker, latest ? NULL : self->result, path);
}

static void
on_export_response (GtkNativeDialog *dialog,
                    int              response,
                    JdsWindow       *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        {
          g_autoptr (GFile) parent = g_file_get_parent (file);
          g_autofree char *folder = parent ? g_file_get_path (parent) : NULL;
          if (folder != NULL)
            g_settings_set_string (self->settings, "export-folder", folder);
          jds_window_export (self, path, FALSE);
        }
    }
  g_clear_object (&self->chooser);
}

static void
export_action (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  JdsWindow *self = user_data;
  if (self->result == NULL || self->chooser != NULL)
    return;

  /* GTK 4's save dialog and the portal's both ask before replacing an existing file, so the
   * overwrite confirmation is theirs; the name suggested is app/export's (image + seed). */
  self->chooser = gtk_file_chooser_native_new (_("Export Clip"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  struct { const char *name; const char *pattern; } filters[] = {
    { N_("MP4 video with sound"), "*.mp4" },
    { N_("WAV sound"), "*.wav" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (filters); i++)
    {
      g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, _(filters[i].name));
      gtk_file_filter_add_pattern (filter, filters[i].pattern);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
    }
  g_autofree char *name = jd_export_suggest_name (self->result->source_name, self->result->seed,
                                                 JD_EXPORT_MP4);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
  g_autofree char *folder = g_settings_get_string (self->settings, "export-folder");
  const char *start = folder[0] ? folder : g_get_user_special_dir (G_USER_DIRECTORY_VIDEOS);
  if (start != NULL)
    {
      g_autoptr (GFile) start_file = g_file_new_for_path (start);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), start_file, NULL);
    }
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
launch_failed (const char *message,
               gpointer    data)
{
  jds_window_add_toast (JDS_WINDOW (data), message);
}

static void
open_exported_action (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  g_autoptr (GFile) file = g_file_new_for_path (g_variant_get_string (parameter, NULL));
  jds_launch_open_file (GTK_WIDGET (user_data), file, launch_failed, user_data);
}

static void
show_in_folder_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  g_autoptr (GFile) file = g_file_new_for_path (g_variant_get_string (parameter, NULL));
  jds_launch_show_in_folder (GTK_WIDGET (user_data), file, launch_failed, user_data);
}

static void
copy_frame_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  _jds_window_copy_frame (JDS_WINDOW (user_data));
}

static void
play_pause_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  _jds_window_player_toggle (JDS_WINDOW (user_data));
}

static void
open_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  _jds_window_open_dialog (JDS_WINDOW (user_data));
}

static void
paste_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  JdsWindow *self = user_data;
  /* Ctrl+V in a text field pastes text there, not a picture into the studio. */
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  if (focus != NULL && GTK_IS_EDITABLE (focus))
    {
      gtk_widget_activate_action (focus, "clipboard.paste", NULL);
      return;
    }
  _jds_window_paste (self);
}

static void
compare_action (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  JdsWindow *self = user_data;
  if (self->image_bytes == NULL)
    {
      jds_window_add_toast (self, _("Open an image first: drop one here or press Ctrl+O"));
      return;
    }
  GtkWidget *compare = jds_compare_window_new (self->application, self->image_bytes,
                                               self->image_name);
  gtk_window_set_transient_for (GTK_WINDOW (compare), GTK_WINDOW (self));
  gtk_window_present (GTK_WINDOW (compare));
}

static void
toggle_sidebar_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  JdsWindow *self = user_data;
  adw_flap_set_reveal_flap (self->flap, !adw_flap_get_reveal_flap (self->flap));
}

static const GActionEntry window_actions[] = {
  { "open", open_action },
  { "paste", paste_action },
  { "export", export_action },
  { "open-exported", open_exported_action, "s" },
  { "show-in-folder", show_in_folder_action, "s" },
  { "copy-frame", copy_frame_action },
  { "play-pause", play_pause_action },
  { "toggle-sidebar", toggle_sidebar_action },
  { "compare", compare_action },
};

/* ---- closing ---- */

static void
on_close_response (AdwMessageDialog *dialog,
                   const char       *response,
                   JdsWindow        *self)
{
  if (g_str_equal (response, "close"))
    {
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
}

static gboolean
jds_window_close_request (GtkWindow *window)
{
  JdsWindow *self = JDS_WINDOW (window);
  gboolean running = self->state == JDS_WINDOW_RUNNING;
  gboolean unexported = self->result != NULL && !self->result->exported;

  if (!self->close_confirmed && (running || unexported))
    {
      GtkWidget *dialog = adw_message_dialog_new (window,
                                                  running ? _("Stop the Generation?")
                                                          : _("Discard the Clip?"),
                                                  running ? _("The clip that is forming will be lost.")
                                                          : _("The clip was not exported and will be lost."));
      adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                        "cancel", _("_Keep Open"),
                                        "close", running ? _("_Stop and Close") : _("_Discard"),
                                        NULL);
      adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "close",
                                                  ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      g_signal_connect (dialog, "response", G_CALLBACK (on_close_response), self);
      gtk_window_present (GTK_WINDOW (dialog));
      return TRUE;
    }
  if (running)
    jds_worker_cancel (self->worker);
  return GTK_WINDOW_CLASS (jds_window_parent_class)->close_request (window);
}

/* ---- adaptive layout ---- */

/* Applied from an idle callback: "folded" changes while the flap allocates, and showing or
 * hiding header buttons there would resize widgets in the middle of the layout pass. */
static gboolean
apply_folded (gpointer data)
{
  JdsWindow *self = data;
  gboolean folded = adw_flap_get_folded (self->flap);
  self->fold_idle = 0;
  jds_preview_view_set_compact (self->preview_view, folded);
  /* At phone widths the header keeps only what has no other way in: Open and Export stay in
   * the main menu. */
  gtk_widget_set_visible (self->open_button, !folded);
  gtk_widget_set_visible (self->export_button, !folded);
  return G_SOURCE_REMOVE;
}

static void
on_folded_changed (AdwFlap    *flap,
                   GParamSpec *pspec,
                   JdsWindow  *self)
{
  if (self->fold_idle == 0)
    self->fold_idle = g_idle_add (apply_folded, self);
}

/* ---- accessors ---- */

JdsWindowState
jds_window_get_state (JdsWindow *self)
{
  g_return_val_if_fail (JDS_IS_WINDOW (self), JDS_WINDOW_EMPTY);
  return self->state;
}

JdsResult *
jds_window_get_result (JdsWindow *self)
{
  g_return_val_if_fail (JDS_IS_WINDOW (self), NULL);
  return self->result;
}

GtkWidget *
jds_window_get_preview_view (JdsWindow *self)
{
  return GTK_WIDGET (self->preview_view);
}

GtkWidget *
jds_window_get_controls (JdsWindow *self)
{
  return GTK_WIDGET (self->controls);
}

GtkWidget *
jds_window_get_drop_widget (JdsWindow *self)
{
  return GTK_WIDGET (self->toast_overlay);
}

GtkDropTarget *
jds_window_get_drop_target (JdsWindow *self)
{
  return self->drop_target;
}

const char *
jds_window_get_progress_text (JdsWindow *self)
{
  return gtk_label_get_label (self->progress_label);
}

/* GtkWindow:application is not a construct property, so what needs the application is set up
 * here rather than in constructed. */
static void
jds_window_setup (JdsWindow      *self,
                  JdsApplication *application)
{
  self->application = application;
  self->settings = g_object_ref (jds_application_get_settings (self->application));
  self->worker = g_object_ref (jds_application_get_worker (self->application));

  jds_controls_bind_settings (self->controls, self->settings);
  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);

  g_signal_connect_object (self->worker, "finished", G_CALLBACK (on_worker_finished), self, 0);
  g_signal_connect_object (self->worker, "failed", G_CALLBACK (on_worker_failed), self, 0);
  g_signal_connect_object (self->worker, "exported", G_CALLBACK (on_worker_exported), self, 0);
  g_signal_connect_object (self->worker, "model-loaded", G_CALLBACK (on_model_loaded), self, 0);
  g_signal_connect_object (self->worker, "model-failed", G_CALLBACK (on_model_failed), self, 0);
  update_actions (self);
  if (jds_worker_get_model_info (self->worker) != NULL)
    on_model_loaded (self->worker, self);
  else if (jds_worker_get_model_error (self->worker) != NULL)
    on_model_failed (self->worker, jds_worker_get_model_error (self->worker), self);

  g_signal_connect_object (jds_controls_get_history (self->controls), "row-activated",
                           G_CALLBACK (on_history_activated), self, 0);
}

JdsWindow *
jds_window_new (JdsApplication *application)
{
  g_return_val_if_fail (JDS_IS_APPLICATION (application), NULL);
  JdsWindow *self = g_object_new (JDS_TYPE_WINDOW, "application", application, NULL);
  jds_window_setup (self, application);
  return self;
}

static void
jds_window_dispose (GObject *object)
{
  JdsWindow *self = JDS_WINDOW (object);

  end_run (self);
  _jds_window_player_dispose (self);
  g_clear_handle_id (&self->fold_idle, g_source_remove);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_pointer (&self->image_bytes, g_bytes_unref);
  g_clear_pointer (&self->image_name, g_free);
  g_clear_pointer (&self->result, jds_result_unref);
  /* Destroyed windows may outlive their template children for a while: stop listening now. */
  if (self->worker != NULL)
    g_signal_handlers_disconnect_by_data (self->worker, self);
  g_clear_object (&self->settings);
  g_clear_object (&self->worker);
  gtk_widget_dispose_template (GTK_WIDGET (self), JDS_TYPE_WINDOW);
  G_OBJECT_CLASS (jds_window_parent_class)->dispose (object);
}

static void
jds_window_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  JdsWindow *self = JDS_WINDOW (object);
  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jds_window_class_init (JdsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = jds_window_dispose;
  object_class->get_property = jds_window_get_property;
  window_class->close_request = jds_window_close_request;

  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, JDS_TYPE_WINDOW_STATE,
                                              JDS_WINDOW_EMPTY,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (JDS_TYPE_CONTROLS);
  g_type_ensure (JDS_TYPE_PREVIEW_VIEW);
  g_type_ensure (JDS_TYPE_SYNC_TIMELINE);
  gtk_widget_class_set_template_from_resource (widget_class, JDS_RESOURCE_PATH "/jds-window.ui");
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, sidebar_button);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, open_button);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, export_button);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, controls);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, run_stack);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, status_page);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, source_picture);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, source_name_label);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, source_detail_label);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, progress_label);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, preview_view);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, player_box);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, player);
  gtk_widget_class_bind_template_child (widget_class, JdsWindow, sync_timeline);
  gtk_widget_class_bind_template_callback (widget_class, on_folded_changed);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0, "win.toggle-sidebar", NULL);
}

static void
jds_window_init (JdsWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_action_map_add_action_entries (G_ACTION_MAP (self), window_actions,
                                   G_N_ELEMENTS (window_actions), self);
  g_object_bind_property (self->flap, "reveal-flap", self->sidebar_button, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  adw_status_page_set_icon_name (self->status_page, JDS_APPLICATION_ID);
#if JDS_DEVELOPMENT
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif
  _jds_window_dnd_init (self);
  _jds_window_player_init (self);
  update_actions (self);
  update_source_detail (self);
  _jds_window_set_state (self, JDS_WINDOW_EMPTY);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
}

/* jds-application.c — settings, the worker, and the actions people and scripts use.
 *
 * The app. actions are the studio's D-Bus interface (`gapplication action`), and they run in
 * the order they arrive: open-image loads and checks the picture before it returns, generate
 * queues a run on the worker, and export queues a job behind it, so it writes the result of the
 * generation asked for before it. The model is loaded on the worker after startup, that is after
 * the application owns its bus name, so scripts can wait for the name and start at once. */
#include "jds-application.h"

#include <glib/gi18n.h>

#include "jd-build-config.h"
#include "jds-config.h"
#include "jds-preferences-window.h"
#include "jds-window.h"

struct _JdsApplication
{
  AdwApplication  parent_instance;
  GSettings      *settings;
  JdsWorker      *worker;
};

G_DEFINE_FINAL_TYPE (JdsApplication, jds_application, ADW_TYPE_APPLICATION)

GSettings *
jds_application_get_settings (JdsApplication *self)
{
  g_return_val_if_fail (JDS_IS_APPLICATION (self), NULL);
  return self->settings;
}

JdsWorker *
jds_application_get_worker (JdsApplication *self)
{
  g_return_val_if_fail (JDS_IS_APPLICATION (self), NULL);
  return self->worker;
}

static JdsWindow *
get_window (JdsApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (JDS_IS_WINDOW (window))
    return JDS_WINDOW (window);
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
    if (JDS_IS_WINDOW (l->data))
      return l->data;
  return jds_window_new (self);
}

/* ---- settings that reach the worker ---- */

static void
sync_guidance (JdsApplication *self)
{
  JdGuidance *guidance = jds_worker_get_guidance (self->worker);
  g_autofree char *mode_name = g_settings_get_string (self->settings, "guidance-mode");
  JdGuidanceMode mode = JD_GUIDANCE_JOINT_STAR;
  jd_guidance_mode_parse (mode_name, &mode);
  double omega_video = g_settings_get_double (self->settings, "omega-video");
  JdGuidanceSnapshot settings = {
    .mode = mode,
    .omega_video_first = g_settings_get_boolean (self->settings, "omega-video-ramp") ? 0.0
                                                                                    : omega_video,
    .omega_video_last = omega_video,
    .omega_audio = g_settings_get_double (self->settings, "omega-audio"),
  };
  /* The sampler takes a snapshot at each step, so this steers a running generation; all of it
   * in one call, so no step sees the new mode with the old scales or a ramp half made. The
   * schema's ranges keep the scales valid. */
  jd_guidance_set (guidance, &settings, NULL);
}

static void
sync_model (JdsApplication *self)
{
  g_autofree char *path = g_settings_get_string (self->settings, "model-path");
  g_autofree char *device_name = g_settings_get_string (self->settings, "device");
  JdDevice device = JD_DEVICE_AUTO;
  jd_device_parse (device_name, &device);
#ifndef JD_HAVE_CUDA
  if (device == JD_DEVICE_CUDA)
    device = JD_DEVICE_AUTO;
#endif
  jds_worker_set_model (self->worker, path, device, g_settings_get_int (self->settings, "threads"));
}

static void
on_settings_changed (GSettings      *settings,
                     const char     *key,
                     JdsApplication *self)
{
  if (g_str_equal (key, "guidance-mode") || g_str_has_prefix (key, "omega-"))
    sync_guidance (self);
  else if (g_str_equal (key, "model-path") || g_str_equal (key, "device")
           || g_str_equal (key, "threads"))
    sync_model (self);
}

/* ---- actions ---- */

static void
open_image_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  JdsApplication *self = user_data;
  JdsWindow *window = get_window (self);
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (g_variant_get_string (parameter, NULL));
  g_autoptr (GError) error = NULL;
  if (!jds_window_open_file (window, file, &error))
    g_warning ("open-image: %s", error->message);
  gtk_window_present (GTK_WINDOW (window));
}

static void
generate_action (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  jds_window_generate (get_window (user_data));
}

static void
cancel_action (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  jds_window_cancel (get_window (user_data));
}

static void
export_action (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (g_variant_get_string (parameter, NULL));
  g_autofree char *path = g_file_get_path (file);
  const char *given = g_variant_get_string (parameter, NULL);
  /* Keep a trailing slash: it asks for a folder of PNG frames. */
  g_autofree char *target = g_str_has_suffix (given, "/") ? g_strconcat (path, "/", NULL)
                                                          : g_strdup (path);
  jds_window_export (get_window (user_data), target, TRUE);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  JdsApplication *self = user_data;
  /* A script asked: no questions. Stop the run and close every window. */
  jds_worker_cancel (self->worker);
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));
  for (GList *l = windows; l; l = l->next)
    gtk_window_destroy (l->data);
  g_list_free (windows);
  g_application_quit (G_APPLICATION (self));
}

static void
reset_model_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  JdsApplication *self = user_data;
  g_settings_reset (self->settings, "model-path");
  g_settings_reset (self->settings, "device");
  sync_model (self);
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  JdsApplication *self = user_data;
  GtkWidget *preferences = jds_preferences_window_new (self->settings);
  gtk_window_set_transient_for (GTK_WINDOW (preferences), GTK_WINDOW (get_window (self)));
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  JdsApplication *self = user_data;
  static const char *developers[] = { "The JointDiT Studio developers", NULL };
  GtkWidget *about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                                   "transient-for", get_window (self),
                                   "application-icon", JDS_APPLICATION_ID,
                                   "application-name", _("JointDiT Studio"),
                                   "developer-name", _("The JointDiT Studio developers"),
                                   "version", JD_VERSION,
                                   "comments", _("Animate a still image and give it a matching sound. "
                                                 "Based on “Animate and Sound an Image” (JointDiT, CVPR 2025)."),
                                   "website", "https://github.com/jointdit/studio",
                                   "issue-url", "https://github.com/jointdit/studio/issues",
                                   "license-type", GTK_LICENSE_GPL_3_0,
                                   "developers", developers,
                                   /* Translators: your names, one per line */
                                   "translator-credits", _("translator-credits"),
                                   NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "open-image", open_image_action, "s" },
  { "generate", generate_action },
  { "cancel", cancel_action },
  { "export", export_action, "s" },
  { "quit", quit_action },
  { "reset-model", reset_model_action },
  { "preferences", preferences_action },
  { "about", about_action },
};

/* ---- GApplication ---- */

static void
jds_application_startup (GApplication *application)
{
  JdsApplication *self = JDS_APPLICATION (application);

  G_APPLICATION_CLASS (jds_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  static const struct { const char *action; const char *accels[3]; } accels[] = {
    { "app.generate", { "<Control>Return", "<Control>KP_Enter", NULL } },
    { "app.cancel", { "Escape", NULL } },
    { "app.quit", { "<Control>q", NULL } },
    { "app.preferences", { "<Control>comma", NULL } },
    { "win.open", { "<Control>o", NULL } },
    { "win.paste", { "<Control>v", NULL } },
    { "win.export", { "<Control>e", NULL } },
    { "win.copy-frame", { "<Control><Shift>c", NULL } },
    { "win.show-help-overlay", { "<Control>question", NULL } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action,
                                           accels[i].accels);

  self->settings = g_settings_new ("io.github.jointdit.Studio");
  self->worker = jds_worker_new ();
  g_signal_connect_object (self->settings, "changed", G_CALLBACK (on_settings_changed), self, 0);
  sync_guidance (self);
  /* Registration (the bus name) happened before startup, so scripts can already talk to us
   * while the model loads on the worker. */
  sync_model (self);
}

static void
jds_application_activate (GApplication *application)
{
  gtk_window_present (GTK_WINDOW (get_window (JDS_APPLICATION (application))));
}

static void
jds_application_open (GApplication  *application,
                      GFile        **files,
                      int            n_files,
                      const char    *hint)
{
  JdsWindow *window = get_window (JDS_APPLICATION (application));
  if (n_files > 0)
    jds_window_open_file (window, files[0], NULL);
  gtk_window_present (GTK_WINDOW (window));
}

static void
jds_application_shutdown (GApplication *application)
{
  JdsApplication *self = JDS_APPLICATION (application);
  /* Join the worker thread (it stops a run at its next step) before GTK goes away. */
  if (self->worker != NULL)
    g_object_run_dispose (G_OBJECT (self->worker));
  G_APPLICATION_CLASS (jds_application_parent_class)->shutdown (application);
}

static void
jds_application_finalize (GObject *object)
{
  JdsApplication *self = JDS_APPLICATION (object);
  g_clear_object (&self->worker);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (jds_application_parent_class)->finalize (object);
}

static void
jds_application_class_init (JdsApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = jds_application_finalize;
  app_class->startup = jds_application_startup;
  app_class->activate = jds_application_activate;
  app_class->open = jds_application_open;
  app_class->shutdown = jds_application_shutdown;
}

static void
jds_application_init (JdsApplication *self)
{
}

JdsApplication *
jds_application_new (const char        *application_id,
                     GApplicationFlags  flags)
{
  return g_object_new (JDS_TYPE_APPLICATION,
                       "application-id", application_id,
                       "flags", flags | G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", JDS_RESOURCE_PATH,
                       NULL);
}

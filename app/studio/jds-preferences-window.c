/* jds-preferences-window.c — the few settings that are not about one clip. */
#include "jds-preferences-window.h"

#include <glib/gi18n.h>

#include "jds-config.h"
#include "jds-controls.h"
#include "jds-worker.h"

struct _JdsPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;
  GtkAdjustment        *threads_adjustment;
  AdwActionRow         *threads_row;
  AdwComboRow          *device_row;
  AdwActionRow         *export_folder_row;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (JdsPreferencesWindow, jds_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
update_export_folder (JdsPreferencesWindow *self)
{
  g_autofree char *folder = g_settings_get_string (self->settings, "export-folder");
  const char *shown = folder[0] ? folder : g_get_user_special_dir (G_USER_DIRECTORY_VIDEOS);
  adw_action_row_set_subtitle (self->export_folder_row, shown ? shown : g_get_home_dir ());
}

static void
on_chooser_response (GtkNativeDialog      *dialog,
                     int                   response,
                     JdsPreferencesWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;
      if (path != NULL)
        g_settings_set_string (self->settings, "export-folder", path);
    }
  g_clear_object (&self->chooser);
}

static void
on_choose_folder_clicked (JdsPreferencesWindow *self)
{
  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Export Folder"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

GtkWidget *
jds_preferences_window_new (GSettings *settings)
{
  JdsPreferencesWindow *self = g_object_new (JDS_TYPE_PREFERENCES_WINDOW, NULL);
  self->settings = g_object_ref (settings);

  g_settings_bind (settings, "threads", self->threads_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  jds_device_fill_row (self->device_row);
  jds_bind_combo_row (settings, "device", self->device_row, jds_device_get_nicks ());

  g_autofree char *subtitle =
    g_strdup_printf (_("0 uses %d, one fewer than the cores, so the window stays smooth"),
                     jds_worker_default_threads ());
  adw_action_row_set_subtitle (self->threads_row, subtitle);
  g_signal_connect_object (settings, "changed::export-folder", G_CALLBACK (update_export_folder),
                           self, G_CONNECT_SWAPPED);
  update_export_folder (self);
  return GTK_WIDGET (self);
}

static void
jds_preferences_window_dispose (GObject *object)
{
  JdsPreferencesWindow *self = JDS_PREFERENCES_WINDOW (object);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), JDS_TYPE_PREFERENCES_WINDOW);
  G_OBJECT_CLASS (jds_preferences_window_parent_class)->dispose (object);
}

static void
jds_preferences_window_class_init (JdsPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jds_preferences_window_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               JDS_RESOURCE_PATH "/jds-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, JdsPreferencesWindow, threads_adjustment);
  gtk_widget_class_bind_template_child (widget_class, JdsPreferencesWindow, threads_row);
  gtk_widget_class_bind_template_child (widget_class, JdsPreferencesWindow, device_row);
  gtk_widget_class_bind_template_child (widget_class, JdsPreferencesWindow, export_folder_row);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_folder_clicked);
}

static void
jds_preferences_window_init (JdsPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

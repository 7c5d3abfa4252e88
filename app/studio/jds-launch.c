/* jds-launch.c — open an exported file, or show it in its folder.
 *
 * Both go through interfaces a sandbox forwards: GIO's default-application launch (the
 * OpenURI portal inside a Flatpak) and the session bus's org.freedesktop.FileManager1, whose
 * ShowItems names the file to select; without a file manager on the bus the folder is opened. */
#include "jds-launch.h"

#include <glib/gi18n.h>

static JdsLaunchUriFunc launch_uri = g_app_info_launch_default_for_uri_async;
static JdsLaunchUriFinishFunc launch_uri_finish = g_app_info_launch_default_for_uri_finish;

void
_jds_launch_set_uri_launcher (JdsLaunchUriFunc       launch,
                              JdsLaunchUriFinishFunc finish)
{
  g_return_if_fail ((launch == NULL) == (finish == NULL));
  launch_uri = launch ? launch : g_app_info_launch_default_for_uri_async;
  launch_uri_finish = finish ? finish : g_app_info_launch_default_for_uri_finish;
}

typedef struct
{
  GFile *file;
  GdkAppLaunchContext *context;
  void (*on_error) (const char *message, gpointer data);
  gpointer data;
} LaunchData;

static void
launch_data_free (LaunchData *launch)
{
  g_clear_object (&launch->file);
  g_clear_object (&launch->context);
  g_free (launch);
}

static LaunchData *
launch_data_new (GtkWidget *parent,
                 GFile     *file,
                 void     (*on_error) (const char *message, gpointer data),
                 gpointer   data)
{
  LaunchData *launch = g_new0 (LaunchData, 1);
  launch->file = g_object_ref (file);
  launch->context = gdk_display_get_app_launch_context (gtk_widget_get_display (parent));
  launch->on_error = on_error;
  launch->data = data;
  return launch;
}

static void
report (LaunchData   *launch,
        const GError *error)
{
  if (launch->on_error == NULL)
    return;
  g_autofree char *name = g_file_get_parse_name (launch->file);
  /* Translators: the first %s is a file or folder, the second why it could not be opened */
  g_autofree char *message = g_strdup_printf (_("Could not open “%s”: %s"), name, error->message);
  launch->on_error (message, launch->data);
}

static void
on_file_opened (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  LaunchData *launch = user_data;
  g_autoptr (GError) error = NULL;
  if (!launch_uri_finish (result, &error))
    report (launch, error);
  launch_data_free (launch);
}

void
jds_launch_open_file (GtkWidget  *parent,
                      GFile      *file,
                      void      (*on_error) (const char *message, gpointer data),
                      gpointer    data)
{
  LaunchData *launch = launch_data_new (parent, file, on_error, data);
  g_autofree char *uri = g_file_get_uri (file);
  launch_uri (uri, G_APP_LAUNCH_CONTEXT (launch->context), NULL, on_file_opened, launch);
}

static void
open_folder (LaunchData *launch)
{
  g_autoptr (GFile) folder = g_file_get_parent (launch->file);
  if (folder == NULL)
    {
      launch_data_free (launch);
      return;
    }
  g_set_object (&launch->file, folder);
  g_autofree char *uri = g_file_get_uri (folder);
  launch_uri (uri, G_APP_LAUNCH_CONTEXT (launch->context), NULL, on_file_opened, launch);
}

static void
on_items_shown (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  LaunchData *launch = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                                              &error);
  if (reply != NULL)
    {
      launch_data_free (launch);
      return;
    }
  /* No file manager that speaks FileManager1: open the folder itself. */
  g_debug ("FileManager1.ShowItems failed (%s); opening the folder", error->message);
  open_folder (launch);
}

void
jds_launch_show_in_folder (GtkWidget  *parent,
                           GFile      *file,
                           void      (*on_error) (const char *message, gpointer data),
                           gpointer    data)
{
  LaunchData *launch = launch_data_new (parent, file, on_error, data);
  g_autofree char *uri = g_file_get_uri (file);
  const char *uris[] = { uri, NULL };
  GApplication *application = g_application_get_default ();
  GDBusConnection *bus = application ? g_application_get_dbus_connection (application) : NULL;
  if (bus == NULL)
    {
      open_folder (launch);
      return;
    }
  g_dbus_connection_call (bus, "org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                          "org.freedesktop.FileManager1", "ShowItems",
                          g_variant_new ("(^ass)", uris, ""), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, on_items_shown, launch);
}

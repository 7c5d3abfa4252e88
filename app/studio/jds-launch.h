/* jds-launch.h — handing an exported file to the rest of the desktop: open it in the default
 * application, or show it selected in the file manager. (GtkFileLauncher is GTK 4.10; these use
 * GIO and D-Bus, which GTK 4.8 has, and reach the portals inside a Flatpak through GIO.) */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Opens file with the default application for its type. A failure becomes a toast-worthy
 * sentence passed to on_error (may be NULL) with data. */
void jds_launch_open_file      (GtkWidget  *parent,
                                GFile      *file,
                                void      (*on_error) (const char *message, gpointer data),
                                gpointer    data);

/* Shows file selected in the file manager (org.freedesktop.FileManager1.ShowItems); when no
 * file manager answers, opens the folder that holds it instead. */
void jds_launch_show_in_folder (GtkWidget  *parent,
                                GFile      *file,
                                void      (*on_error) (const char *message, gpointer data),
                                gpointer    data);

/* For tests: what opens a URI in its default application, in place of
 * g_app_info_launch_default_for_uri_async() and its _finish() (both NULL: those again). The
 * tests see the URIs the desktop would be asked to open without starting any program. */
typedef void     (*JdsLaunchUriFunc)       (const char          *uri,
                                            GAppLaunchContext   *context,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
typedef gboolean (*JdsLaunchUriFinishFunc) (GAsyncResult        *result,
                                            GError             **error);
void _jds_launch_set_uri_launcher (JdsLaunchUriFunc       launch,
                                   JdsLaunchUriFinishFunc finish);

G_END_DECLS

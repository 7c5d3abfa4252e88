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

G_END_DECLS

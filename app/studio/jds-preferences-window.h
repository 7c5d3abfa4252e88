/* jds-preferences-window.h — threads, device and the export folder. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define JDS_TYPE_PREFERENCES_WINDOW (jds_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (JdsPreferencesWindow, jds_preferences_window, JDS, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

GtkWidget *jds_preferences_window_new (GSettings *settings);

G_END_DECLS

/* jds-application.h — the studio application: settings, the engine's worker thread, and the
 * app. actions that are reachable over D-Bus (open-image, generate, cancel, export, quit). */
#pragma once

#include <adwaita.h>

#include "jds-worker.h"

G_BEGIN_DECLS

#define JDS_TYPE_APPLICATION (jds_application_get_type ())
G_DECLARE_FINAL_TYPE (JdsApplication, jds_application, JDS, APPLICATION, AdwApplication)

JdsApplication *jds_application_new          (const char     *application_id,
                                              GApplicationFlags flags);
GSettings      *jds_application_get_settings (JdsApplication *self);
JdsWorker      *jds_application_get_worker   (JdsApplication *self);

G_END_DECLS

/* jd-data-paths.h — where the programs find their data. An environment variable, set by
 * `meson devenv` and by `meson test` when running from the build tree, comes before the
 * installed location. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* $JOINTDIT_MODEL, else the installed default model bundle. */
const char *jd_data_default_model_path (void);

G_END_DECLS

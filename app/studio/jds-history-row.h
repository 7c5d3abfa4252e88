/* jds-history-row.h — one generation in the history list: a thumbnail and its settings. */
#pragma once

#include <adwaita.h>

#include "jds-result.h"

G_BEGIN_DECLS

#define JDS_TYPE_HISTORY_ROW (jds_history_row_get_type ())
G_DECLARE_FINAL_TYPE (JdsHistoryRow, jds_history_row, JDS, HISTORY_ROW, AdwActionRow)

GtkWidget *jds_history_row_new        (JdsResult     *result);
JdsResult *jds_history_row_get_result (JdsHistoryRow *self);

G_END_DECLS

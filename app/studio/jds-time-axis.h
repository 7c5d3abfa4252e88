/* jds-time-axis.h — a ruler under the spectrogram: ticks and labels in seconds. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define JDS_TYPE_TIME_AXIS (jds_time_axis_get_type ())
G_DECLARE_FINAL_TYPE (JdsTimeAxis, jds_time_axis, JDS, TIME_AXIS, GtkWidget)

GtkWidget *jds_time_axis_new         (void);
void       jds_time_axis_set_seconds (JdsTimeAxis *self,
                                      double       seconds);
double     jds_time_axis_get_seconds (JdsTimeAxis *self);
/* The tick spacing in seconds for a span (1, 2 or 5 × a power of ten, about 4–10 ticks). */
double     jds_time_axis_tick_step   (double       seconds);

G_END_DECLS

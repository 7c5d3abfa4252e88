/* jds-compare-window.h — the same image and seed across several guidance scales or modes,
 * side by side and looping in step: the tool for tuning guidance. */
#pragma once

#include <adwaita.h>

#include "jds-application.h"

G_BEGIN_DECLS

#define JDS_TYPE_COMPARE_WINDOW (jds_compare_window_get_type ())
G_DECLARE_FINAL_TYPE (JdsCompareWindow, jds_compare_window, JDS, COMPARE_WINDOW, AdwWindow)

typedef enum
{
  JDS_COMPARE_OMEGA,  /* vary ω (picture and sound together), keep the mode */
  JDS_COMPARE_MODE,   /* vary the guidance mode, keep ω */
} JdsCompareKind;

/* Compares on image (name for messages) with the application's current settings. */
GtkWidget *jds_compare_window_new      (JdsApplication *application,
                                        GBytes         *image,
                                        const char     *image_name);
/* Starts a comparison; for JDS_COMPARE_OMEGA, omegas is a list like "1, 2, 4". FALSE (with a
 * toast) when the list cannot be read. */
gboolean   jds_compare_window_start    (JdsCompareWindow *self,
                                        JdsCompareKind    kind,
                                        const char       *omegas);
guint      jds_compare_window_get_n_done  (JdsCompareWindow *self);
guint      jds_compare_window_get_n_total (JdsCompareWindow *self);
/* The result in column i (NULL until it is done). */
gpointer   jds_compare_window_get_result  (JdsCompareWindow *self,
                                           guint             i);

/* Makes column i (its clip done) the audible one, as its speaker toggle does: the position and
 * the playing state carry over from the column heard before. */
void       jds_compare_window_set_audible (JdsCompareWindow *self,
                                           guint             i);
/* The audible column, or -1 before any clip is done. */
int        jds_compare_window_get_audible (JdsCompareWindow *self);
/* Column i's player (NULL until its clip is done); only the audible one plays. The window
 * action "compare.play" plays or pauses it. */
GtkMediaStream *jds_compare_window_get_stream (JdsCompareWindow *self,
                                               guint             i);
GtkWidget *jds_compare_window_get_speaker (JdsCompareWindow *self,
                                           guint             i);
/* The frame index column i shows now (for tests). */
int        jds_compare_window_get_shown_frame (JdsCompareWindow *self,
                                               guint             i);

G_END_DECLS

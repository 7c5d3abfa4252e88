/* jds-window.h — the main window: the start screen that invites a drop, the controls, and the
 * work view where frames and spectrogram form while the worker samples. */
#pragma once

#include <adwaita.h>

#include "jds-application.h"
#include "jds-result.h"
#include "jds-clip-stream.h"

G_BEGIN_DECLS

typedef enum
{
  JDS_WINDOW_EMPTY,      /* no image yet: "Drop an image to animate" */
  JDS_WINDOW_READY,      /* an image, no clip running */
  JDS_WINDOW_RUNNING,    /* the worker samples; previews arrive */
  JDS_WINDOW_FINISHED,   /* a result is shown */
  JDS_WINDOW_MODEL_ERROR /* the model could not be loaded */
} JdsWindowState;

#define JDS_TYPE_WINDOW_STATE (jds_window_state_get_type ())
GType jds_window_state_get_type (void) G_GNUC_CONST;

#define JDS_TYPE_WINDOW (jds_window_get_type ())
G_DECLARE_FINAL_TYPE (JdsWindow, jds_window, JDS, WINDOW, AdwApplicationWindow)

JdsWindow      *jds_window_new         (JdsApplication *application);
/* Loads a picture (checked and shown at once, so a following generate uses it). Errors name
 * the file; the window also shows them as a toast. */
gboolean        jds_window_open_file   (JdsWindow      *self,
                                        GFile          *file,
                                        GError        **error);
gboolean        jds_window_open_bytes  (JdsWindow      *self,
                                        GBytes         *bytes,
                                        const char     *name,
                                        GError        **error);
gboolean        jds_window_open_texture (JdsWindow     *self,
                                         GdkTexture    *texture,
                                         const char    *name,
                                         GError       **error);
void            jds_window_generate    (JdsWindow      *self);
void            jds_window_cancel      (JdsWindow      *self);
/* Exports the shown result, or with latest the newest result (after a running generation). */
void            jds_window_export      (JdsWindow      *self,
                                        const char     *path,
                                        gboolean        latest);
void            jds_window_add_toast   (JdsWindow      *self,
                                        const char     *message);
JdsWindowState  jds_window_get_state   (JdsWindow      *self);
JdsResult      *jds_window_get_result  (JdsWindow      *self);
/* The player's stream of the clip shown (NULL before a result). */
JdsClipStream  *jds_window_get_stream  (JdsWindow      *self);
/* The GtkVideo that shows it. */
GtkWidget      *jds_window_get_player  (JdsWindow      *self);
/* The sync readout under the player (a JdsSyncTimeline). */
GtkWidget      *jds_window_get_sync_timeline (JdsWindow *self);
/* For tests: the parts they look at. */
GtkWidget      *jds_window_get_preview_view (JdsWindow *self);
GtkWidget      *jds_window_get_controls     (JdsWindow *self);
GtkWidget      *jds_window_get_drop_widget  (JdsWindow *self);
GtkDropTarget  *jds_window_get_drop_target  (JdsWindow *self);
const char     *jds_window_get_progress_text (JdsWindow *self);

G_END_DECLS

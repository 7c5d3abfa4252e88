/* jds-window-private.h — what the files of JdsWindow share. */
#pragma once

#include "jds-window.h"
#include "jds-controls.h"
#include "jds-preview-view.h"
#include "jds-clip-stream.h"
#include "jds-sync-timeline.h"

G_BEGIN_DECLS

struct _JdsWindow
{
  AdwApplicationWindow parent_instance;

  /* Template children. */
  AdwToastOverlay   *toast_overlay;
  AdwWindowTitle    *window_title;
  AdwFlap           *flap;
  GtkToggleButton   *sidebar_button;
  GtkWidget         *open_button;
  GtkWidget         *export_button;
  JdsControls       *controls;
  GtkStack          *main_stack;
  GtkStack          *run_stack;
  AdwStatusPage     *status_page;
  AdwStatusPage     *error_page;
  GtkPicture        *source_picture;
  GtkLabel          *source_name_label;
  GtkLabel          *source_detail_label;
  GtkProgressBar    *progress_bar;
  GtkLabel          *progress_label;
  JdsPreviewView    *preview_view;
  GtkWidget         *player_box;
  GtkVideo          *player;

  JdsApplication    *application;
  GSettings         *settings;
  JdsWorker         *worker;

  JdsWindowState     state;
  GBytes            *image_bytes;
  char              *image_name;
  JdsResult         *result;
  guint              mailbox_tick;
  guint              fold_idle;
  guint              inhibit_cookie;
  gboolean           close_confirmed;
  GtkFileChooserNative *chooser;
  GtkDropTarget     *drop_target;

  /* The player (jds-window-player.c). */
  JdsClipStream     *stream;
  JdsSyncTimeline   *sync_timeline;
  char              *drag_path;          /* the MP4 written for a drag, removed with its clip */
  gboolean           silent_toast_shown;
};

/* jds-window-dnd.c: the drop target, the clipboard and the open dialog. */
void _jds_window_dnd_init      (JdsWindow *self);
void _jds_window_open_dialog   (JdsWindow *self);
void _jds_window_paste         (JdsWindow *self);
void _jds_window_set_state     (JdsWindow *self,
                                JdsWindowState state);

/* jds-window-player.c: the finished clip in the player, copying frames, dragging it out. */
void _jds_window_player_init    (JdsWindow *self);
void _jds_window_player_dispose (JdsWindow *self);
/* result NULL: hide the player. */
void _jds_window_player_show    (JdsWindow *self,
                                 JdsResult *result);
void _jds_window_player_toggle  (JdsWindow *self);
void _jds_window_copy_frame     (JdsWindow *self);
/* What a drag from the player offers (the clip as an MP4 file and the frame); for tests too. */
GdkContentProvider *_jds_window_player_drag_content (JdsWindow *self);

G_END_DECLS

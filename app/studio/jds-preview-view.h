/* jds-preview-view.h — what a generation looks like while it forms and when it is done: a
 * looping preview of the frames, the spectrogram with a time axis, and every frame in a strip. */
#pragma once

#include <gtk/gtk.h>

#include "jds-frames.h"

G_BEGIN_DECLS

#define JDS_TYPE_PREVIEW_VIEW (jds_preview_view_get_type ())
G_DECLARE_FINAL_TYPE (JdsPreviewView, jds_preview_view, JDS, PREVIEW_VIEW, GtkWidget)

/* frames NULL clears the view. */
void       jds_preview_view_set_frames  (JdsPreviewView *self,
                                         JdsFrames      *frames);
JdsFrames *jds_preview_view_get_frames  (JdsPreviewView *self);
/* Stack the preview and the spectrogram (narrow windows) instead of placing them side by side. */
void       jds_preview_view_set_compact (JdsPreviewView *self,
                                         gboolean        compact);
/* Whether the canvases draw through GL, and how many pictures the loop has shown (tests). */
gboolean   jds_preview_view_get_uses_gl (JdsPreviewView *self);
guint      jds_preview_view_get_serial  (JdsPreviewView *self);

G_END_DECLS

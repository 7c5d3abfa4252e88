/* jds-preview-view.c — three canvases fed from one JdsFrames; the loop advances on the frame
 * clock at the clip's frame rate. */
#include "jds-preview-view.h"

#include <glib/gi18n.h>

#include "jds-config.h"
#include "jds-canvas.h"
#include "jds-time-axis.h"

struct _JdsPreviewView
{
  GtkWidget    parent_instance;

  GtkWidget   *layout;
  GtkWidget   *top_row;
  JdsCanvas   *loop;
  JdsCanvas   *spectrogram;
  JdsCanvas   *filmstrip;
  JdsTimeAxis *time_axis;
  GtkWidget   *step_label;

  JdsFrames   *frames;
  GBytes     **frame_bytes;  /* one GBytes per frame, sliced from frames->frames */
  int          shown_frame;
  gint64       loop_start_us;
  guint        tick_id;
};

G_DEFINE_FINAL_TYPE (JdsPreviewView, jds_preview_view, GTK_TYPE_WIDGET)

static void
show_frame (JdsPreviewView *self,
            int             index)
{
  self->shown_frame = index;
  jds_canvas_set_image (self->loop, self->frames->width, self->frames->height,
                        self->frame_bytes[index]);
}

static gboolean
on_tick (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  JdsPreviewView *self = JDS_PREVIEW_VIEW (widget);
  if (self->frames == NULL || self->frames->n_frames < 2)
    return G_SOURCE_CONTINUE;
  gint64 now = gdk_frame_clock_get_frame_time (clock);
  if (self->loop_start_us == 0)
    self->loop_start_us = now;
  double fps = self->frames->fps > 0 ? self->frames->fps : 12.5;
  int index = (int) ((now - self->loop_start_us) / 1e6 * fps) % self->frames->n_frames;
  if (index != self->shown_frame)
    show_frame (self, index);
  return G_SOURCE_CONTINUE;
}

static void
clear_frame_bytes (JdsPreviewView *self)
{
  if (self->frame_bytes == NULL)
    return;
  for (int i = 0; i < self->frames->n_frames; i++)
    g_bytes_unref (self->frame_bytes[i]);
  g_clear_pointer (&self->frame_bytes, g_free);
}

void
jds_preview_view_set_frames (JdsPreviewView *self,
                             JdsFrames      *frames)
{
  g_return_if_fail (JDS_IS_PREVIEW_VIEW (self));

  if (frames != NULL)
    jds_frames_ref (frames);
  clear_frame_bytes (self);
  g_clear_pointer (&self->frames, jds_frames_unref);
  self->frames = frames;
  /* Empty canvases are black boxes that say nothing: the view appears with the first preview. */
  gtk_widget_set_visible (self->layout, frames != NULL);

  if (frames == NULL)
    {
      jds_canvas_set_image (self->loop, 0, 0, NULL);
      jds_canvas_set_image (self->filmstrip, 0, 0, NULL);
      jds_canvas_set_image (self->spectrogram, 0, 0, NULL);
      jds_time_axis_set_seconds (self->time_axis, 0);
      gtk_label_set_label (GTK_LABEL (self->step_label), "");
      return;
    }

  gsize frame_size = (gsize) frames->width * frames->height * 4;
  self->frame_bytes = g_new (GBytes *, frames->n_frames);
  for (int i = 0; i < frames->n_frames; i++)
    self->frame_bytes[i] = g_bytes_new_from_bytes (frames->frames, i * frame_size, frame_size);
  show_frame (self, MIN (self->shown_frame, frames->n_frames - 1));

  int strip_width, strip_height;
  g_autoptr (GBytes) strip = jds_frames_make_strip (frames, &strip_width, &strip_height);
  jds_canvas_set_image (self->filmstrip, strip_width, strip_height, strip);
  jds_canvas_set_image (self->spectrogram, frames->mel_width, frames->mel_height, frames->mel);
  jds_time_axis_set_seconds (self->time_axis, frames->seconds);

  if (frames->step < frames->total)
    {
      /* Translators: the preview shows the model's guess of the clean clip at this step */
      g_autofree char *text = g_strdup_printf (_("Estimate at step %d of %d"), frames->step,
                                               frames->total);
      gtk_label_set_label (GTK_LABEL (self->step_label), text);
    }
  else
    gtk_label_set_label (GTK_LABEL (self->step_label),
                         _("Result"));
}

JdsFrames *
jds_preview_view_get_frames (JdsPreviewView *self)
{
  g_return_val_if_fail (JDS_IS_PREVIEW_VIEW (self), NULL);
  return self->frames;
}

void
jds_preview_view_set_compact (JdsPreviewView *self,
                              gboolean        compact)
{
  g_return_if_fail (JDS_IS_PREVIEW_VIEW (self));
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self->top_row),
                                  compact ? GTK_ORIENTATION_VERTICAL
                                          : GTK_ORIENTATION_HORIZONTAL);
}

gboolean
jds_preview_view_get_uses_gl (JdsPreviewView *self)
{
  g_return_val_if_fail (JDS_IS_PREVIEW_VIEW (self), FALSE);
  return jds_canvas_get_uses_gl (self->loop)
         && jds_canvas_get_uses_gl (self->spectrogram)
         && jds_canvas_get_uses_gl (self->filmstrip);
}

guint
jds_preview_view_get_serial (JdsPreviewView *self)
{
  g_return_val_if_fail (JDS_IS_PREVIEW_VIEW (self), 0);
  return jds_canvas_get_serial (self->filmstrip);
}

static void
jds_preview_view_map (GtkWidget *widget)
{
  JdsPreviewView *self = JDS_PREVIEW_VIEW (widget);
  GTK_WIDGET_CLASS (jds_preview_view_parent_class)->map (widget);
  self->tick_id = gtk_widget_add_tick_callback (widget, on_tick, NULL, NULL);
}

static void
jds_preview_view_unmap (GtkWidget *widget)
{
  JdsPreviewView *self = JDS_PREVIEW_VIEW (widget);
  if (self->tick_id)
    gtk_widget_remove_tick_callback (widget, self->tick_id);
  self->tick_id = 0;
  GTK_WIDGET_CLASS (jds_preview_view_parent_class)->unmap (widget);
}

static void
jds_preview_view_dispose (GObject *object)
{
  JdsPreviewView *self = JDS_PREVIEW_VIEW (object);
  clear_frame_bytes (self);
  g_clear_pointer (&self->frames, jds_frames_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), JDS_TYPE_PREVIEW_VIEW);
  G_OBJECT_CLASS (jds_preview_view_parent_class)->dispose (object);
}

static void
jds_preview_view_class_init (JdsPreviewViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jds_preview_view_dispose;
  widget_class->map = jds_preview_view_map;
  widget_class->unmap = jds_preview_view_unmap;

  g_type_ensure (JDS_TYPE_CANVAS);
  g_type_ensure (JDS_TYPE_TIME_AXIS);
  gtk_widget_class_set_template_from_resource (widget_class, JDS_RESOURCE_PATH "/jds-preview-view.ui");
  gtk_widget_class_bind_template_child (widget_class, JdsPreviewView, layout);
  gtk_widget_class_bind_template_child (widget_class, JdsPreviewView, top_row);
  gtk_widget_class_bind_template_child (widget_class, JdsPreviewView, loop);
  gtk_widget_class_bind_template_child (widget_class, JdsPreviewView, spectrogram);
  gtk_widget_class_bind_template_child (widget_class, JdsPreviewView, filmstrip);
  gtk_widget_class_bind_template_child (widget_class, JdsPreviewView, time_axis);
  gtk_widget_class_bind_template_child (widget_class, JdsPreviewView, step_label);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
jds_preview_view_init (JdsPreviewView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_set_visible (self->layout, FALSE);
}

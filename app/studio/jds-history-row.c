/* jds-history-row.c — a thumbnail of the clip's middle frame and a line of its settings. */
#include "jds-history-row.h"

#include <glib/gi18n.h>
#include <string.h>

#include "jds-config.h"

struct _JdsHistoryRow
{
  AdwActionRow  parent_instance;
  GtkPicture   *thumbnail;
  JdsResult    *result;
};

G_DEFINE_FINAL_TYPE (JdsHistoryRow, jds_history_row, ADW_TYPE_ACTION_ROW)

static const char *
mode_label (JdGuidanceMode mode)
{
  switch (mode)
    {
    case JD_GUIDANCE_NONE: return _("None");
    case JD_GUIDANCE_CFG: return _("CFG");
    case JD_GUIDANCE_JOINT: return _("JointCFG");
    case JD_GUIDANCE_JOINT_STAR: return _("JointCFG*");
    default: return "";
    }
}

/* The middle frame, upscaled 4× without smoothing so a 64 × 64 frame stays crisp. */
static GdkTexture *
make_thumbnail (const JdsFrames *frames)
{
  const int factor = 4;
  int w = frames->width * factor, h = frames->height * factor;
  const guint8 *src = jds_frames_get_frame (frames, frames->n_frames / 2);
  guint8 *out = g_malloc ((gsize) w * h * 4);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      memcpy (out + ((gsize) y * w + x) * 4,
              src + ((gsize) (y / factor) * frames->width + x / factor) * 4, 4);
  g_autoptr (GBytes) bytes = g_bytes_new_take (out, (gsize) w * h * 4);
  return gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8A8, bytes, (gsize) w * 4);
}

GtkWidget *
jds_history_row_new (JdsResult *result)
{
  JdsHistoryRow *self = g_object_new (JDS_TYPE_HISTORY_ROW, NULL);
  self->result = jds_result_ref (result);

  g_autoptr (GdkTexture) thumbnail = make_thumbnail (result->frames);
  gtk_picture_set_paintable (self->thumbnail, GDK_PAINTABLE (thumbnail));
  /* Translators: a clip in the history, e.g. "Seed 42 · JointCFG*" */
  char seed[32];
  g_snprintf (seed, sizeof seed, "%" G_GUINT64_FORMAT, result->seed);
  g_autofree char *title = g_strdup_printf (_("Seed %s · %s"), seed, mode_label (result->mode));
  g_autofree char *subtitle = NULL;
  if (result->omega_video_first != result->omega_video)
    /* Translators: guidance of a clip in the history: the picture's ω ramping from the first
     * frame to the last, the sound's ω, the steps and the picture's name */
    subtitle = g_strdup_printf (_("ω %.1f→%.1f / %.1f · %d steps · %s"),
                                result->omega_video_first, result->omega_video,
                                result->omega_audio, result->steps, result->source_name);
  else
    subtitle = g_strdup_printf (_("ω %.1f / %.1f · %d steps · %s"), result->omega_video,
                                result->omega_audio, result->steps, result->source_name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
  return GTK_WIDGET (self);
}

JdsResult *
jds_history_row_get_result (JdsHistoryRow *self)
{
  g_return_val_if_fail (JDS_IS_HISTORY_ROW (self), NULL);
  return self->result;
}

static void
jds_history_row_dispose (GObject *object)
{
  JdsHistoryRow *self = JDS_HISTORY_ROW (object);
  g_clear_pointer (&self->result, jds_result_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), JDS_TYPE_HISTORY_ROW);
  G_OBJECT_CLASS (jds_history_row_parent_class)->dispose (object);
}

static void
jds_history_row_class_init (JdsHistoryRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jds_history_row_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               JDS_RESOURCE_PATH "/jds-history-row.ui");
  gtk_widget_class_bind_template_child (widget_class, JdsHistoryRow, thumbnail);
}

static void
jds_history_row_init (JdsHistoryRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* jds-window-player.c — the finished clip in the window's player: a JdsClipStream (sound-driven,
 * crisp frames) in the GtkVideo, Space to play or pause, copying the current frame, and dragging
 * the clip (as an MP4) or the frame (as a picture) out to other apps. */
#include "jds-window-private.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "jd-export.h"
#include "jds-keys.h"
#include "jds-sound.h"

static void
on_silent_reason (JdsClipStream *stream,
                  GParamSpec    *pspec,
                  JdsWindow     *self)
{
  const char *reason = jds_clip_stream_get_silent_reason (stream);
  /* Said once per window: every new clip would otherwise repeat it. */
  if (reason != NULL && !self->silent_toast_shown)
    {
      self->silent_toast_shown = TRUE;
      jds_window_add_toast (self, jds_sound_translate_silent_reason (reason));
    }
}

static void
forget_drag_file (JdsWindow *self)
{
  if (self->drag_path != NULL)
    g_unlink (self->drag_path);
  g_clear_pointer (&self->drag_path, g_free);
}

void
_jds_window_player_show (JdsWindow *self,
                         JdsResult *result)
{
  if (self->stream != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->stream, self);
      gtk_media_stream_pause (GTK_MEDIA_STREAM (self->stream));
    }
  gtk_video_set_media_stream (self->player, NULL);
  g_clear_object (&self->stream);
  forget_drag_file (self);

  if (result == NULL || result->clip == NULL || result->clip->n_frames <= 0)
    {
      jds_sync_timeline_set_clip (self->sync_timeline, NULL);
      gtk_widget_set_visible (self->player_box, FALSE);
      return;
    }
  self->stream = jds_clip_stream_new (result->clip);
  if (self->stream == NULL)
    {
      jds_sync_timeline_set_clip (self->sync_timeline, NULL);
      gtk_widget_set_visible (self->player_box, FALSE);
      return;
    }
  jds_sync_timeline_set_clip (self->sync_timeline, result->clip);
  jds_sync_timeline_follow_stream (self->sync_timeline, GTK_MEDIA_STREAM (self->stream));
  jds_clip_stream_set_audio_device (self->stream, jds_sound_device_from_environment ());
  gtk_media_stream_set_loop (GTK_MEDIA_STREAM (self->stream), TRUE);
  g_signal_connect (self->stream, "notify::silent-reason", G_CALLBACK (on_silent_reason), self);
  gtk_video_set_media_stream (self->player, GTK_MEDIA_STREAM (self->stream));
  gtk_widget_set_visible (self->player_box, TRUE);
}

GtkWidget *
jds_window_get_sync_timeline (JdsWindow *self)
{
  g_return_val_if_fail (JDS_IS_WINDOW (self), NULL);
  return GTK_WIDGET (self->sync_timeline);
}

JdsClipStream *
jds_window_get_stream (JdsWindow *self)
{
  g_return_val_if_fail (JDS_IS_WINDOW (self), NULL);
  return self->stream;
}

GtkWidget *
jds_window_get_player (JdsWindow *self)
{
  g_return_val_if_fail (JDS_IS_WINDOW (self), NULL);
  return GTK_WIDGET (self->player);
}

void
_jds_window_player_toggle (JdsWindow *self)
{
  if (self->stream == NULL)
    return;
  GtkMediaStream *stream = GTK_MEDIA_STREAM (self->stream);
  gtk_media_stream_set_playing (stream, !gtk_media_stream_get_playing (stream));
}

void
_jds_window_copy_frame (JdsWindow *self)
{
  if (self->stream == NULL)
    return;
  g_autoptr (GdkTexture) frame = jds_clip_stream_copy_current_frame (self->stream, 1);
  gdk_clipboard_set_texture (gtk_widget_get_clipboard (GTK_WIDGET (self)), frame);
  jds_window_add_toast (self, _("Frame copied"));
}

/* Space plays or pauses while the focus is in the player; the player's own buttons and every
 * other widget (buttons, spin buttons) keep Space for themselves because they handle it first
 * (this controller runs in the bubble phase, after the focused widget). */
static gboolean
on_player_key (GtkEventControllerKey *controller,
               guint                  keyval,
               guint                  keycode,
               GdkModifierType        state,
               JdsWindow             *self)
{
  if (jds_key_is_play_pause (keyval, state))
    {
      _jds_window_player_toggle (self);
      return TRUE;
    }
  return FALSE;
}

static void
on_player_pressed (GtkGestureClick *gesture,
                   int              n_press,
                   double           x,
                   double           y,
                   JdsWindow       *self)
{
  /* A click on the picture makes the player the context for Space. */
  gtk_widget_grab_focus (self->player_box);
}

/* The clip as an MP4 in the user's cache folder, written when a drag starts (quick for a clip
 * this size) and removed when the next clip replaces it. */
static GFile *
export_for_drag (JdsWindow *self)
{
  if (self->drag_path != NULL && g_file_test (self->drag_path, G_FILE_TEST_EXISTS))
    return g_file_new_for_path (self->drag_path);
  if (self->result == NULL)
    return NULL;

  g_autofree char *folder = g_build_filename (g_get_user_cache_dir (), "jointdit-studio", "drag",
                                              NULL);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    return NULL;
  g_autofree char *name = jd_export_suggest_name (self->result->source_name, self->result->seed,
                                                  JD_EXPORT_MP4);
  g_autofree char *path = g_build_filename (folder, name, NULL);
  JdMediaSettings settings = jds_result_media_settings (self->result);
  g_autoptr (GError) error = NULL;
  if (!jd_export_result (self->result->clip, &settings, path, NULL, &error))
    {
      jds_window_add_toast (self, error->message);
      return NULL;
    }
  self->drag_path = g_steal_pointer (&path);
  return g_file_new_for_path (self->drag_path);
}

static GdkContentProvider *
on_drag_prepare (GtkDragSource *source,
                 double         x,
                 double         y,
                 JdsWindow     *self)
{
  if (self->stream == NULL)
    return NULL;
  g_autoptr (GPtrArray) providers = g_ptr_array_new ();
  g_autoptr (GFile) file = export_for_drag (self);
  if (file != NULL)
    g_ptr_array_add (providers, gdk_content_provider_new_typed (G_TYPE_FILE, file));
  g_autoptr (GdkTexture) frame = jds_clip_stream_copy_current_frame (self->stream, 1);
  g_ptr_array_add (providers, gdk_content_provider_new_typed (GDK_TYPE_TEXTURE, frame));
  return gdk_content_provider_new_union ((GdkContentProvider **) providers->pdata,
                                         providers->len);
}

static void
on_drag_begin (GtkDragSource *source,
               GdkDrag       *drag,
               JdsWindow     *self)
{
  if (self->stream == NULL)
    return;
  g_autoptr (GdkTexture) icon = jds_clip_stream_copy_current_frame (self->stream, 1);
  gtk_drag_source_set_icon (source, GDK_PAINTABLE (icon), 0, 0);
}

GdkContentProvider *
_jds_window_player_drag_content (JdsWindow *self)
{
  return on_drag_prepare (NULL, 0, 0, self);
}

void
_jds_window_player_init (JdsWindow *self)
{
  gtk_widget_set_focusable (self->player_box, TRUE);

  GtkEventController *keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_player_key), self);
  gtk_widget_add_controller (self->player_box, keys);

  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (on_player_pressed), self);
  gtk_widget_add_controller (self->player_box, GTK_EVENT_CONTROLLER (click));

  GtkDragSource *drag = gtk_drag_source_new ();
  gtk_drag_source_set_actions (drag, GDK_ACTION_COPY);
  g_signal_connect (drag, "prepare", G_CALLBACK (on_drag_prepare), self);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  gtk_widget_add_controller (GTK_WIDGET (self->player), GTK_EVENT_CONTROLLER (drag));
}

void
_jds_window_player_dispose (JdsWindow *self)
{
  if (self->stream != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->stream, self);
      gtk_media_stream_pause (GTK_MEDIA_STREAM (self->stream));
    }
  g_clear_object (&self->stream);
  forget_drag_file (self);
}

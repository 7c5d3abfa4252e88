/* jds-compare-window.c — queues one generation per column on the worker (each with guidance of
 * its own, so steering the main window does not disturb it) and shows each result as it arrives.
 *
 * Sound: each finished column gets a JdsClipStream, and one column at a time is audible (its
 * speaker toggle is on and its column outlined). Only the audible stream ever plays; on every
 * frame each column shows the frame of the audible stream's audio clock (wrapped at its own
 * length), so picture and sound stay in step whichever clip is heard. Switching the audible
 * column carries the position and the playing state over. PortAudio opens on the first Play,
 * never before (JdsAudioOutput), and without a device the silent clock drives the columns. */
#include "jds-compare-window.h"

#include <glib/gi18n.h>
#include <math.h>

#include "jds-canvas.h"
#include "jds-clip-stream.h"
#include "jds-config.h"
#include "jds-keys.h"
#include "jds-result.h"
#include "jds-sound.h"

typedef struct
{
  GtkWidget     *box;
  GtkWidget     *label;
  GtkWidget     *speaker;   /* GtkToggleButton, grouped: one column at a time is audible */
  char          *title;
  JdsCanvas     *loop;
  JdsCanvas     *spectrogram;
  JdsResult     *result;
  JdsClipStream *stream;    /* NULL until the result arrives */
  GBytes       **frame_bytes;
  int            shown;
} Column;

struct _JdsCompareWindow
{
  AdwWindow        parent_instance;

  AdwToastOverlay *toast_overlay;
  AdwWindowTitle  *window_title;
  AdwComboRow     *kind_row;
  AdwEntryRow     *omegas_row;
  GtkWidget       *start_button;
  GtkWidget       *cancel_button;
  GtkWidget       *play_button;
  GtkLabel        *status_label;
  GtkBox          *columns_box;

  JdsApplication  *application;
  GBytes          *image;
  char            *image_name;
  GArray          *columns;   /* Column */
  guint            batch;
  guint            n_done;
  guint            tick_id;
  int              audible;   /* column index, -1: none yet */
  gboolean         silent_toast_shown;
};

G_DEFINE_FINAL_TYPE (JdsCompareWindow, jds_compare_window, ADW_TYPE_WINDOW)

static guint next_batch = 1;

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

static void update_play_button (JdsCompareWindow *self);

static void
clear_columns (JdsCompareWindow *self)
{
  self->audible = -1;
  for (guint i = 0; i < self->columns->len; i++)
    {
      Column *column = &g_array_index (self->columns, Column, i);
      if (column->stream != NULL)
        {
          g_signal_handlers_disconnect_by_data (column->stream, self);
          gtk_media_stream_pause (GTK_MEDIA_STREAM (column->stream));
          g_clear_object (&column->stream);
        }
      g_clear_pointer (&column->title, g_free);
      if (column->frame_bytes != NULL)
        for (int f = 0; f < column->result->frames->n_frames; f++)
          g_bytes_unref (column->frame_bytes[f]);
      g_clear_pointer (&column->frame_bytes, g_free);
      g_clear_pointer (&column->result, jds_result_unref);
      gtk_box_remove (self->columns_box, column->box);
    }
  g_array_set_size (self->columns, 0);
  if (self->play_button != NULL)
    update_play_button (self);
}

static JdsClipStream *
audible_stream (JdsCompareWindow *self)
{
  if (self->audible < 0 || (guint) self->audible >= self->columns->len)
    return NULL;
  return g_array_index (self->columns, Column, self->audible).stream;
}

static void
update_play_button (JdsCompareWindow *self)
{
  JdsClipStream *stream = audible_stream (self);
  gboolean playing = stream != NULL && gtk_media_stream_get_playing (GTK_MEDIA_STREAM (stream));
  const char *label = playing ? _("Pause") : _("Play");
  gtk_button_set_icon_name (GTK_BUTTON (self->play_button),
                            playing ? "media-playback-pause-symbolic"
                                    : "media-playback-start-symbolic");
  gtk_widget_set_tooltip_text (self->play_button,
                               playing ? _("Pause the clips")
                                       : _("Play the clips in step, with the sound of the "
                                           "marked one"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->play_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  gtk_widget_set_sensitive (self->play_button, stream != NULL);
}

/* The speaker's look says which column is heard; its label says what pressing it does. */
static void
update_speaker (Column  *column,
                gboolean audible)
{
  GtkWidget *speaker = column->speaker;
  gtk_button_set_icon_name (GTK_BUTTON (speaker), audible ? "audio-volume-high-symbolic"
                                                          : "audio-volume-muted-symbolic");
  g_autofree char *tooltip = audible
    /* Translators: %s is a column's title, e.g. "ω 2.0 · JointCFG*" */
    ? g_strdup_printf (_("The sound of “%s” is heard"), column->title)
    : g_strdup_printf (_("Hear the sound of “%s”"), column->title);
  gtk_widget_set_tooltip_text (speaker, tooltip);
  /* Translators: %s is a column's title, e.g. "ω 2.0 · JointCFG*" */
  g_autofree char *label = g_strdup_printf (_("Sound of “%s”"), column->title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (speaker), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
  if (audible)
    gtk_widget_add_css_class (column->box, "audible");
  else
    gtk_widget_remove_css_class (column->box, "audible");
}

static void
on_playing_changed (GtkMediaStream   *stream,
                    GParamSpec       *pspec,
                    JdsCompareWindow *self)
{
  update_play_button (self);
}

static void
on_silent_reason (JdsClipStream    *stream,
                  GParamSpec       *pspec,
                  JdsCompareWindow *self)
{
  const char *reason = jds_clip_stream_get_silent_reason (stream);
  /* Said once per window, as in the main window. */
  if (reason != NULL && !self->silent_toast_shown)
    {
      self->silent_toast_shown = TRUE;
      adw_toast_overlay_add_toast (self->toast_overlay,
                                   adw_toast_new (jds_sound_translate_silent_reason (reason)));
    }
}

void
jds_compare_window_set_audible (JdsCompareWindow *self,
                                guint             i)
{
  g_return_if_fail (JDS_IS_COMPARE_WINDOW (self));
  g_return_if_fail (i < self->columns->len);
  Column *next = &g_array_index (self->columns, Column, i);
  g_return_if_fail (next->stream != NULL);
  if (self->audible == (int) i)
    return;

  gboolean playing = FALSE;
  gint64 position = 0;
  JdsClipStream *previous = audible_stream (self);
  if (previous != NULL)
    {
      GtkMediaStream *stream = GTK_MEDIA_STREAM (previous);
      playing = gtk_media_stream_get_playing (stream);
      position = jds_audio_output_get_position (jds_clip_stream_get_audio_output (previous));
      g_signal_handlers_disconnect_by_data (previous, self);
      gtk_media_stream_pause (stream);
      update_speaker (&g_array_index (self->columns, Column, self->audible), FALSE);
    }
  self->audible = (int) i;

  /* The same point of the loop, also when the clips differ in length. */
  GtkMediaStream *stream = GTK_MEDIA_STREAM (next->stream);
  gint64 duration = gtk_media_stream_get_duration (stream);
  gtk_media_stream_seek (stream, duration > 0 ? position % duration : 0);
  g_signal_connect (stream, "notify::playing", G_CALLBACK (on_playing_changed), self);
  g_signal_connect (stream, "notify::silent-reason", G_CALLBACK (on_silent_reason), self);
  update_speaker (next, TRUE);
  if (!gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (next->speaker)))
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (next->speaker), TRUE);
  if (playing)
    gtk_media_stream_play (stream);
  update_play_button (self);
}

static void
on_speaker_toggled (GtkToggleButton  *button,
                    JdsCompareWindow *self)
{
  if (!gtk_toggle_button_get_active (button))
    return;
  for (guint i = 0; i < self->columns->len; i++)
    if (g_array_index (self->columns, Column, i).speaker == GTK_WIDGET (button))
      jds_compare_window_set_audible (self, i);
}

static void
on_play (GtkWidget  *widget,
         const char *action_name,
         GVariant   *parameter)
{
  JdsCompareWindow *self = JDS_COMPARE_WINDOW (widget);
  JdsClipStream *stream = audible_stream (self);
  if (stream == NULL)
    return;
  GtkMediaStream *media = GTK_MEDIA_STREAM (stream);
  gtk_media_stream_set_playing (media, !gtk_media_stream_get_playing (media));
}

/* Space plays or pauses while the focus is in the columns (a click on a clip puts it there), as
 * in the main window's player. A window-wide Space would take the key from the focused button
 * (GtkWindow binds it to activate-focus) and from the ω entry; in the bubble phase here, the
 * speaker toggles inside the columns still handle it first. */
static gboolean
on_columns_key (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                JdsCompareWindow      *self)
{
  if (!jds_key_is_play_pause (keyval, state))
    return FALSE;
  gtk_widget_activate_action (GTK_WIDGET (self), "compare.play", NULL);
  return TRUE;
}

static void
on_columns_pressed (GtkGestureClick  *gesture,
                    int               n_press,
                    double            x,
                    double            y,
                    JdsCompareWindow *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->columns_box));
}

static void
add_column (JdsCompareWindow *self,
            const char       *title)
{
  Column column = { 0 };
  column.title = g_strdup (title);
  column.box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_add_css_class (column.box, "compare-column");
  column.label = gtk_label_new (title);
  gtk_widget_add_css_class (column.label, "heading");
  gtk_label_set_ellipsize (GTK_LABEL (column.label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (column.label, TRUE);
  gtk_label_set_xalign (GTK_LABEL (column.label), 0);
  column.speaker = gtk_toggle_button_new ();
  gtk_widget_add_css_class (column.speaker, "flat");
  gtk_widget_set_valign (column.speaker, GTK_ALIGN_CENTER);
  /* Usable once the clip is there. */
  gtk_widget_set_sensitive (column.speaker, FALSE);
  if (self->columns->len > 0)
    gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (column.speaker),
                                 GTK_TOGGLE_BUTTON (g_array_index (self->columns, Column, 0).speaker));
  g_signal_connect (column.speaker, "toggled", G_CALLBACK (on_speaker_toggled), self);
  update_speaker (&column, FALSE);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_box_append (GTK_BOX (header), column.label);
  gtk_box_append (GTK_BOX (header), column.speaker);
  column.loop = JDS_CANVAS (jds_canvas_new ());
  gtk_widget_set_size_request (GTK_WIDGET (column.loop), 160, 160);
  gtk_widget_add_css_class (GTK_WIDGET (column.loop), "canvas");
  gtk_widget_set_tooltip_text (GTK_WIDGET (column.loop), title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (column.loop), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  title, -1);
  column.spectrogram = JDS_CANVAS (jds_canvas_new ());
  jds_canvas_set_colormap (column.spectrogram, TRUE);
  gtk_widget_set_size_request (GTK_WIDGET (column.spectrogram), 160, 72);
  gtk_widget_add_css_class (GTK_WIDGET (column.spectrogram), "canvas");
  gtk_box_append (GTK_BOX (column.box), header);
  gtk_box_append (GTK_BOX (column.box), GTK_WIDGET (column.loop));
  gtk_box_append (GTK_BOX (column.box), GTK_WIDGET (column.spectrogram));
  gtk_widget_set_hexpand (column.box, TRUE);
  gtk_box_append (self->columns_box, column.box);
  g_array_append_val (self->columns, column);
}

static void
update_status (JdsCompareWindow *self)
{
  g_autofree char *text = NULL;
  guint total = self->columns->len;
  gboolean running = total > 0 && self->n_done < total && self->batch != 0;
  if (running)
    /* Translators: progress of a comparison, e.g. "Clip 2 of 3…" */
    text = g_strdup_printf (_("Clip %u of %u…"), self->n_done + 1, total);
  else if (total > 0)
    text = g_strdup (_("Same image and seed; only the guidance differs"));
  else
    text = g_strdup (_("Pick what to vary, then start"));
  gtk_label_set_label (self->status_label, text);
  gtk_widget_set_visible (self->start_button, !running);
  gtk_widget_set_visible (self->cancel_button, running);
}

/* Every column shows the frame of the audible clip's audio clock t (wrapped at the column's own
 * length): they play in step with the sound. */
static gboolean
on_tick (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  JdsCompareWindow *self = JDS_COMPARE_WINDOW (widget);
  JdsClipStream *heard = audible_stream (self);
  gint64 t = heard ? jds_audio_output_get_position (jds_clip_stream_get_audio_output (heard)) : 0;
  for (guint i = 0; i < self->columns->len; i++)
    {
      Column *column = &g_array_index (self->columns, Column, i);
      if (column->result == NULL || column->stream == NULL)
        continue;
      JdsFrames *frames = column->result->frames;
      gint64 duration = gtk_media_stream_get_duration (GTK_MEDIA_STREAM (column->stream));
      int index = jds_clip_stream_frame_at (column->stream, duration > 0 ? t % duration : 0);
      index = CLAMP (index, 0, frames->n_frames - 1);
      if (index != column->shown)
        {
          column->shown = index;
          jds_canvas_set_image (column->loop, frames->width, frames->height,
                                column->frame_bytes[index]);
        }
    }
  return G_SOURCE_CONTINUE;
}

static void
on_finished (JdsWorker        *worker,
             JdsResult        *result,
             JdsCompareWindow *self)
{
  if (result->batch != self->batch || self->n_done >= self->columns->len)
    return;
  Column *column = &g_array_index (self->columns, Column, self->n_done++);
  JdsFrames *frames = result->frames;
  column->result = jds_result_ref (result);
  gsize size = (gsize) frames->width * frames->height * 4;
  column->frame_bytes = g_new (GBytes *, frames->n_frames);
  for (int f = 0; f < frames->n_frames; f++)
    column->frame_bytes[f] = g_bytes_new_from_bytes (frames->frames, f * size, size);
  column->shown = 0;
  jds_canvas_set_image (column->loop, frames->width, frames->height, column->frame_bytes[0]);
  jds_canvas_set_image (column->spectrogram, frames->mel_width, frames->mel_height, frames->mel);
  column->stream = result->clip != NULL && result->clip->n_frames > 0
                   ? jds_clip_stream_new (result->clip) : NULL;
  if (column->stream != NULL)
    {
      jds_clip_stream_set_audio_device (column->stream, jds_sound_device_from_environment ());
      gtk_media_stream_set_loop (GTK_MEDIA_STREAM (column->stream), TRUE);
      gtk_widget_set_sensitive (column->speaker, TRUE);
      /* The first clip to arrive is heard until another is picked. */
      if (self->audible < 0)
        jds_compare_window_set_audible (self, self->n_done - 1);
    }
  update_status (self);
}

static void
on_failed (JdsWorker        *worker,
           const GError     *error,
           guint             batch,
           JdsCompareWindow *self)
{
  if (batch != self->batch)
    return;
  /* One failure ends the comparison (a cancel drops the whole batch). */
  self->batch = 0;
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (error->message));
  update_status (self);
}

/* ramp: ω_v grows from 0 at the first frame to omega_video at the last, as in the main window. */
static JdGuidance *
guidance_for (JdGuidanceMode mode,
              double         omega_video,
              double         omega_audio,
              gboolean       ramp)
{
  JdGuidance *guidance = jd_guidance_new ();
  JdGuidanceSnapshot settings = {
    .mode = mode,
    .omega_video_first = ramp ? 0.0 : omega_video,
    .omega_video_last = omega_video,
    .omega_audio = omega_audio,
  };
  jd_guidance_set (guidance, &settings, NULL);
  return guidance;
}

gboolean
jds_compare_window_start (JdsCompareWindow *self,
                          JdsCompareKind    kind,
                          const char       *omegas)
{
  g_return_val_if_fail (JDS_IS_COMPARE_WINDOW (self), FALSE);

  GSettings *settings = jds_application_get_settings (self->application);
  JdsWorker *worker = jds_application_get_worker (self->application);
  int steps = g_settings_get_int (settings, "steps");
  guint64 seed = g_settings_get_uint (settings, "seed");
  g_autofree char *mode_name = g_settings_get_string (settings, "guidance-mode");
  JdGuidanceMode mode = JD_GUIDANCE_JOINT_STAR;
  jd_guidance_mode_parse (mode_name, &mode);
  double omega_video = g_settings_get_double (settings, "omega-video");
  double omega_audio = g_settings_get_double (settings, "omega-audio");
  gboolean ramp = g_settings_get_boolean (settings, "omega-video-ramp");

  g_autoptr (GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  if (kind == JDS_COMPARE_OMEGA)
    {
      g_auto (GStrv) parts = g_strsplit_set (omegas ? omegas : "", ",; ", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        {
          if (parts[i][0] == '\0')
            continue;
          char *end = NULL;
          /* People type "1,5" in some languages; the list separator is the comma. */
          double value = g_ascii_strtod (parts[i], &end);
          if (end == parts[i] || *end != '\0' || !(value >= 0 && value <= 20))
            {
              g_autofree char *message =
                g_strdup_printf (_("“%s” is not a guidance scale: use numbers from 0 to 20, "
                                   "separated by commas"), parts[i]);
              adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
              return FALSE;
            }
          g_array_append_val (values, value);
        }
      if (values->len < 2 || values->len > 6)
        {
          adw_toast_overlay_add_toast (self->toast_overlay,
                                       adw_toast_new (_("Give two to six guidance scales, e.g. “1, 2, 4”")));
          return FALSE;
        }
    }

  jds_worker_cancel (worker);
  clear_columns (self);
  self->batch = next_batch++;
  self->n_done = 0;
  if (kind == JDS_COMPARE_OMEGA)
    for (guint i = 0; i < values->len; i++)
      {
        double omega = g_array_index (values, double, i);
        /* Sound follows picture in proportion, as when the scales are linked. */
        double audio = omega_video > 0 ? omega * omega_audio / omega_video : omega;
        g_autofree char *title = g_strdup_printf ("ω %.1f · %s", omega, mode_label (mode));
        add_column (self, title);
        jds_worker_generate_full (worker, self->image, self->image_name, steps, seed,
                                  guidance_for (mode, omega, audio, ramp), self->batch);
      }
  else
    for (int m = 0; m < JD_GUIDANCE_MODE_COUNT; m++)
      {
        g_autofree char *title = g_strdup_printf ("%s · ω %.1f", mode_label (m), omega_video);
        add_column (self, title);
        jds_worker_generate_full (worker, self->image, self->image_name, steps, seed,
                                  guidance_for (m, omega_video, omega_audio, ramp),
                                  self->batch);
      }
  update_status (self);
  return TRUE;
}

guint
jds_compare_window_get_n_done (JdsCompareWindow *self)
{
  return self->n_done;
}

guint
jds_compare_window_get_n_total (JdsCompareWindow *self)
{
  return self->columns->len;
}

gpointer
jds_compare_window_get_result (JdsCompareWindow *self,
                               guint             i)
{
  g_return_val_if_fail (i < self->columns->len, NULL);
  return g_array_index (self->columns, Column, i).result;
}

int
jds_compare_window_get_audible (JdsCompareWindow *self)
{
  g_return_val_if_fail (JDS_IS_COMPARE_WINDOW (self), -1);
  return self->audible;
}

GtkMediaStream *
jds_compare_window_get_stream (JdsCompareWindow *self,
                               guint             i)
{
  g_return_val_if_fail (JDS_IS_COMPARE_WINDOW (self), NULL);
  g_return_val_if_fail (i < self->columns->len, NULL);
  JdsClipStream *stream = g_array_index (self->columns, Column, i).stream;
  return stream ? GTK_MEDIA_STREAM (stream) : NULL;
}

GtkWidget *
jds_compare_window_get_speaker (JdsCompareWindow *self,
                                guint             i)
{
  g_return_val_if_fail (JDS_IS_COMPARE_WINDOW (self), NULL);
  g_return_val_if_fail (i < self->columns->len, NULL);
  return g_array_index (self->columns, Column, i).speaker;
}

int
jds_compare_window_get_shown_frame (JdsCompareWindow *self,
                                    guint             i)
{
  g_return_val_if_fail (JDS_IS_COMPARE_WINDOW (self), -1);
  g_return_val_if_fail (i < self->columns->len, -1);
  return g_array_index (self->columns, Column, i).shown;
}

static void
on_start_clicked (JdsCompareWindow *self)
{
  JdsCompareKind kind = adw_combo_row_get_selected (self->kind_row) == 1 ? JDS_COMPARE_MODE
                                                                         : JDS_COMPARE_OMEGA;
  jds_compare_window_start (self, kind, gtk_editable_get_text (GTK_EDITABLE (self->omegas_row)));
}

static void
on_cancel_clicked (JdsCompareWindow *self)
{
  jds_worker_cancel (jds_application_get_worker (self->application));
}

static void
on_kind_changed (JdsCompareWindow *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->omegas_row),
                          adw_combo_row_get_selected (self->kind_row) == 0);
}

GtkWidget *
jds_compare_window_new (JdsApplication *application,
                        GBytes         *image,
                        const char     *image_name)
{
  JdsCompareWindow *self = g_object_new (JDS_TYPE_COMPARE_WINDOW, NULL);
  self->application = application;
  self->image = g_bytes_ref (image);
  self->image_name = g_strdup (image_name);
  JdsWorker *worker = jds_application_get_worker (application);
  g_signal_connect_object (worker, "finished", G_CALLBACK (on_finished), self, 0);
  g_signal_connect_object (worker, "failed", G_CALLBACK (on_failed), self, 0);
  g_autofree char *subtitle = g_strdup_printf (_("“%s” with the current seed and steps"),
                                               image_name);
  gtk_window_set_title (GTK_WINDOW (self), _("Compare Guidance"));
  adw_window_title_set_subtitle (self->window_title, subtitle);
  return GTK_WIDGET (self);
}

static void
jds_compare_window_dispose (GObject *object)
{
  JdsCompareWindow *self = JDS_COMPARE_WINDOW (object);
  if (self->application != NULL)
    {
      JdsWorker *worker = jds_application_get_worker (self->application);
      if (self->batch != 0 && self->columns != NULL && self->n_done < self->columns->len)
        jds_worker_cancel (worker);
      g_signal_handlers_disconnect_by_data (worker, self);
      self->application = NULL;
    }
  if (self->tick_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
  self->tick_id = 0;
  if (self->columns != NULL)
    clear_columns (self);
  g_clear_pointer (&self->columns, g_array_unref);
  g_clear_pointer (&self->image, g_bytes_unref);
  g_clear_pointer (&self->image_name, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), JDS_TYPE_COMPARE_WINDOW);
  G_OBJECT_CLASS (jds_compare_window_parent_class)->dispose (object);
}

static void
jds_compare_window_class_init (JdsCompareWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jds_compare_window_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               JDS_RESOURCE_PATH "/jds-compare-window.ui");
  gtk_widget_class_bind_template_child (widget_class, JdsCompareWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, JdsCompareWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, JdsCompareWindow, kind_row);
  gtk_widget_class_bind_template_child (widget_class, JdsCompareWindow, omegas_row);
  gtk_widget_class_bind_template_child (widget_class, JdsCompareWindow, start_button);
  gtk_widget_class_bind_template_child (widget_class, JdsCompareWindow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, JdsCompareWindow, play_button);
  gtk_widget_class_bind_template_child (widget_class, JdsCompareWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, JdsCompareWindow, columns_box);
  gtk_widget_class_bind_template_callback (widget_class, on_start_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_kind_changed);
  gtk_widget_class_install_action (widget_class, "compare.play", NULL, on_play);
}

static void
jds_compare_window_init (JdsCompareWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->columns = g_array_new (FALSE, TRUE, sizeof (Column));
  self->audible = -1;
  gtk_widget_set_focusable (GTK_WIDGET (self->columns_box), TRUE);
  GtkEventController *keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_columns_key), self);
  gtk_widget_add_controller (GTK_WIDGET (self->columns_box), keys);
  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (on_columns_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->columns_box), GTK_EVENT_CONTROLLER (click));
  update_play_button (self);
  self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), on_tick, NULL, NULL);
  update_status (self);
}

/* jds-sync-timeline.c — the sync readout under the player.
 *
 * The numbers are the synchronisation part of `jointdit eval` (jd_eval_clip): visual events
 * from the frames, audio onsets from the sound, matched by jd_sync_match with the events
 * weighted by their strength, exactly as jd_eval_clip calls them (a test holds the two
 * equal). AV-Align and the motion score, which the readout does not show, are left out: their
 * optical flow is most of the eval's time. The work runs in a GTask on a copy of the clip; a
 * newer clip cancels it (checked between the steps; an answer that arrives anyway is dropped).
 *
 * The lanes are drawn with GtkSnapshot (no GL needed) in colours of the style, so they follow
 * the dark style; the two label lines under them are template children laid out by hand. */
#include "jds-sync-timeline.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "jds-config.h"
#include "jd-audio-onsets.h"
#include "jd-sync-match.h"
#include "jd-visual-events.h"

#define LANE_HEIGHT   18
#define LANE_GAP      14   /* between the lanes, where the pair lines run */
#define LABELS_GAP     6   /* between the lanes and the text under them */
#define NAME_GAP       8   /* between a lane's name and the lane */

struct _JdsSyncTimeline
{
  GtkWidget     parent_instance;

  GtkWidget    *labels;
  GtkLabel     *summary_label;
  GtkLabel     *detail_label;

  double        duration;
  double        position;
  gboolean      has_clip;
  GCancellable *cancellable;     /* of the running measurement; NULL when none runs */
  struct Measurement *measurement;
  char         *failure;         /* why the last measurement failed, or NULL */
  char         *description;
};

G_DEFINE_FINAL_TYPE (JdsSyncTimeline, jds_sync_timeline, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_POSITION,
  PROP_DURATION,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- the measurement, on a worker thread ---- */

typedef struct
{
  guint8 *rgba;          /* n_frames × height × width × 4 */
  int     n_frames, width, height;
  double  fps;
  float  *pcm;
  gsize   n_samples;
  int     sample_rate;
} ClipCopy;

static void
clip_copy_free (ClipCopy *copy)
{
  g_free (copy->rgba);
  g_free (copy->pcm);
  g_free (copy);
}

typedef struct Measurement
{
  double     *visual;         /* event times, s */
  gsize       n_visual;
  double     *audio;          /* onset times, s */
  gsize       n_audio;
  gssize     *visual_pair;    /* per visual event: the audio onset paired with it at the offset, or −1 */
  gsize       n_pairs;
  JdSyncMatch sync;
} Measurement;

static void
measurement_free (Measurement *m)
{
  if (m == NULL)
    return;
  g_free (m->visual);
  g_free (m->audio);
  g_free (m->visual_pair);
  g_free (m);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Measurement, measurement_free)

/* The pairs that agree on the offset, as jd_sync_match pairs them (each onset moved back by the
 * offset, within the tolerance), so the lines show what the number was made of. */
static void
pair_at_offset (Measurement *m)
{
  m->visual_pair = g_new (gssize, MAX (m->n_visual, 1));
  for (gsize i = 0; i < m->n_visual; i++)
    m->visual_pair[i] = -1;
  if (!m->sync.has_offset)
    return;
  g_autofree gssize *audio_pair = g_new (gssize, MAX (m->n_audio, 1));
  m->n_pairs = jd_sync_pairs (m->audio, m->n_audio, m->visual, m->n_visual, m->sync.offset,
                              JD_SYNC_TOLERANCE_SECONDS, audio_pair);
  for (gsize k = 0; k < m->n_audio; k++)
    if (audio_pair[k] >= 0)
      m->visual_pair[audio_pair[k]] = (gssize) k;
}

static void
measure_in_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  const ClipCopy *clip = task_data;
  if (g_task_return_error_if_cancelled (task))
    return;

  /* The visual events read RGB; the engine's frames are RGBA and opaque. */
  gsize pixels = (gsize) clip->n_frames * clip->width * clip->height;
  g_autofree guint8 *rgb = g_malloc (MAX (pixels, 1) * 3);
  for (gsize i = 0; i < pixels; i++)
    memcpy (rgb + i * 3, clip->rgba + i * 4, 3);

  g_autoptr (GError) error = NULL;
  gsize n_visual = 0;
  g_autofree JdVisualEvent *events = jd_visual_events (rgb, (gsize) clip->n_frames, clip->width,
                                                       clip->height, clip->fps, &n_visual,
                                                       &error);
  if (events == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  g_autoptr (Measurement) m = g_new0 (Measurement, 1);
  m->audio = jd_audio_onsets (clip->pcm, clip->n_samples, clip->sample_rate, &m->n_audio, &error);
  if (m->audio == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  m->n_visual = n_visual;
  m->visual = g_new (double, MAX (n_visual, 1));
  g_autofree double *strength = g_new (double, MAX (n_visual, 1));
  for (gsize i = 0; i < n_visual; i++)
    m->visual[i] = events[i].time, strength[i] = events[i].strength;
  jd_sync_match (m->visual, strength, m->n_visual, m->audio, m->n_audio, &m->sync);
  pair_at_offset (m);

  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_return_pointer (task, g_steal_pointer (&m), (GDestroyNotify) measurement_free);
}

/* ---- the words ---- */

static int
to_ms (double seconds)
{
  return (int) lround (seconds * 1000.0);
}

/* "Sound 12 ms after picture", from the offset in seconds. */
static char *
offset_sentence (double offset)
{
  int ms = to_ms (offset);
  if (ms > 0)
    /* Translators: the sound of the clip comes this many milliseconds after its picture */
    return g_strdup_printf (_("Sound %d ms after picture"), ms);
  if (ms < 0)
    /* Translators: the sound of the clip comes this many milliseconds before its picture */
    return g_strdup_printf (_("Sound %d ms before picture"), -ms);
  return g_strdup (_("Sound and picture at the same moment"));
}

static void
set_style (GtkWidget  *label,
           const char *style)
{
  gtk_widget_remove_css_class (label, "success");
  gtk_widget_remove_css_class (label, "warning");
  if (style)
    gtk_widget_add_css_class (label, style);
}

/* The summary, the detail line and the accessible description, from the state. */
static void
update_text (JdsSyncTimeline *self)
{
  g_autofree char *summary = NULL;
  g_autofree char *detail = NULL;
  const char *style = NULL;
  Measurement *m = self->measurement;

  if (!self->has_clip)
    {
      summary = g_strdup ("");
      detail = g_strdup ("");
    }
  else if (self->cancellable != NULL)
    {
      summary = g_strdup (_("Measuring sync…"));
      detail = g_strdup ("");
    }
  else if (m == NULL)
    {
      summary = g_strdup (_("Sync could not be measured"));
      detail = g_strdup (self->failure ? self->failure : "");
    }
  else
    {
      /* Translators: how many of the events seen in the picture have a sound paired with them */
      g_autofree char *paired = g_strdup_printf (ngettext ("%u of %u picture event paired with a sound",
                                                           "%u of %u picture events paired with a sound",
                                                           (gulong) m->n_visual),
                                                 (guint) m->n_pairs, (guint) m->n_visual);
      if (m->n_visual == 0 || m->n_audio == 0)
        {
          summary = g_strdup (_("No events found to compare"));
          /* Translators: counts of what the sync measurement found in the picture and the sound */
          detail = g_strdup_printf (_("Picture events: %u · Sound onsets: %u"),
                                    (guint) m->n_visual, (guint) m->n_audio);
        }
      else if (!m->sync.has_offset)
        {
          summary = g_strdup (_("Picture and sound events do not line up"));
          detail = g_strdup_printf (_("Picture events: %u · Sound onsets: %u"),
                                    (guint) m->n_visual, (guint) m->n_audio);
          style = "warning";
        }
      else
        {
          g_autofree char *offset = offset_sentence (m->sync.offset);
          g_autofree char *error = m->sync.has_error
            /* Translators: the mean distance in time between paired picture events and sounds */
            ? g_strdup_printf (_("Sync error %d ms"), to_ms (m->sync.error))
            /* Translators: no sound lies this close to any picture event */
            : g_strdup_printf (_("No pairs within ±%d ms"), to_ms (JD_SYNC_MATCH_SECONDS));
          if (fabs (m->sync.offset) <= JD_SYNC_TOLERANCE_SECONDS)
            {
              /* Translators: the sound agrees with the picture to this many milliseconds */
              summary = g_strdup_printf (_("In sync within ±%d ms"),
                                         to_ms (JD_SYNC_TOLERANCE_SECONDS));
              detail = g_strjoin (" · ", offset, error, paired, NULL);
              style = "success";
            }
          else
            {
              summary = g_steal_pointer (&offset);
              detail = g_strjoin (" · ", error, paired, NULL);
              style = "warning";
            }
        }
    }

  gtk_label_set_text (self->summary_label, summary);
  gtk_label_set_text (self->detail_label, detail);
  set_style (GTK_WIDGET (self->summary_label), style);

  g_free (self->description);
  if (!self->has_clip)
    self->description = g_strdup (_("No clip to measure"));
  else if (m == NULL)
    self->description = detail[0] ? g_strjoin (". ", summary, detail, NULL) : g_strdup (summary);
  else
    {
      /* Translators: read by a screen reader before the sync verdict; %.1f is the length
         of the clip in seconds, the two counts are of the top and the bottom lane */
      g_autofree char *lanes = g_strdup_printf (_("Timeline of the clip’s %.1f seconds. "
                                                  "Picture events: %u. Sound onsets: %u"),
                                                self->duration, (guint) m->n_visual,
                                                (guint) m->n_audio);
      self->description = g_strdup_printf ("%s. %s. %s.", lanes, summary, detail);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  self->description, -1);
}

/* ---- measuring ---- */

static void
set_busy (JdsSyncTimeline *self,
          GCancellable    *cancellable)
{
  gboolean was_busy = self->cancellable != NULL;
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_set_object (&self->cancellable, cancellable);
  if (was_busy != (cancellable != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
on_measured (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  JdsSyncTimeline *self = JDS_SYNC_TIMELINE (source);
  g_autoptr (GError) error = NULL;
  Measurement *m = g_task_propagate_pointer (G_TASK (result), &error);
  /* Cancelled: a newer clip (or the widget's end) took over; nothing here is ours any more. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* Listeners of "busy" see the new words already. */
  g_object_freeze_notify (G_OBJECT (self));
  measurement_free (self->measurement);
  self->measurement = m;
  g_clear_pointer (&self->failure, g_free);
  if (m == NULL)
    self->failure = g_strdup (error->message);
  set_busy (self, NULL);
  update_text (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_thaw_notify (G_OBJECT (self));
}

void
jds_sync_timeline_set_clip (JdsSyncTimeline *self,
                            const JdResult  *clip)
{
  g_return_if_fail (JDS_IS_SYNC_TIMELINE (self));

  g_object_freeze_notify (G_OBJECT (self));
  g_clear_pointer (&self->measurement, measurement_free);
  g_clear_pointer (&self->failure, g_free);
  self->has_clip = clip != NULL;
  double duration = clip && clip->fps > 0 ? clip->n_frames / clip->fps : 0;
  if (self->duration != duration)
    {
      self->duration = duration;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DURATION]);
    }

  /* One change of "busy" at most: a clip that replaces a running measurement keeps it TRUE. */
  g_autoptr (GCancellable) cancellable = clip ? g_cancellable_new () : NULL;
  set_busy (self, cancellable);

  if (clip != NULL)
    {
      ClipCopy *copy = g_new0 (ClipCopy, 1);
      copy->n_frames = clip->n_frames;
      copy->width = clip->width;
      copy->height = clip->height;
      copy->fps = clip->fps;
      copy->rgba = g_memdup2 (clip->frames, (gsize) MAX (clip->n_frames, 0) * MAX (clip->width, 0)
                                            * MAX (clip->height, 0) * 4);
      copy->n_samples = clip->n_samples;
      copy->sample_rate = clip->sample_rate;
      copy->pcm = g_memdup2 (clip->pcm, clip->n_samples * sizeof (float));

      g_autoptr (GTask) task = g_task_new (self, cancellable, on_measured, NULL);
      g_task_set_source_tag (task, jds_sync_timeline_set_clip);
      g_task_set_name (task, "[jds] measure sync");
      g_task_set_task_data (task, copy, (GDestroyNotify) clip_copy_free);
      g_task_run_in_thread (task, measure_in_thread);
    }
  update_text (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_thaw_notify (G_OBJECT (self));
}

/* ---- drawing ---- */

static GdkRGBA
style_color (GtkWidget     *widget,
             const char    *name,
             const GdkRGBA *fallback)
{
  GdkRGBA color;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), name, &color))
    color = *fallback;
  G_GNUC_END_IGNORE_DEPRECATIONS
  return color;
}

static GdkRGBA
with_alpha (GdkRGBA color,
            float   alpha)
{
  color.alpha *= alpha;
  return color;
}

static PangoLayout *
lane_name (GtkWidget *widget,
           gboolean   sound)
{
  /* Translators: the names of the sync timeline's two lanes, shown at their left */
  return gtk_widget_create_pango_layout (widget, sound ? C_("sync lane", "Sound")
                                                       : C_("sync lane", "Picture"));
}

static int
lane_names_width (GtkWidget *widget)
{
  int width = 0;
  for (int sound = 0; sound < 2; sound++)
    {
      g_autoptr (PangoLayout) layout = lane_name (widget, sound);
      int w, h;
      pango_layout_get_pixel_size (layout, &w, &h);
      width = MAX (width, w);
    }
  return width + NAME_GAP;
}

/* A straight line of the given width from a to b, as a rotated rectangle. */
static void
append_line (GtkSnapshot            *snapshot,
             const GdkRGBA          *color,
             const graphene_point_t *a,
             const graphene_point_t *b,
             float                   width)
{
  float dx = b->x - a->x, dy = b->y - a->y;
  float length = sqrtf (dx * dx + dy * dy);
  if (length <= 0)
    return;
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, a);
  gtk_snapshot_rotate (snapshot, atan2f (dy, dx) * 180.0f / (float) G_PI);
  gtk_snapshot_append_color (snapshot, color, &GRAPHENE_RECT_INIT (0, -width / 2, length, width));
  gtk_snapshot_restore (snapshot);
}

static void
append_lane (GtkSnapshot   *snapshot,
             const GdkRGBA *color,
             float          x,
             float          y,
             float          width)
{
  GskRoundedRect rounded;
  gsk_rounded_rect_init_from_rect (&rounded, &GRAPHENE_RECT_INIT (x, y, width, LANE_HEIGHT), 4);
  gtk_snapshot_push_rounded_clip (snapshot, &rounded);
  gtk_snapshot_append_color (snapshot, color, &rounded.bounds);
  gtk_snapshot_pop (snapshot);
}

/* Where the lanes are and which way time runs along them. */
typedef struct
{
  float    x, width;
  gboolean rtl;
  double   duration;
} Lanes;

/* The centre of a 2 px tick at time t, inside the lane at both ends. */
static float
time_x (const Lanes *lanes,
        double       t)
{
  float along = (float) (CLAMP (t, 0.0, lanes->duration) / lanes->duration * (lanes->width - 2));
  return lanes->rtl ? lanes->x + lanes->width - 1 - along : lanes->x + 1 + along;
}

static void
jds_sync_timeline_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  JdsSyncTimeline *self = JDS_SYNC_TIMELINE (widget);
  int width = gtk_widget_get_width (widget);

  GdkRGBA fg;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  GdkRGBA picture_color = style_color (widget, "accent_color", &fg);
  GdkRGBA sound_color = style_color (widget, "success_color", &fg);
  GdkRGBA lane_color = with_alpha (fg, 0.08f);
  GdkRGBA pair_color = with_alpha (fg, 0.6f);
  GdkRGBA name_color = with_alpha (fg, 0.7f);

  /* The names sit at the reading start; time runs the way the player's seek bar does (a
   * horizontal GtkRange is mirrored right to left too). */
  gboolean rtl = gtk_widget_get_direction (widget) == GTK_TEXT_DIR_RTL;
  float names = (float) lane_names_width (widget);
  Lanes lanes = {
    .x = rtl ? 0 : names,
    .width = width - names,
    .rtl = rtl,
    .duration = self->duration,
  };
  float top = 0, bottom = LANE_HEIGHT + LANE_GAP;
  if (lanes.width <= 8)
    {
      gtk_widget_snapshot_child (widget, self->labels, snapshot);
      return;
    }

  for (int sound = 0; sound < 2; sound++)
    {
      float y = sound ? bottom : top;
      g_autoptr (PangoLayout) layout = lane_name (widget, sound);
      int lw, lh;
      pango_layout_get_pixel_size (layout, &lw, &lh);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (rtl ? width - lw : 0,
                                                              y + (LANE_HEIGHT - lh) / 2.0f));
      gtk_snapshot_append_layout (snapshot, layout, &name_color);
      gtk_snapshot_restore (snapshot);
      append_lane (snapshot, &lane_color, lanes.x, y, lanes.width);
    }

  Measurement *m = self->measurement;
  if (m != NULL && self->duration > 0)
    {
      for (gsize i = 0; i < m->n_visual; i++)
        if (m->visual_pair[i] >= 0)
          append_line (snapshot, &pair_color,
                       &GRAPHENE_POINT_INIT (time_x (&lanes, m->visual[i]), top + LANE_HEIGHT),
                       &GRAPHENE_POINT_INIT (time_x (&lanes, m->audio[m->visual_pair[i]]), bottom),
                       1.5f);
      /* Events with no partner are fainter. */
      for (gsize i = 0; i < m->n_visual; i++)
        {
          GdkRGBA c = with_alpha (picture_color, m->visual_pair[i] >= 0 ? 1.0f : 0.45f);
          gtk_snapshot_append_color (snapshot, &c,
                                     &GRAPHENE_RECT_INIT (time_x (&lanes, m->visual[i]) - 1,
                                                          top + 2, 2, LANE_HEIGHT - 4));
        }
      g_autofree gboolean *paired = g_new0 (gboolean, MAX (m->n_audio, 1));
      for (gsize i = 0; i < m->n_visual; i++)
        if (m->visual_pair[i] >= 0)
          paired[m->visual_pair[i]] = TRUE;
      for (gsize k = 0; k < m->n_audio; k++)
        {
          GdkRGBA c = with_alpha (sound_color, paired[k] ? 1.0f : 0.45f);
          gtk_snapshot_append_color (snapshot, &c,
                                     &GRAPHENE_RECT_INIT (time_x (&lanes, m->audio[k]) - 1,
                                                          bottom + 2, 2, LANE_HEIGHT - 4));
        }
    }

  if (self->has_clip && self->duration > 0 && self->position >= 0
      && self->position <= self->duration)
    gtk_snapshot_append_color (snapshot, &fg,
                               &GRAPHENE_RECT_INIT (time_x (&lanes, self->position) - 1, top, 2,
                                                    bottom + LANE_HEIGHT - top));

  gtk_widget_snapshot_child (widget, self->labels, snapshot);
}

static int
lanes_height (void)
{
  return 2 * LANE_HEIGHT + LANE_GAP + LABELS_GAP;
}

static void
jds_sync_timeline_measure (GtkWidget      *widget,
                           GtkOrientation  orientation,
                           int             for_size,
                           int            *minimum,
                           int            *natural,
                           int            *minimum_baseline,
                           int            *natural_baseline)
{
  JdsSyncTimeline *self = JDS_SYNC_TIMELINE (widget);
  int child_min = 0, child_nat = 0;
  /* Height-for-width: the labels' width never depends on a height (a container may still ask
   * for the width at some height, and the lanes' height is not the labels' anyway). */
  gtk_widget_measure (self->labels, orientation,
                      orientation == GTK_ORIENTATION_HORIZONTAL ? -1 : for_size,
                      &child_min, &child_nat, NULL, NULL);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      int names = lane_names_width (widget);
      *minimum = MAX (child_min, names + 80);
      *natural = MAX (child_nat, names + 320);
    }
  else
    {
      *minimum = lanes_height () + child_min;
      *natural = lanes_height () + child_nat;
    }
}

static void
jds_sync_timeline_size_allocate (GtkWidget *widget,
                                 int        width,
                                 int        height,
                                 int        baseline)
{
  JdsSyncTimeline *self = JDS_SYNC_TIMELINE (widget);
  int top = lanes_height ();
  gtk_widget_size_allocate (self->labels,
                            &(GtkAllocation) { 0, top, width, MAX (height - top, 0) }, -1);
}

static GtkSizeRequestMode
jds_sync_timeline_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;  /* the labels wrap */
}

/* The style's colours change with the dark style; the lanes must be drawn again in them. */
static void
jds_sync_timeline_css_changed (GtkWidget         *widget,
                               GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (jds_sync_timeline_parent_class)->css_changed (widget, change);
  gtk_widget_queue_draw (widget);
}

/* ---- the playhead and the rest of the API ---- */

GtkWidget *
jds_sync_timeline_new (void)
{
  return g_object_new (JDS_TYPE_SYNC_TIMELINE, NULL);
}

void
jds_sync_timeline_set_position (JdsSyncTimeline *self,
                                double           position)
{
  g_return_if_fail (JDS_IS_SYNC_TIMELINE (self));
  if (self->position == position)
    return;
  self->position = position;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSITION]);
}

double
jds_sync_timeline_get_position (JdsSyncTimeline *self)
{
  g_return_val_if_fail (JDS_IS_SYNC_TIMELINE (self), 0);
  return self->position;
}

static gboolean
microseconds_to_seconds (GBinding     *binding,
                         const GValue *from,
                         GValue       *to,
                         gpointer      user_data)
{
  g_value_set_double (to, g_value_get_int64 (from) / (double) G_USEC_PER_SEC);
  return TRUE;
}

void
jds_sync_timeline_follow_stream (JdsSyncTimeline *self,
                                 GtkMediaStream  *stream)
{
  g_return_if_fail (JDS_IS_SYNC_TIMELINE (self));
  g_return_if_fail (GTK_IS_MEDIA_STREAM (stream));
  g_object_bind_property_full (stream, "timestamp", self, "position", G_BINDING_SYNC_CREATE,
                               microseconds_to_seconds, NULL, NULL, NULL);
}

double
jds_sync_timeline_get_duration (JdsSyncTimeline *self)
{
  g_return_val_if_fail (JDS_IS_SYNC_TIMELINE (self), 0);
  return self->duration;
}

gboolean
jds_sync_timeline_get_busy (JdsSyncTimeline *self)
{
  g_return_val_if_fail (JDS_IS_SYNC_TIMELINE (self), FALSE);
  return self->cancellable != NULL;
}

gboolean
jds_sync_timeline_get_measurement (JdsSyncTimeline *self,
                                   gsize           *n_visual,
                                   gsize           *n_audio,
                                   gsize           *n_pairs,
                                   double          *offset,
                                   double          *error)
{
  g_return_val_if_fail (JDS_IS_SYNC_TIMELINE (self), FALSE);
  const Measurement *m = self->measurement;
  if (n_visual)
    *n_visual = m ? m->n_visual : 0;
  if (n_audio)
    *n_audio = m ? m->n_audio : 0;
  if (n_pairs)
    *n_pairs = m ? m->n_pairs : 0;
  if (offset)
    *offset = m && m->sync.has_offset ? m->sync.offset : NAN;
  if (error)
    *error = m && m->sync.has_error ? m->sync.error : NAN;
  return m != NULL;
}

const char *
jds_sync_timeline_get_summary (JdsSyncTimeline *self)
{
  g_return_val_if_fail (JDS_IS_SYNC_TIMELINE (self), NULL);
  return gtk_label_get_text (self->summary_label);
}

const char *
jds_sync_timeline_get_detail (JdsSyncTimeline *self)
{
  g_return_val_if_fail (JDS_IS_SYNC_TIMELINE (self), NULL);
  return gtk_label_get_text (self->detail_label);
}

const char *
jds_sync_timeline_get_description (JdsSyncTimeline *self)
{
  g_return_val_if_fail (JDS_IS_SYNC_TIMELINE (self), NULL);
  return self->description;
}

static void
jds_sync_timeline_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  JdsSyncTimeline *self = JDS_SYNC_TIMELINE (object);
  switch (prop_id)
    {
    case PROP_POSITION:
      g_value_set_double (value, self->position);
      break;
    case PROP_DURATION:
      g_value_set_double (value, self->duration);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, jds_sync_timeline_get_busy (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jds_sync_timeline_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  JdsSyncTimeline *self = JDS_SYNC_TIMELINE (object);
  switch (prop_id)
    {
    case PROP_POSITION:
      jds_sync_timeline_set_position (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jds_sync_timeline_dispose (GObject *object)
{
  JdsSyncTimeline *self = JDS_SYNC_TIMELINE (object);
  /* A measurement still running keeps the widget alive until it ends; its answer is dropped. */
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), JDS_TYPE_SYNC_TIMELINE);
  G_OBJECT_CLASS (jds_sync_timeline_parent_class)->dispose (object);
}

static void
jds_sync_timeline_finalize (GObject *object)
{
  JdsSyncTimeline *self = JDS_SYNC_TIMELINE (object);
  measurement_free (self->measurement);
  g_free (self->failure);
  g_free (self->description);
  G_OBJECT_CLASS (jds_sync_timeline_parent_class)->finalize (object);
}

static void
jds_sync_timeline_class_init (JdsSyncTimelineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = jds_sync_timeline_get_property;
  object_class->set_property = jds_sync_timeline_set_property;
  object_class->dispose = jds_sync_timeline_dispose;
  object_class->finalize = jds_sync_timeline_finalize;
  widget_class->snapshot = jds_sync_timeline_snapshot;
  widget_class->measure = jds_sync_timeline_measure;
  widget_class->size_allocate = jds_sync_timeline_size_allocate;
  widget_class->get_request_mode = jds_sync_timeline_get_request_mode;
  widget_class->css_changed = jds_sync_timeline_css_changed;

  properties[PROP_POSITION] =
    g_param_spec_double ("position", NULL, NULL, 0, G_MAXDOUBLE, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DURATION] =
    g_param_spec_double ("duration", NULL, NULL, 0, G_MAXDOUBLE, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               JDS_RESOURCE_PATH "/jds-sync-timeline.ui");
  gtk_widget_class_bind_template_child (widget_class, JdsSyncTimeline, labels);
  gtk_widget_class_bind_template_child (widget_class, JdsSyncTimeline, summary_label);
  gtk_widget_class_bind_template_child (widget_class, JdsSyncTimeline, detail_label);
  gtk_widget_class_set_css_name (widget_class, "jds-sync-timeline");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
jds_sync_timeline_init (JdsSyncTimeline *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  update_text (self);
}

/* jds-sync-timeline.h — whether a clip's sound agrees with its picture, at a glance: the clip's
 * length as a timeline with the visual events (top lane) and the audio onsets (bottom lane) the
 * engine's metrics find, pairs joined by a line, a playhead, and the measured offset in words. */
#pragma once

#include <gtk/gtk.h>

#include "jointdit.h"

G_BEGIN_DECLS

#define JDS_TYPE_SYNC_TIMELINE (jds_sync_timeline_get_type ())
G_DECLARE_FINAL_TYPE (JdsSyncTimeline, jds_sync_timeline, JDS, SYNC_TIMELINE, GtkWidget)

GtkWidget  *jds_sync_timeline_new          (void);

/* Copies the frames and sound of clip (the caller keeps it) and measures them on a worker
 * thread; a measurement still running for an earlier clip is cancelled and its answer dropped.
 * NULL clears the timeline. */
void        jds_sync_timeline_set_clip     (JdsSyncTimeline *self,
                                            const JdResult  *clip);

/* The playhead, in seconds from the clip's start ("position" property). */
void        jds_sync_timeline_set_position (JdsSyncTimeline *self,
                                            double           position);
double      jds_sync_timeline_get_position (JdsSyncTimeline *self);
/* Moves the playhead with stream's timestamp (microseconds) for as long as both live. */
void        jds_sync_timeline_follow_stream (JdsSyncTimeline *self,
                                             GtkMediaStream  *stream);

/* The clip's length in seconds (0 without a clip) and whether a measurement is running
 * ("duration", "busy" properties). */
double      jds_sync_timeline_get_duration (JdsSyncTimeline *self);
gboolean    jds_sync_timeline_get_busy     (JdsSyncTimeline *self);

/* The last measurement, for tests and the accessible description: FALSE when there is none
 * (no clip, still measuring, or it failed). offset (s, positive: sound after picture) is NAN
 * when no events could be compared; error (s, mean |Δ| of events within 100 ms) NAN when none. */
gboolean    jds_sync_timeline_get_measurement (JdsSyncTimeline *self,
                                               gsize           *n_visual,
                                               gsize           *n_audio,
                                               gsize           *n_pairs,
                                               double          *offset,
                                               double          *error);
/* The one-line verdict and the line of numbers under the lanes, as shown. */
const char *jds_sync_timeline_get_summary  (JdsSyncTimeline *self);
const char *jds_sync_timeline_get_detail   (JdsSyncTimeline *self);
/* What a screen reader says about the timeline (its accessible description). */
const char *jds_sync_timeline_get_description (JdsSyncTimeline *self);

G_END_DECLS

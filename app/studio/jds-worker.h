/* jds-worker.h — the thread that owns the engine.
 *
 * One dedicated thread opens the model, generates and exports, taking jobs in the order they
 * were asked for: a generation queued after a model change runs on the new model, and an export
 * queued while a generation runs waits for it and writes its result. Progress and previews go
 * through the mailbox (read on the frame clock); everything else arrives as signals on the main
 * loop. The JdGuidance may be steered from the main loop while a generation runs. */
#pragma once

#include <glib-object.h>

#include "jointdit.h"
#include "jds-mailbox.h"
#include "jds-result.h"

G_BEGIN_DECLS

#define JDS_TYPE_WORKER (jds_worker_get_type ())
G_DECLARE_FINAL_TYPE (JdsWorker, jds_worker, JDS, WORKER, GObject)

JdsWorker         *jds_worker_new             (void);

/* The model the following jobs use; path NULL or "" means the built-in default. n_threads ≤ 0
 * means one fewer than the cores (the GUI keeps one). Loading starts at once on the worker. */
void               jds_worker_set_model       (JdsWorker   *self,
                                               const char  *path,
                                               JdDevice     device,
                                               int          n_threads);
/* NULL until "model-loaded"; then what the model makes (owned by the worker). */
const JdModelInfo *jds_worker_get_model_info  (JdsWorker   *self);
/* The last model error, or NULL. */
const GError      *jds_worker_get_model_error (JdsWorker   *self);

void               jds_worker_generate        (JdsWorker   *self,
                                               GBytes      *image,
                                               const char  *image_name,
                                               int          steps,
                                               guint64      seed);
/* The same with guidance of its own (taken; NULL: the shared, steerable one) and a batch number
 * that the result carries and "failed" reports (0: the window's own runs; compare runs use
 * others, so each listener can tell its results apart). */
void               jds_worker_generate_full   (JdsWorker   *self,
                                               GBytes      *image,
                                               const char  *image_name,
                                               int          steps,
                                               guint64      seed,
                                               JdGuidance  *guidance,
                                               guint        batch);
/* Stops the running generation (within one step) and drops queued ones. */
void               jds_worker_cancel          (JdsWorker   *self);
/* Writes result (NULL: the newest result when the job's turn comes) to path: .mp4, .wav, or
 * a folder of PNG frames for a path without an extension. */
void               jds_worker_export          (JdsWorker   *self,
                                               JdsResult   *result,
                                               const char  *path);
gboolean           jds_worker_get_busy        (JdsWorker   *self);
/* Whether the worker has nothing queued or running (generations, exports or loads). */
gboolean           jds_worker_get_idle        (JdsWorker   *self);
JdGuidance        *jds_worker_get_guidance    (JdsWorker   *self);
JdsMailbox        *jds_worker_get_mailbox     (JdsWorker   *self);
int                jds_worker_default_threads (void);

G_END_DECLS

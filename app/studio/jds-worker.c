/* jds-worker.c — a job queue served by one thread that owns the JdEngine.
 *
 * Why a dedicated thread and not GTask: a generation takes minutes and the engine (and later its
 * CUDA context) belongs to the thread that opened it; GLib's shared pool is small and meant for
 * short work. */
#include "jds-worker.h"

#include <errno.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "jd-data-paths.h"
#include "jd-image.h"
#include "jd-export.h"

typedef enum
{
  JOB_LOAD,
  JOB_GENERATE,
  JOB_EXPORT,
  JOB_STOP,
} JobKind;

typedef struct
{
  JobKind       kind;
  /* JOB_LOAD */
  char         *model_path;
  JdDevice      device;
  int           n_threads;
  /* JOB_GENERATE */
  GBytes       *image;
  char         *image_name;
  int           steps;
  guint64       seed;
  JdGuidance   *guidance;     /* owned, or NULL for the shared one */
  guint         batch;
  GCancellable *cancellable;
  /* JOB_EXPORT */
  JdsResult    *result;
  char         *path;
} Job;

typedef enum
{
  EVENT_MODEL_LOADED,
  EVENT_MODEL_FAILED,
  EVENT_STARTED,
  EVENT_FINISHED,
  EVENT_FAILED,
  EVENT_EXPORTED,
  EVENT_JOB_DONE,
} EventKind;

typedef struct
{
  JdsWorker   *worker;
  EventKind    kind;
  JdModelInfo  info;
  char        *info_name;
  char        *info_path;
  JdsResult   *result;
  GError      *error;
  char        *path;
  guint        batch;
} Event;

struct _JdsWorker
{
  GObject       parent_instance;

  GThread      *thread;
  GAsyncQueue  *jobs;
  GMainContext *main_context;
  JdsMailbox   *mailbox;
  JdGuidance   *guidance;

  /* Cancellables of queued and running generations (guarded by lock). */
  GMutex        lock;
  GPtrArray    *live;

  /* Main thread only. */
  JdModelInfo   info;
  char         *info_name;
  char         *info_path;
  gboolean      has_info;
  GError       *model_error;
  guint         pending_generations;
  guint         pending_jobs;
  /* The model settings of the next jobs, copied into each job. */
  char         *desired_path;
  JdDevice      desired_device;
  int           desired_threads;

  /* Worker thread only. */
  JdEngine     *engine;
  char         *engine_path;
  JdDevice      engine_device;
  int           engine_threads;
  JdsResult    *latest;
  JdsFrames    *last_preview;
  guint         current_batch;
};

G_DEFINE_FINAL_TYPE (JdsWorker, jds_worker, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BUSY,
  PROP_IDLE,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum {
  MODEL_LOADED,
  MODEL_FAILED,
  STARTED,
  FINISHED,
  FAILED,
  EXPORTED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
job_free (Job *job)
{
  g_free (job->model_path);
  g_clear_pointer (&job->image, g_bytes_unref);
  g_free (job->image_name);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->guidance, jd_guidance_free);
  g_clear_pointer (&job->result, jds_result_unref);
  g_free (job->path);
  g_free (job);
}

static void
event_free (Event *event)
{
  g_clear_object (&event->worker);
  g_free (event->info_name);
  g_free (event->info_path);
  g_clear_pointer (&event->result, jds_result_unref);
  g_clear_error (&event->error);
  g_free (event->path);
  g_free (event);
}

/* ---- main thread ---- */

static gboolean
dispatch_event (gpointer data)
{
  Event *event = data;
  JdsWorker *self = event->worker;

  switch (event->kind)
    {
    case EVENT_MODEL_LOADED:
      g_free (self->info_name);
      g_free (self->info_path);
      self->info = event->info;
      self->info_name = g_steal_pointer (&event->info_name);
      self->info_path = g_steal_pointer (&event->info_path);
      self->info.name = self->info_name;
      self->info.path = self->info_path;
      self->info.backend = NULL;
      self->has_info = TRUE;
      g_clear_error (&self->model_error);
      g_signal_emit (self, signals[MODEL_LOADED], 0);
      break;
    case EVENT_MODEL_FAILED:
      self->has_info = FALSE;
      g_clear_error (&self->model_error);
      self->model_error = g_error_copy (event->error);
      g_signal_emit (self, signals[MODEL_FAILED], 0, event->error);
      break;
    case EVENT_STARTED:
      g_signal_emit (self, signals[STARTED], 0);
      break;
    case EVENT_FINISHED:
    case EVENT_FAILED:
      g_assert (self->pending_generations > 0);
      self->pending_generations--;
      if (self->pending_generations == 0)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
      if (event->kind == EVENT_FINISHED)
        g_signal_emit (self, signals[FINISHED], 0, event->result);
      else
        g_signal_emit (self, signals[FAILED], 0, event->error, event->batch);
      break;
    case EVENT_EXPORTED:
      if (event->error == NULL && event->result != NULL)
        event->result->exported = TRUE;
      g_signal_emit (self, signals[EXPORTED], 0, event->path, event->error);
      break;
    case EVENT_JOB_DONE:
      g_assert (self->pending_jobs > 0);
      self->pending_jobs--;
      if (self->pending_jobs == 0)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE]);
      break;
    default:
      g_assert_not_reached ();
    }
  return G_SOURCE_REMOVE;
}

static void
post_event (JdsWorker *self,
            Event     *event)
{
  event->worker = g_object_ref (self);
  g_main_context_invoke_full (self->main_context, G_PRIORITY_DEFAULT, dispatch_event, event,
                              (GDestroyNotify) event_free);
}

static void
push_job (JdsWorker *self,
          Job       *job)
{
  if (job->kind != JOB_STOP)
    {
      if (self->pending_jobs++ == 0)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE]);
    }
  g_async_queue_push (self->jobs, job);
}

/* ---- worker thread ---- */

static gboolean
ensure_engine (JdsWorker  *self,
               const char *path,
               JdDevice    device,
               int         n_threads,
               GError    **error)
{
  if (path == NULL || *path == '\0')
    path = jd_data_default_model_path ();
  if (n_threads <= 0)
    n_threads = jds_worker_default_threads ();
  if (self->engine != NULL && g_strcmp0 (self->engine_path, path) == 0
      && self->engine_device == device && self->engine_threads == n_threads)
    return TRUE;

  g_clear_pointer (&self->engine, jd_engine_free);
  g_clear_pointer (&self->engine_path, g_free);
  self->engine = jd_engine_open (path, device, n_threads, error);
  if (self->engine == NULL)
    return FALSE;
  self->engine_path = g_strdup (path);
  self->engine_device = device;
  self->engine_threads = n_threads;
  return TRUE;
}

static void
run_load (JdsWorker *self,
          Job       *job)
{
  g_autoptr (GError) error = NULL;
  Event *event = g_new0 (Event, 1);
  if (ensure_engine (self, job->model_path, job->device, job->n_threads, &error))
    {
      const JdModelInfo *info = jd_engine_get_info (self->engine);
      event->kind = EVENT_MODEL_LOADED;
      event->info = *info;
      event->info_name = g_strdup (info->name);
      event->info_path = g_strdup (info->path);
    }
  else
    {
      event->kind = EVENT_MODEL_FAILED;
      event->error = g_steal_pointer (&error);
    }
  post_event (self, event);
}

static void
on_progress (const JdProgress *progress,
             gpointer          user_data)
{
  JdsWorker *self = user_data;
  /* The mailbox feeds the main window: compare runs report only their results. */
  if (self->current_batch == 0)
    jds_mailbox_post_progress (self->mailbox, progress);
}

static void
on_preview (const JdPreview *preview,
            gpointer         user_data)
{
  JdsWorker *self = user_data;
  const JdModelInfo *info = jd_engine_get_info (self->engine);
  JdsFrames *frames = jds_frames_new (preview->n_frames, preview->width, preview->height,
                                      preview->frames, preview->mel_width, preview->mel_height,
                                      preview->mel);
  frames->step = preview->step;
  frames->total = preview->total;
  frames->fps = info->fps;
  frames->seconds = info->audio_seconds;
  if (self->current_batch == 0)
    jds_mailbox_post_preview (self->mailbox, frames);
  g_clear_pointer (&self->last_preview, jds_frames_unref);
  self->last_preview = frames;
}

static JdsResult *
run_generation (JdsWorker *self,
                Job       *job,
                GError   **error)
{
  if (g_cancellable_set_error_if_cancelled (job->cancellable, error))
    return NULL;
  if (!ensure_engine (self, job->model_path, job->device, job->n_threads, error))
    return NULL;

  const JdModelInfo *info = jd_engine_get_info (self->engine);
  g_autoptr (JdImage) image = jd_image_load_from_bytes (job->image, job->image_name,
                                                        info->width, info->height, error);
  if (image == NULL)
    return NULL;

  JdGuidance *guidance = job->guidance ? job->guidance : self->guidance;
  JdGenerateParams params;
  jd_generate_params_init (&params);
  params.steps = job->steps;
  params.seed = job->seed;
  params.guidance = guidance;
  params.cancellable = job->cancellable;
  params.on_progress = on_progress;
  params.on_preview = on_preview;
  params.user_data = self;

  g_clear_pointer (&self->last_preview, jds_frames_unref);
  self->current_batch = job->batch;
  JdResult *clip = NULL;
  if (!jd_engine_generate (self->engine, image->pixels, image->width, image->height,
                           image->stride, &params, &clip, error))
    return NULL;

  JdsResult *result = jds_result_new (clip, self->last_preview);
  JdGuidanceSnapshot snapshot = jd_guidance_snapshot (guidance);
  result->batch = job->batch;
  result->source_bytes = g_bytes_ref (job->image);
  result->source_name = g_strdup (job->image_name);
  result->seed = job->seed;
  result->steps = job->steps;
  result->mode = snapshot.mode;
  result->omega_video = snapshot.omega_video_last;
  result->omega_video_first = snapshot.omega_video_first;
  result->omega_audio = snapshot.omega_audio;
  result->model_name = g_strdup (info->name);
  return result;
}

static void
run_export (JdsWorker *self,
            Job       *job)
{
  g_autoptr (GError) error = NULL;
  JdsResult *result = job->result ? job->result : self->latest;
  Event *event = g_new0 (Event, 1);
  event->kind = EVENT_EXPORTED;
  event->path = g_strdup (job->path);
  if (result == NULL)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "There is no clip to export to “%s” yet: generate one first", job->path);
  else
    {
      /* The model's digest goes into the MP4 metadata; hashing waits until an export needs it. */
      if (result->model_sha256 == NULL && self->engine != NULL
          && g_strcmp0 (result->model_name, jd_engine_get_info (self->engine)->name) == 0)
        result->model_sha256 = g_strdup (jd_engine_get_sha256 (self->engine));
      JdMediaSettings settings = jds_result_media_settings (result);
      jd_export_result (result->clip, &settings, job->path, NULL, &error);
      event->result = jds_result_ref (result);
    }
  event->error = g_steal_pointer (&error);
  post_event (self, event);
}

/* The sampler's threads (this one and the OpenMP threads it starts, which inherit its nice
 * value) yield to the GUI thread: on Linux nice values are per thread, and ten steps down gives
 * the main loop about ten times their share of the CPU when both want it, so drawing stays
 * smooth while every core samples. */
static void
lower_worker_priority (void)
{
#ifdef __linux__
  pid_t tid = (pid_t) syscall (SYS_gettid);
  errno = 0;
  int nice_value = getpriority (PRIO_PROCESS, (id_t) tid);
  if (errno == 0 && setpriority (PRIO_PROCESS, (id_t) tid, MIN (nice_value + 10, 19)) != 0)
    g_debug ("Could not lower the worker thread's priority: %s", g_strerror (errno));
#endif
}

static gpointer
worker_main (gpointer data)
{
  JdsWorker *self = data;

  lower_worker_priority ();

  for (;;)
    {
      Job *job = g_async_queue_pop (self->jobs);
      if (job->kind == JOB_STOP)
        {
          job_free (job);
          break;
        }
      switch (job->kind)
        {
        case JOB_LOAD:
          run_load (self, job);
          break;
        case JOB_GENERATE:
          {
            g_autoptr (GError) error = NULL;
            post_event (self, g_memdup2 (&(Event) { .kind = EVENT_STARTED }, sizeof (Event)));
            JdsResult *result = run_generation (self, job, &error);
            Event *event = g_new0 (Event, 1);
            if (result != NULL)
              {
                /* "The newest result" that a scripted export writes is the window's, never a
                 * column of a comparison. */
                if (job->batch == 0)
                  {
                    g_clear_pointer (&self->latest, jds_result_unref);
                    self->latest = jds_result_ref (result);
                  }
                event->kind = EVENT_FINISHED;
                event->result = result;
              }
            else
              {
                event->kind = EVENT_FAILED;
                event->error = g_steal_pointer (&error);
                event->batch = job->batch;
              }
            g_mutex_lock (&self->lock);
            g_ptr_array_remove (self->live, job->cancellable);
            g_mutex_unlock (&self->lock);
            post_event (self, event);
          }
          break;
        case JOB_EXPORT:
          run_export (self, job);
          break;
        case JOB_STOP:
        default:
          g_assert_not_reached ();
        }
      job_free (job);
      post_event (self, g_memdup2 (&(Event) { .kind = EVENT_JOB_DONE }, sizeof (Event)));
    }

  g_clear_pointer (&self->engine, jd_engine_free);
  g_clear_pointer (&self->engine_path, g_free);
  g_clear_pointer (&self->latest, jds_result_unref);
  g_clear_pointer (&self->last_preview, jds_frames_unref);
  return NULL;
}

/* ---- public, main thread ---- */

int
jds_worker_default_threads (void)
{
  return MAX (1, (int) g_get_num_processors () - 1);
}

JdsWorker *
jds_worker_new (void)
{
  return g_object_new (JDS_TYPE_WORKER, NULL);
}

void
jds_worker_set_model (JdsWorker  *self,
                      const char *path,
                      JdDevice    device,
                      int         n_threads)
{
  g_return_if_fail (JDS_IS_WORKER (self));
  g_free (self->desired_path);
  self->desired_path = g_strdup (path && *path ? path : NULL);
  self->desired_device = device;
  self->desired_threads = n_threads;
  Job *job = g_new0 (Job, 1);
  job->kind = JOB_LOAD;
  job->model_path = g_strdup (self->desired_path);
  job->device = device;
  job->n_threads = n_threads;
  push_job (self, job);
}

const JdModelInfo *
jds_worker_get_model_info (JdsWorker *self)
{
  g_return_val_if_fail (JDS_IS_WORKER (self), NULL);
  return self->has_info ? &self->info : NULL;
}

const GError *
jds_worker_get_model_error (JdsWorker *self)
{
  g_return_val_if_fail (JDS_IS_WORKER (self), NULL);
  return self->model_error;
}

void
jds_worker_generate (JdsWorker  *self,
                     GBytes     *image,
                     const char *image_name,
                     int         steps,
                     guint64     seed)
{
  jds_worker_generate_full (self, image, image_name, steps, seed, NULL, 0);
}

void
jds_worker_generate_full (JdsWorker  *self,
                          GBytes     *image,
                          const char *image_name,
                          int         steps,
                          guint64     seed,
                          JdGuidance *guidance,
                          guint       batch)
{
  g_return_if_fail (JDS_IS_WORKER (self));
  g_return_if_fail (image != NULL);

  Job *job = g_new0 (Job, 1);
  job->kind = JOB_GENERATE;
  job->model_path = g_strdup (self->desired_path);
  job->device = self->desired_device;
  job->n_threads = self->desired_threads;
  job->image = g_bytes_ref (image);
  job->image_name = g_strdup (image_name);
  job->steps = steps;
  job->seed = seed;
  job->guidance = guidance;
  job->batch = batch;
  job->cancellable = g_cancellable_new ();
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->live, g_object_ref (job->cancellable));
  g_mutex_unlock (&self->lock);
  if (self->pending_generations++ == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  push_job (self, job);
}

void
jds_worker_cancel (JdsWorker *self)
{
  g_return_if_fail (JDS_IS_WORKER (self));
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->live->len; i++)
    g_cancellable_cancel (g_ptr_array_index (self->live, i));
  g_mutex_unlock (&self->lock);
}

void
jds_worker_export (JdsWorker  *self,
                   JdsResult  *result,
                   const char *path)
{
  g_return_if_fail (JDS_IS_WORKER (self));
  g_return_if_fail (path != NULL);
  Job *job = g_new0 (Job, 1);
  job->kind = JOB_EXPORT;
  job->result = result ? jds_result_ref (result) : NULL;
  job->path = g_strdup (path);
  push_job (self, job);
}

gboolean
jds_worker_get_busy (JdsWorker *self)
{
  g_return_val_if_fail (JDS_IS_WORKER (self), FALSE);
  return self->pending_generations > 0;
}

gboolean
jds_worker_get_idle (JdsWorker *self)
{
  g_return_val_if_fail (JDS_IS_WORKER (self), FALSE);
  return self->pending_jobs == 0;
}

JdGuidance *
jds_worker_get_guidance (JdsWorker *self)
{
  g_return_val_if_fail (JDS_IS_WORKER (self), NULL);
  return self->guidance;
}

JdsMailbox *
jds_worker_get_mailbox (JdsWorker *self)
{
  g_return_val_if_fail (JDS_IS_WORKER (self), NULL);
  return self->mailbox;
}

static void
jds_worker_dispose (GObject *object)
{
  JdsWorker *self = JDS_WORKER (object);

  if (self->thread != NULL)
    {
      /* Stop the running generation at its next step, drop the queue and wait. */
      jds_worker_cancel (self);
      Job *job;
      while ((job = g_async_queue_try_pop (self->jobs)) != NULL)
        job_free (job);
      Job *stop = g_new0 (Job, 1);
      stop->kind = JOB_STOP;
      g_async_queue_push (self->jobs, stop);
      g_thread_join (g_steal_pointer (&self->thread));
    }
  G_OBJECT_CLASS (jds_worker_parent_class)->dispose (object);
}

static void
jds_worker_finalize (GObject *object)
{
  JdsWorker *self = JDS_WORKER (object);
  g_async_queue_unref (self->jobs);
  g_main_context_unref (self->main_context);
  jds_mailbox_free (self->mailbox);
  jd_guidance_free (self->guidance);
  g_ptr_array_unref (self->live);
  g_mutex_clear (&self->lock);
  g_free (self->info_name);
  g_free (self->info_path);
  g_free (self->desired_path);
  g_clear_error (&self->model_error);
  G_OBJECT_CLASS (jds_worker_parent_class)->finalize (object);
}

static void
jds_worker_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  JdsWorker *self = JDS_WORKER (object);
  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, jds_worker_get_busy (self));
      break;
    case PROP_IDLE:
      g_value_set_boolean (value, jds_worker_get_idle (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jds_worker_class_init (JdsWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = jds_worker_dispose;
  object_class->finalize = jds_worker_finalize;
  object_class->get_property = jds_worker_get_property;

  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_IDLE] = g_param_spec_boolean ("idle", NULL, NULL, TRUE,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[MODEL_LOADED] = g_signal_new ("model-loaded", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 0);
  signals[MODEL_FAILED] = g_signal_new ("model-failed", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 1, G_TYPE_ERROR);
  signals[STARTED] = g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 1, JDS_TYPE_RESULT);
  /* Also for a cancelled run: the error is G_IO_ERROR_CANCELLED. */
  signals[FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_ERROR, G_TYPE_UINT);
  signals[EXPORTED] = g_signal_new ("exported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING,
                                    G_TYPE_ERROR);
}

static void
jds_worker_init (JdsWorker *self)
{
  g_mutex_init (&self->lock);
  self->live = g_ptr_array_new_with_free_func (g_object_unref);
  self->jobs = g_async_queue_new ();
  self->main_context = g_main_context_ref_thread_default ();
  self->mailbox = jds_mailbox_new ();
  self->guidance = jd_guidance_new ();
  self->thread = g_thread_new ("jds-worker", worker_main, self);
}

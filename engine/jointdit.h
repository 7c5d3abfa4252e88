/* jointdit.h — the engine's public interface: open a model bundle, generate a clip from a still
 * image, get the frames (RGBA8) and the sound (float PCM) back.
 *
 * The pipeline (DESIGN.md §3, §5):
 *   image (RGB8 at the model's size) → [-1, 1] → video VAE encode (posterior mode, unscaled)
 *   → noise augmentation (Philox from the seed) → image encoder (CLIP preprocessing) →
 *   JointDiT condition → joint sampling → video x̂₀ ÷ scaling factor → video VAE decode → RGBA8;
 *   audio x̂₀ ÷ scaling factor → audio VAE decode → log-mel → vocoder (or Griffin-Lim when the
 *   bundle has no vocoder for that mel) → PCM.
 *
 * An engine is used from one thread at a time; the callbacks run on the thread that called
 * jd_engine_generate. The JdGuidance in the parameters may be changed from any thread while a
 * generation runs (it takes effect at the next step), and the GCancellable stops it between
 * denoiser calls with a G_IO_ERROR_CANCELLED error.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "jd-guidance.h"

G_BEGIN_DECLS

typedef enum {
  JD_DEVICE_AUTO,   /* a usable GPU when this build has CUDA, else the CPU */
  JD_DEVICE_CPU,
  JD_DEVICE_CUDA,
} JdDevice;

/* "auto", "cpu", "cuda" */
const char *jd_device_name  (JdDevice    device);
gboolean    jd_device_parse (const char *name,
                             JdDevice   *device);
/* Whether jd_engine_open can run on device here and now: the CPU and "auto" always can; the GPU
 * when this build has the CUDA backend and the CUDA runtime sees a device. When not, *reason
 * (may be NULL; free with g_free) gets a sentence saying why. Cheap enough for a UI to ask once
 * at start-up (it does not create a CUDA context). */
gboolean    jd_device_usable (JdDevice    device,
                              char      **reason);

typedef struct _JdEngine JdEngine;

/* What a bundle makes, read from its config ("shapes", "joint", the VAEs and the vocoder). */
typedef struct {
  const char *path;            /* as given to jd_engine_open */
  const char *name;            /* the config's "name", else the file name without ".safetensors" */
  const char *backend;         /* "cpu" or "cuda" */
  int         threads;
  int         frames;
  double      fps;             /* joint.video_fps */
  int         width;           /* pixels: the video latent size × the video VAE factor */
  int         height;
  int         sample_rate;     /* Hz */
  int         mel_frames;      /* the audio VAE's output: mel frames × mel bins */
  int         mel_bins;
  int         hop_length;      /* samples per mel frame */
  double      audio_seconds;   /* mel_frames · hop_length / sample_rate */
  int64_t     video_latent[4]; /* (F, C, h, w) */
  int64_t     audio_latent[3]; /* (C, T, F_mel) */
  gboolean    has_vocoder;     /* FALSE: the sound comes from Griffin-Lim */
  gboolean    has_preview;     /* the bundle has latent→RGB and latent→mel preview maps */
} JdModelInfo;

/* Opens the bundle at path on the chosen backend with n_threads (≤ 0: one per core). Fails with
 * JD_ERROR_UNSUPPORTED for "cuda" in a build without the CUDA backend, and with the bundle's
 * own errors (JD_ERROR_MODEL_FILE, JD_ERROR_IO) naming the file. */
JdEngine          *jd_engine_open       (const char *path,
                                         JdDevice    device,
                                         int         n_threads,
                                         GError    **error);
void               jd_engine_free       (JdEngine   *engine);
const JdModelInfo *jd_engine_get_info   (JdEngine   *engine);
/* The lower-case hex SHA-256 of the bundle file, computed on the first call. */
const char        *jd_engine_get_sha256 (JdEngine   *engine);
/* Seconds jd_engine_open took (reading the file, building the models). */
double             jd_engine_get_load_seconds (JdEngine *engine);

/* Handed to the progress callback after every step. */
typedef struct {
  int    step;         /* 1-based */
  int    total;
  double t_uni;        /* the unified timestep of this step */
  double sigma_video;  /* σ_v */
  int    audio_index;  /* t_a */
  double elapsed_s;
  double eta_s;        /* the sampling time left, from the mean step time so far */
} JdProgress;

/* Cheap pictures of this step's x̂₀ (only when the bundle has preview maps): n_frames frames of
 * width × height RGBA8 (the latent grid, one pixel per latent), packed one after another, and
 * a mel image of mel_width (time) × mel_height (frequency, low at the bottom) RGBA8. All
 * pointers are valid during the call only. */
typedef struct {
  int           step;
  int           total;
  int           n_frames;
  int           width;
  int           height;
  const guint8 *frames;
  int           mel_width;
  int           mel_height;
  const guint8 *mel;
} JdPreview;

typedef void (*JdProgressFunc) (const JdProgress *progress, gpointer user_data);
typedef void (*JdPreviewFunc)  (const JdPreview  *preview,  gpointer user_data);

typedef struct {
  int             steps;               /* ≥ 1 */
  guint64         seed;
  JdGuidance     *guidance;            /* borrowed; NULL: no guidance */
  double          noise_aug_strength;  /* ≥ 0; the condition's noise augmentation */
  double          motion_bucket_id;
  double          condition_fps;       /* ≤ 0: the model's fps */
  GCancellable   *cancellable;         /* NULL: not cancellable */
  JdProgressFunc  on_progress;
  JdPreviewFunc   on_preview;
  gpointer        user_data;
} JdGenerateParams;

#define JD_DEFAULT_STEPS              25
#define JD_DEFAULT_NOISE_AUG_STRENGTH 0.02
#define JD_DEFAULT_MOTION_BUCKET_ID   127.0

/* Fills params with the defaults above, seed 0, no guidance, no callbacks. */
void jd_generate_params_init (JdGenerateParams *params);

typedef struct {
  int     n_frames;
  int     width;
  int     height;
  guint8 *frames;       /* n_frames × height × width × 4 bytes, RGBA8, frame after frame */
  gsize   n_samples;
  int     sample_rate;
  float  *pcm;          /* n_samples mono samples, nominally in [-1, 1]: a vocoder ends in tanh,
                          * Griffin-Lim is not bounded, so writers clip (app/media's WAV and MP4 writers do) */
  double  fps;
  double  load_s;       /* opening the engine */
  double  condition_s;  /* encoding the image */
  double  sampling_s;   /* the denoising steps */
  double  decode_s;     /* VAE decoders and vocoder */
} JdResult;

void jd_result_free (JdResult *result);

/* Generates a clip from rgb (width × height RGB8 rows `stride` bytes apart), which must be the
 * model's size (JdModelInfo.width × height). */
gboolean jd_engine_generate (JdEngine               *engine,
                             const guint8           *rgb,
                             int                     width,
                             int                     height,
                             gsize                   stride,
                             const JdGenerateParams *params,
                             JdResult              **result,
                             GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdEngine, jd_engine_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdResult, jd_result_free)

G_END_DECLS

/* jd-convert-config.h — the bundle config ("jointdit.config") of a converted model: the
 * sources' own architecture values (as the engine reads them), the layer split, the target
 * shapes, and every constant the published models were trained or are sampled with. */
#pragma once

#include <json-glib/json-glib.h>
#include <stdint.h>

#include "jd-convert-audioldm2.h"
#include "jd-convert-blocks.h"

G_BEGIN_DECLS

/* SVD / EDM (FACTS.md) */
#define JD_CONVERT_SVD_SIGMA_MIN      0.002
#define JD_CONVERT_SVD_SIGMA_MAX      700.0
#define JD_CONVERT_SVD_P_MEAN         0.7
#define JD_CONVERT_SVD_P_STD          1.6
#define JD_CONVERT_SVD_VAE_SCALE      0.18215
#define JD_CONVERT_SVD_FPS            6
#define JD_CONVERT_SVD_MOTION_BUCKET  127
#define JD_CONVERT_SVD_NOISE_AUG      0.02
#define JD_CONVERT_SVD_HEIGHT         576
#define JD_CONVERT_SVD_WIDTH          1024
/* AudioLDM2 / DDPM */
#define JD_CONVERT_AUDIO_BETA_START   0.0015
#define JD_CONVERT_AUDIO_BETA_END     0.0195
#define JD_CONVERT_AUDIO_TRAIN_STEPS  1000
#define JD_CONVERT_AUDIO_VAE_SCALE    0.4110932946205139
#define JD_CONVERT_AUDIO_RATE         16000
#define JD_CONVERT_AUDIO_MEL_BINS     64
#define JD_CONVERT_AUDIO_HOP          160
#define JD_CONVERT_AUDIO_N_FFT        1024
#define JD_CONVERT_AUDIO_FMAX         8000
/* default guidance: ω_v ramps 0 → 2 over the frames (diffusers' 1 → 3), ω_a 2.5 (diffusers'
 * 3.5); our ω multiplies (D − D_∅) from D, diffusers' s from D_∅, so ω = s − 1. */
#define JD_CONVERT_OMEGA_VIDEO_FIRST  0.0
#define JD_CONVERT_OMEGA_VIDEO_LAST   2.0
#define JD_CONVERT_OMEGA_AUDIO        2.5

typedef struct {
  JsonObject *video_unet;      /* the sources' config.json objects */
  JsonObject *video_vae;
  JsonObject *image_encoder;
  JsonObject *audio_unet;
  JsonObject *audio_vae;
  JsonObject *vocoder;         /* NULL: none */
  int         n_audio_blocks;
  int64_t     audio_heads[JD_CONVERT_MAX_BLOCKS];
  int64_t     audio_contexts[JD_CONVERT_MAX_BLOCKS][JD_CONVERT_MAX_POSITIONS];
  int         audio_positions[JD_CONVERT_MAX_BLOCKS];
  int64_t     image_embed_dim;
  int64_t     d_qk, d_v, heads;
  int         n_joint_blocks;
  const char *split_video[JD_CONVERT_MAX_BLOCKS];
  const char *split_audio[JD_CONVERT_MAX_BLOCKS];
  JsonNode   *provenance;      /* copied in */
} JdConvertConfigInput;

/* The config as compact JSON text; free with g_free. */
char *jd_convert_config_build (const JdConvertConfigInput *in, GError **error);

G_END_DECLS

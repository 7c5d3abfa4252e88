/* jd-engine-private.h — what the engine's files share: the open model and its parts. */
#pragma once

#include "jointdit.h"

#include "jd-bundle.h"
#include "jd-griffin-lim.h"
#include "jd-image-encoder.h"
#include "jd-jointdit.h"
#include "jd-schedule.h"
#include "jd-vae.h"
#include "jd-vocoder.h"
#include "jd-weights.h"

G_BEGIN_DECLS

#define JD_PREVIEW_MAX_CHANNELS 64

/* The bundle's linear preview maps (config "preview"): rgb = W·z + b per latent pixel (3 × C),
 * mel = w·z + b per audio latent cell (1 × C). Values are on the model's [-1, 1] picture scale
 * for RGB; the mel image is stretched to its own range. */
typedef struct {
  gboolean available;
  int      video_channels;
  float    rgb_weight[3][JD_PREVIEW_MAX_CHANNELS];
  float    rgb_bias[3];
  int      audio_channels;
  float    mel_weight[JD_PREVIEW_MAX_CHANNELS];
  float    mel_bias;
  /* The same maps as 1×1 convolutions on the engine's backend (jd_preview_maps_upload): a
   * preview is computed where x̂₀ lives, and only the mapped planes (3 per frame, 1 for the mel)
   * are copied back. */
  JdTensor *rgb_conv_weight;   /* (3, C_v, 1, 1) */
  JdTensor *rgb_conv_bias;     /* (3) */
  JdTensor *mel_conv_weight;   /* (1, C_a, 1, 1) */
  JdTensor *mel_conv_bias;     /* (1) */
} JdPreviewMaps;

struct _JdEngine {
  JdModelInfo     info;
  char           *path;
  char           *name;
  char           *sha256;
  double          load_s;

  JdBackend      *backend;
  JdBundle       *bundle;
  JdWeights      *weights;
  JdJointDiT     *jointdit;
  JdVae          *video_vae;
  JdVae          *audio_vae;
  JdImageEncoder *image_encoder;
  JdVocoder      *vocoder;      /* NULL: Griffin-Lim */
  JdSchedule     *schedule;
  JdPreviewMaps   preview;
};

/* Reads config "preview" into maps; absent → maps->available = FALSE. */
gboolean jd_preview_maps_read (JsonObject *root, int video_channels, int audio_channels,
                               JdPreviewMaps *maps, GError **error);
/* Puts the maps on the backend as constant 1×1 convolution weights (nothing when there are
 * no maps); jd_preview_maps_clear frees them. */
gboolean jd_preview_maps_upload (JdPreviewMaps *maps, JdBackend *backend, GError **error);
void     jd_preview_maps_clear  (JdPreviewMaps *maps);
/* Renders video x̂₀ (F, C, h, w) and audio x̂₀ (C, T, F_mel), tensors on the backend the maps
 * were uploaded to, into RGBA preview pictures: frames F × h × w, mel T wide and F_mel high
 * (allocated into *frames and *mel, free with g_free). */
gboolean jd_preview_render (const JdPreviewMaps *maps, JdBackend *backend, const JdTensor *video,
                            const JdTensor *audio, guint8 **frames, guint8 **mel,
                            GError **error);

G_END_DECLS

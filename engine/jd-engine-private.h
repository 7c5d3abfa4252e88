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
/* Renders video x̂₀ (F, C, h, w) and audio x̂₀ (C, T, F_mel) into preview pictures (the
 * buffers are allocated into *frames and *mel, free with g_free). */
void     jd_preview_render (const JdPreviewMaps *maps, const float *video, const int64_t *vshape,
                            const float *audio, const int64_t *ashape, guint8 **frames,
                            guint8 **mel);

G_END_DECLS

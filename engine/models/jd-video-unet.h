/* jd-video-unet.h — the SVD-family spatio-temporal UNet (the structure of diffusers'
 * UNetSpatioTemporalConditionModel), built from a bundle's "video_unet" config object with the
 * keys of that model's config.json (tools/reference/jointdit_reference/video_unet.py).
 *
 * Inside, tensors are frame batches (B·F, C, H, W). The conditioning is computed once per call
 * (jd_video_unet_embed) and passed to every stage: temb (B·F, temb_channels), the context
 * (B, L, D) (the image embedding; each sample's own context serves all its frames and pixel
 * sequences) and the frame count. Stages and the skip list: see jd-unet-common.h.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jd-unet-common.h"

G_BEGIN_DECLS

typedef struct _JdVideoUNet JdVideoUNet;

/* Reads config (the "video_unet" object; config_path names it in messages) and looks every
 * weight up under prefix ("video.unet"), so a bundle that does not fit fails here. */
JdVideoUNet *jd_video_unet_new            (JdWeights *weights, JsonObject *config,
                                           const char *config_path, const char *prefix,
                                           GError **error);
void         jd_video_unet_free           (JdVideoUNet *unet);

int64_t      jd_video_unet_get_in_channels   (JdVideoUNet *unet);
int64_t      jd_video_unet_get_out_channels  (JdVideoUNet *unet);
int64_t      jd_video_unet_get_temb_channels (JdVideoUNet *unet);
int64_t      jd_video_unet_get_context_dim   (JdVideoUNet *unet);

/* Encoder stages: "conv_in", "down_blocks.0", …, "mid_block". */
guint        jd_video_unet_get_n_stages   (JdVideoUNet *unet);
const char  *jd_video_unet_get_stage_name (JdVideoUNet *unet, guint stage);
/* The index of a stage name, or -1. */
int          jd_video_unet_find_stage     (JdVideoUNet *unet, const char *name);
/* The channels of a stage's output. */
int64_t      jd_video_unet_get_stage_channels (JdVideoUNet *unet, guint stage);

/* timestep (B) or (1) = c_noise; added_time_ids (B, 3) = [fps − 1, motion bucket, noise-aug
 * strength] -> temb (B·F, temb_channels): time_embedding(sinusoids(t)) +
 * add_embedding(sinusoids of each id, concatenated), repeated for every frame. */
JdTensor    *jd_video_unet_embed          (JdVideoUNet *unet, const JdTensor *timestep,
                                           const JdTensor *added_time_ids, int frames,
                                           GError **error);
/* Runs one encoder stage on h (B·F, C, H, W), appending the skips it saves. */
JdTensor    *jd_video_unet_run_stage      (JdVideoUNet *unet, guint stage, const JdTensor *h,
                                           GPtrArray *skips, const JdTensor *temb,
                                           const JdTensor *context, int frames, GError **error);
/* The Output layer: up blocks (each layer consumes the newest skip), conv_norm_out, SiLU,
 * conv_out -> (B·F, out_channels, H, W). Consumes the skips. */
JdTensor    *jd_video_unet_decode         (JdVideoUNet *unet, const JdTensor *h,
                                           GPtrArray *skips, const JdTensor *temb,
                                           const JdTensor *context, int frames, GError **error);
/* The whole UNet: sample (B, F, in_channels, H, W) (the caller has applied c_in to the noisy
 * half and concatenated the image latent), timestep (B) or (1), context (B, L, D),
 * added_time_ids (B, 3) -> (B, F, out_channels, H, W). */
JdTensor    *jd_video_unet_forward        (JdVideoUNet *unet, const JdTensor *sample,
                                           const JdTensor *timestep, const JdTensor *context,
                                           const JdTensor *added_time_ids, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdVideoUNet, jd_video_unet_free)

G_END_DECLS

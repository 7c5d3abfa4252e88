/* jd-audio-unet.h — the AudioLDM2-family UNet (the structure of diffusers'
 * AudioLDM2UNet2DConditionModel) built from a bundle's "audio_unet" config object
 * (tools/reference/jointdit_reference/audio_unet.py): ResnetBlock2D down/mid/up blocks with 2-D
 * transformers, and `image_proj` adding the image embedding to the timestep embedding (paper
 * §4.1). Latents are (B, C, T, F_mel): time along height.
 *
 * Only the image-conditioned form is built: with "text_transformers": false, each attention
 * position keeps just its self-attention transformer, under its published index
 * attentions.{g·P + k} (P = the number of cross_attention_dim entries per block, k a position
 * whose dim is null). A config with text transformers is refused (JD_ERROR_UNSUPPORTED): the
 * engine has no text encoders. Stages and skips: see jd-unet-common.h.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jd-unet-common.h"

G_BEGIN_DECLS

typedef struct _JdAudioUNet JdAudioUNet;

JdAudioUNet *jd_audio_unet_new            (JdWeights *weights, JsonObject *config,
                                           const char *config_path, const char *prefix,
                                           GError **error);
void         jd_audio_unet_free           (JdAudioUNet *unet);

int64_t      jd_audio_unet_get_in_channels     (JdAudioUNet *unet);
int64_t      jd_audio_unet_get_out_channels    (JdAudioUNet *unet);
int64_t      jd_audio_unet_get_temb_channels   (JdAudioUNet *unet);
/* 0 when the config has no image_embed_dim. */
int64_t      jd_audio_unet_get_image_embed_dim (JdAudioUNet *unet);

guint        jd_audio_unet_get_n_stages       (JdAudioUNet *unet);
const char  *jd_audio_unet_get_stage_name     (JdAudioUNet *unet, guint stage);
int          jd_audio_unet_find_stage         (JdAudioUNet *unet, const char *name);
int64_t      jd_audio_unet_get_stage_channels (JdAudioUNet *unet, guint stage);

/* timestep (1) or (batch) (the DDPM index); image_embeds (batch, image_embed_dim), or NULL for
 * the null condition, which skips image_proj (it does not feed zeros) -> temb (batch, temb). */
JdTensor    *jd_audio_unet_embed          (JdAudioUNet *unet, const JdTensor *timestep,
                                           int64_t batch, const JdTensor *image_embeds,
                                           GError **error);
JdTensor    *jd_audio_unet_run_stage      (JdAudioUNet *unet, guint stage, const JdTensor *h,
                                           GPtrArray *skips, const JdTensor *temb,
                                           GError **error);
/* Up blocks (each upsampler goes to the next skip's size, so odd latent sizes line up),
 * conv_norm_out, SiLU, conv_out. Consumes the skips. */
JdTensor    *jd_audio_unet_decode         (JdAudioUNet *unet, const JdTensor *h,
                                           GPtrArray *skips, const JdTensor *temb,
                                           GError **error);
/* sample (B, in_channels, T, F) -> (B, out_channels, T, F). */
JdTensor    *jd_audio_unet_forward        (JdAudioUNet *unet, const JdTensor *sample,
                                           const JdTensor *timestep,
                                           const JdTensor *image_embeds, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdAudioUNet, jd_audio_unet_free)

G_END_DECLS

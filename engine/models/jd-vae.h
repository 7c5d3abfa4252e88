/* jd-vae.h — the two VAEs, as tools/reference/jointdit_reference/vae.py (and diffusers) build
 * them, always in F32.
 *
 * Both share the encoder (conv_in → down blocks with bottom/right-padded stride-2
 * downsamplers → mid block (resnet, 1-head attention, resnet) → GroupNorm → SiLU → conv_out to
 * 2·latent channels → quant_conv) and return the posterior mean, unscaled.
 * Audio (AutoencoderKL): decode = post_quant_conv → conv_in → mid (resnet, attention, resnet) →
 * up blocks (layers + 1 resnets, nearest ×2 + conv) → GroupNorm → SiLU → conv_out.
 * Video (AutoencoderKLTemporalDecoder): no post_quant_conv; every decoder resnet is a
 * spatio-temporal block whose time_mixer weighs the temporal branch by sigmoid(mix_factor)
 * (the reversed blend), the mid block runs resnets[0] then (attention, resnets[i]) pairs, and
 * a Conv3d (3, 1, 1) time_conv_out follows conv_out. All frames are decoded at once: the
 * temporal GroupNorms' statistics span every frame, so decoding in chunks would change them.
 * decode takes latents already divided by the scaling factor.
 * GroupNorm eps: 1e-6 for spatial norms, 1e-5 for temporal ones (FACTS.md).
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jd-layers.h"

G_BEGIN_DECLS

#define JD_VAE_MAX_BLOCKS 8

typedef enum {
  JD_VAE_VIDEO,   /* AutoencoderKLTemporalDecoder */
  JD_VAE_AUDIO,   /* AutoencoderKL */
} JdVaeKind;

typedef struct {
  int    in_channels;
  int    out_channels;
  int    n_blocks;
  int    block_out_channels[JD_VAE_MAX_BLOCKS];
  int    layers_per_block;
  int    latent_channels;
  int    norm_num_groups;
  /* The video VAE's temporal decoder: SVD fixes 32 groups whatever norm_num_groups (the
   * encoder's) says; "decoder_norm_num_groups" overrides that for compact models. */
  int    decoder_norm_num_groups;
  double scaling_factor;
} JdVaeConfig;

typedef struct _JdVae JdVae;

/* Reads a `video_vae` / `audio_vae` object; `path` names it in messages. */
gboolean   jd_vae_config_read (JsonObject *object, const char *path, JdVaeConfig *config,
                               GError **error);

/* Looks every weight up under prefix ("video.vae", "audio.vae"), checking shapes. */
JdVae     *jd_vae_new         (JdWeights *weights, JdVaeKind kind, const JdVaeConfig *config,
                               const char *prefix, GError **error);
void       jd_vae_free        (JdVae *vae);
const JdVaeConfig *jd_vae_get_config (JdVae *vae);
/* The spatial factor between pixels and latents, 2^(n_blocks − 1). */
int        jd_vae_factor      (JdVae *vae);

/* x (N, in_channels, H, W) → posterior mean (N, latent_channels, ⌈H/f⌉…), unscaled. */
JdTensor  *jd_vae_encode      (JdVae *vae, const JdTensor *x, GError **error);
/* z (N, latent_channels, h, w), already divided by the scaling factor → (N, out_channels,
 * h·f, w·f). Video: N = batch · frames with each sample's frames consecutive; frames is
 * ignored for audio. */
JdTensor  *jd_vae_decode      (JdVae *vae, const JdTensor *z, int frames, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdVae, jd_vae_free)

G_END_DECLS

/* jd-jointdit.h — the joint denoiser JointDiT (DESIGN.md §3): the video and audio UNets cut into
 * Input, Expert and Output layers, a Joint Block after each Expert, as
 * tools/reference/jointdit_reference/joint.py (JointDiT.forward) computes it.
 *
 * The bundle config's "joint" object names the split ({"video": [...], "audio": [...]}: the
 * encoder stage after which each Joint Block sits), d_qk, d_v, heads, rope_base, rope_clock_hz,
 * video_fps and audio_latent_seconds (one audio latent column's duration at the UNet input).
 * Each Joint Block's output replaces the last skip its Expert stage saved and feeds the next
 * stage.
 *
 * Besides the raw forward (the parity goldens' view), a JdJointDiT is the sampler's denoiser
 * (jd-denoiser.h): it applies the preconditioning of both modalities, the condition or the null
 * condition per call, and runs the calls of one request as one batch.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jd-denoiser.h"
#include "jd-weights.h"

G_BEGIN_DECLS

typedef struct _JdJointDiT JdJointDiT;

/* One raw forward's inputs, as the reference's JointDiT.forward takes them. */
typedef struct {
  const JdTensor *video_sample;    /* (B, F, 2·C, H, W): [c_in·x, image latent] */
  const JdTensor *video_timestep;  /* (B) or (1): c_noise */
  const JdTensor *video_context;   /* (B, L, D) */
  const JdTensor *added_time_ids;  /* (B, 3): [fps − 1, motion bucket, noise-aug strength] */
  const JdTensor *audio_sample;    /* (B, C, T, F_mel) */
  const JdTensor *audio_timestep;  /* (B) or (1): the DDPM index */
  const JdTensor *image_embeds;    /* (B, E), or NULL: the audio null condition */
} JdJointDiTInputs;

/* Builds the joint denoiser from a bundle's config ("video_unet", "audio_unet", "joint",
 * "shapes") and its weights (borrowed; they must outlive the JointDiT). */
JdJointDiT *jd_jointdit_new   (JdWeights *weights, JsonObject *config, GError **error);
void        jd_jointdit_free  (JdJointDiT *jointdit);

/* Latent shapes of one sample: video (F, C, H, W) and audio (C, T, F_mel), from config
 * "shapes". */
void        jd_jointdit_get_latent_shapes (JdJointDiT *jointdit, int64_t video[4],
                                           int64_t audio[3]);

/* The conditions of a generation: image_latent (C, H, W) = VAE posterior mode (unscaled) with
 * noise augmentation already added; image_embedding (D) from the image encoder (the video
 * context, and the audio image_proj input); the added time ids are [fps − 1, motion_bucket_id,
 * noise_aug_strength] (fps the video's frame rate; SVD's pipeline conditions on fps − 1).
 * Kept (copied) until replaced. */
gboolean    jd_jointdit_set_condition (JdJointDiT *jointdit, const JdTensor *image_latent,
                                       const JdTensor *image_embedding, double fps,
                                       double motion_bucket_id, double noise_aug_strength,
                                       GError **error);

/* The sampler's view: x̂₀ of both modalities for 1 or 2 calls at one paired noise level.
 * Video: sample [c_in(σ)·x, image latent] per frame, timestep c_noise(σ), v-prediction → x̂₀;
 * audio: timestep the DDPM index, ε-prediction → x̂₀. A conditioned call uses the condition of
 * jd_jointdit_set_condition (which must have been set); ∅ uses a zero image latent and a zero
 * context for video and no image_proj addition for audio. The calls of a request run as one
 * batch. Owned by the JointDiT. */
JdDenoiser *jd_jointdit_get_denoiser (JdJointDiT *jointdit);

/* One raw forward, as the reference's JointDiT.forward: video_out (B, F, C, H, W) is the
 * v-prediction, audio_out (B, C, T, F_mel) the ε-prediction (both allocated by the caller). */
gboolean    jd_jointdit_forward (JdJointDiT *jointdit, const JdJointDiTInputs *inputs,
                                 JdAttentionMode attention, JdTensor *video_out,
                                 JdTensor *audio_out, GError **error);

/* Like jd_jointdit_forward with an attention mode per sample (modes[b]) and, when image_embeds
 * is given, has_image[b] FALSE giving sample b the audio null condition (NULL: all have it). */
gboolean    jd_jointdit_forward_mixed (JdJointDiT *jointdit, const JdJointDiTInputs *inputs,
                                       const JdAttentionMode *modes, const gboolean *has_image,
                                       JdTensor *video_out, JdTensor *audio_out,
                                       GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdJointDiT, jd_jointdit_free)

G_END_DECLS

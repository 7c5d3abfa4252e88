/* jd-joint-block.h — one Joint Block of JointDiT (DESIGN.md §3, paper §3.2), as
 * tools/reference/jointdit_reference/joint.py computes it.
 *
 * For each modality m (video, audio) with tokens h (B, N_m, C_m) and timestep embedding e_m:
 *   (s1, b1, g1, s2, b2, g2) = m_modulation(SiLU(e_m))              (AdaLN-Zero)
 *   h ← h + g1 ⊙ JointAttn(LN(h)·(1 + s1) + b1)                      (both modalities at once)
 *   h ← h + g2 ⊙ FF(LN(h)·(1 + s2) + b2)                             (GEGLU, per modality)
 * LN has no parameters (eps 1e-6). JointAttn is the Perceiver joint attention: per-modality
 * to_q / to_k (→ d_qk) and to_v (→ d_v), RoPE with one clock on q and k, one softmax over the
 * concatenation [video; audio], per-modality to_out. The attention mode is chosen per sample:
 * full, block-diagonal (each modality attends only to itself) or skip (no attention term; the
 * feed-forward stays).
 *
 * RoPE: head dim d = d_qk / heads, runs time first: video [d/2, d/4, d/4] for (t, h, w), audio
 * [d/2, d/2] for (t, f); time positions 25·(centre time in seconds) (the clock), spatial and
 * frequency positions the integer index on the level's grid.
 */
#pragma once

#include "jd-guidance.h"
#include "jd-layers.h"

G_BEGIN_DECLS

#define JD_JOINT_MODALITIES 2   /* 0 video, 1 audio */

typedef struct {
  JdLinearLayer modulation;          /* temb → 6·C: (s1, b1, g1, s2, b2, g2) */
  JdLinearLayer to_q, to_k, to_v, to_out;
  JdFeedForward ff;
  int64_t       channels;
  int64_t       temb_channels;
} JdJointBlockModality;

typedef struct {
  JdBackend           *backend;
  JdJointBlockModality modality[JD_JOINT_MODALITIES];
  int64_t              d_qk, d_v;
  int                  heads;
} JdJointBlock;

/* Looks the weights up under prefix ("joint.blocks.0"): {video,audio}_modulation,
 * attn.{video,audio}_to_{q,k,v,out}, {video,audio}_ff. Fails (JD_ERROR_MODEL_FILE) when d_qk or
 * d_v do not divide by heads or the head dim d_qk / heads is not a multiple of 8 (RoPE needs even
 * runs for time and each spatial axis). */
gboolean  jd_joint_block_init    (JdJointBlock *block, JdWeights *weights, const char *prefix,
                                  int64_t video_channels, int64_t audio_channels,
                                  int64_t video_temb, int64_t audio_temb, int64_t d_qk,
                                  int64_t d_v, int heads, GError **error);

/* RoPE positions (N, 3) of video tokens ordered (t, h, w): clock_hz·(k + ½)/fps, row, column. */
JdTensor *jd_joint_video_positions (JdBackend *backend, int64_t frames, int64_t height,
                                    int64_t width, double fps, double clock_hz,
                                    GError **error);
/* RoPE positions (N, 2) of audio tokens ordered (t, f): clock_hz·(j + ½)·column_seconds, bin. */
JdTensor *jd_joint_audio_positions (JdBackend *backend, int64_t columns, int64_t bins,
                                    double column_seconds, double clock_hz, GError **error);

/* Runs the block on video (B, N_v, C_v) and audio (B, N_a, C_a) tokens, in place.
 * video_emb (B, video_temb), audio_emb (B, audio_temb); positions from the functions above;
 * modes[b] the attention mode of sample b. */
gboolean  jd_joint_block_forward (const JdJointBlock *block, JdTensor *video, JdTensor *audio,
                                  const JdTensor *video_emb, const JdTensor *audio_emb,
                                  const JdTensor *video_positions,
                                  const JdTensor *audio_positions, float rope_base,
                                  const JdAttentionMode *modes, GError **error);

G_END_DECLS

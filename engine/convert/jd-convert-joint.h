/* jd-convert-joint.h — the Joint Blocks' layout and their fresh initialisation. */
#pragma once

#include "jd-convert-layout.h"

G_BEGIN_DECLS

/* Channels per block: the Expert stage's output channels of each modality. */
JdConvertLayout *jd_convert_layout_joint        (int n_blocks, const int64_t *video_channels,
                                                 int64_t video_temb,
                                                 const int64_t *audio_channels,
                                                 int64_t audio_temb, int64_t d_qk, int64_t d_v);
/* TRUE for the AdaLN-Zero modulation Linears (joint.blocks.K.M_modulation.*). */
gboolean         jd_convert_joint_is_modulation (const char *name);

/* Fresh values of a joint tensor: the modulation (weight and bias) zero, so every gate is zero
 * and the bundle samples video and audio independently (the paper's "w/o Joint Block"); other
 * matrices Xavier-uniform, U(±√(6 / (fan_in + fan_out))), from a generator seeded by the name
 * (the same bundle on every run); other biases zero. */
void             jd_convert_joint_fresh_values  (const char *name, int ndim,
                                                 const int64_t *shape, float *values);

G_END_DECLS

/* jd-vocoder.h — the HiFi-GAN vocoder (transformers' SpeechT5HifiGan, as AudioLDM2 ships it):
 * log-mel frames in, a waveform in [-1, 1] out.
 *
 * conv_pre (k 7) → per stage i: LeakyReLU(slope) → upsampler.{i} (ConvTranspose1d, stride
 * r_i, kernel k_i, padding (k_i − r_i) / 2) → the mean of resblocks.{i·K + j} for the K
 * resblock kernels → LeakyReLU(0.01, PyTorch's default) → conv_post (k 7) → tanh.
 * A resblock adds, per dilation d, convs2(lrelu(convs1_d(lrelu(x)))). Weights may be stored
 * weight-normalised (jd-weight-norm.h); `normalize_before` must be false (it is in every
 * published config, and the mean/scale buffers are then not applied).
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jd-weights.h"

G_BEGIN_DECLS

#define JD_VOCODER_MAX_STAGES  8
#define JD_VOCODER_MAX_KERNELS 8

typedef struct {
  int   model_in_dim;
  int   sampling_rate;
  int   upsample_initial_channel;
  int   n_stages;
  int   upsample_rates[JD_VOCODER_MAX_STAGES];
  int   upsample_kernel_sizes[JD_VOCODER_MAX_STAGES];
  int   n_kernels;
  int   resblock_kernel_sizes[JD_VOCODER_MAX_KERNELS];
  int   n_dilations[JD_VOCODER_MAX_KERNELS];
  int   resblock_dilations[JD_VOCODER_MAX_KERNELS][JD_VOCODER_MAX_KERNELS];
  float leaky_relu_slope;
} JdVocoderConfig;

typedef struct _JdVocoder JdVocoder;

/* Reads the bundle config's `vocoder` object (`path` names it in messages). */
gboolean   jd_vocoder_config_read   (JsonObject *object, const char *path,
                                     JdVocoderConfig *config, GError **error);

/* Looks up `<prefix>.conv_pre.weight`, … (prefix e.g. "audio.vocoder") in the store, checking
 * every shape against config; weight-normalised convs are folded into the store. */
JdVocoder *jd_vocoder_new           (JdWeights *weights, const JdVocoderConfig *config,
                                     const char *prefix, GError **error);
void       jd_vocoder_free          (JdVocoder *vocoder);
const JdVocoderConfig *jd_vocoder_get_config (JdVocoder *vocoder);

/* Samples produced for `frames` mel frames (each upsampler maps L to (L − 1)·r − 2p + k). */
int64_t    jd_vocoder_output_length (const JdVocoderConfig *config, int64_t frames);

/* mel (B, T, model_in_dim) → waveform (B, jd_vocoder_output_length (T)). */
JdTensor  *jd_vocoder_run           (JdVocoder *vocoder, const JdTensor *mel, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdVocoder, jd_vocoder_free)

G_END_DECLS

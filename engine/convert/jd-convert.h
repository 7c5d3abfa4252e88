/* jd-convert.h — `jointdit convert`: public checkpoints (Stable Video Diffusion / SVD-XT and
 * AudioLDM2 in the diffusers folder layout, a CLIP ViT image encoder in the transformers layout,
 * optionally trained Joint Blocks) into one JointDiT bundle (DESIGN.md §6).
 *
 * Every source tensor is checked against the layout its own config.json gives (jd-convert-
 * layout.h) before anything is written: a missing tensor, an unexpected one (other than the
 * AudioLDM2 text-context transformers, dropped on purpose), a wrong shape, an unknown dtype or a
 * pickled file is refused with a sentence naming the file and the tensor. The bundle is then
 * written tensor by tensor (jd_safetensors_writer_add_producer), atomically.
 *
 * What the bundle holds beyond the sources: the audio UNet's image_proj (CLIP embedding → its
 * timestep embedding, paper §4.1) zero-initialised, so until it is fine-tuned the audio UNet's
 * output does not depend on the picture at all (an honest "not yet conditioned", rather than
 * noise that pretends to be a condition); fresh Joint Blocks with their AdaLN-Zero gates at zero
 * (see jd-convert-joint.h) unless --joint gives trained ones; the HiFi-GAN's weight norm folded
 * into plain weights; and the config with every constant (jd-convert-config.h). */
#pragma once

#include <glib.h>

#include "jd-dtype.h"
#include "jd-safetensors.h"

G_BEGIN_DECLS

#define JD_CONVERT_VERSION "1"

/* Defaults of fresh Joint Blocks (a --joint checkpoint brings its own). */
#define JD_CONVERT_JOINT_D_QK  512
#define JD_CONVERT_JOINT_D_V   512
#define JD_CONVERT_JOINT_HEADS 8

typedef struct {
  const char *svd;        /* diffusers folder: unet/, vae/, image_encoder/ */
  const char *audioldm2;  /* diffusers folder: unet/, vae/, vocoder/ */
  const char *clip;       /* optional: a CLIPVisionModelWithProjection folder */
  const char *joint;      /* optional: a safetensors file of joint.* tensors */
  const char *out;
  JdDType     dtype;
  gboolean    hash_sources;  /* SHA-256 of every source file into the provenance */
  JdSafetensorsWriteProgress progress;
  gpointer    user_data;
} JdConvertOptions;

typedef struct {
  guint      n_tensors;     /* written */
  guint64    n_bytes;       /* tensor data written */
  int64_t    n_parameters;
  guint      n_dropped;     /* AudioLDM2 text-context transformer tensors left out */
  guint      n_folded;      /* weight-norm pairs folded */
  GPtrArray *notices;       /* char*: sentences for the user */
} JdConvertReport;

void     jd_convert_report_clear (JdConvertReport *report);

/* Checks the sources (nothing is written when one is refused), then writes options->out. */
gboolean jd_convert_run          (const JdConvertOptions *options,
                                  JdConvertReport        *report,
                                  GError                **error);

G_END_DECLS

/* jd-image-encoder.h — the CLIP vision tower with projection (transformers'
 * CLIPVisionModelWithProjection, SVD's ViT-H/14), as tools/reference/jointdit_reference/
 * image_encoder.py builds it.
 *
 * pixels (B, 3, S, S), already resized and CLIP-normalised (jd-clip-preprocess.h) →
 * patch_embedding (conv, stride = kernel = patch, no bias) → [class_embedding; patches] +
 * position_embedding → pre_layrnorm → layers of x += self_attn(layer_norm1 x),
 * x += mlp(layer_norm2 x) (fc1 → GELU or quick-GELU → fc2) → post_layernorm of the class
 * token → visual_projection (no bias) → (B, projection_dim).
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jd-layers.h"

G_BEGIN_DECLS

typedef enum {
  JD_CLIP_ACT_GELU,        /* exact GELU */
  JD_CLIP_ACT_QUICK_GELU,  /* x · sigmoid(1.702 x) */
} JdClipActivation;

typedef struct {
  int              hidden_size;
  int              intermediate_size;
  int              num_hidden_layers;
  int              num_attention_heads;
  int              image_size;
  int              patch_size;
  int              num_channels;
  int              projection_dim;
  JdClipActivation hidden_act;
  double           layer_norm_eps;
} JdImageEncoderConfig;

typedef struct _JdImageEncoder JdImageEncoder;

/* Reads the bundle config's `image_encoder` object (`path` names it in messages). */
gboolean        jd_image_encoder_config_read (JsonObject *object, const char *path,
                                              JdImageEncoderConfig *config, GError **error);
/* Weights under prefix ("image_encoder"). */
JdImageEncoder *jd_image_encoder_new  (JdWeights *weights, const JdImageEncoderConfig *config,
                                       const char *prefix, GError **error);
void            jd_image_encoder_free (JdImageEncoder *encoder);
const JdImageEncoderConfig *jd_image_encoder_get_config (JdImageEncoder *encoder);
/* pixels (B, num_channels, image_size, image_size) → (B, projection_dim). */
JdTensor       *jd_image_encoder_run  (JdImageEncoder *encoder, const JdTensor *pixels,
                                       GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdImageEncoder, jd_image_encoder_free)

G_END_DECLS

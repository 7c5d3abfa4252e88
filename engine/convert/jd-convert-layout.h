/* jd-convert-layout.h — the tensors a converted part must hold: name → shape, built from the
 * source's own config.json by mirroring how diffusers/transformers construct the model.
 *
 * The converter checks each source checkpoint against such a layout (every expected name there
 * with exactly that shape, nothing else but what is dropped on purpose), and the tests check the
 * layouts built from the published configs against the published name lists. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "jd-tensor.h"

G_BEGIN_DECLS

typedef struct {
  char    *name;
  int      ndim;
  int64_t  shape[JD_MAX_DIMS];
} JdConvertTensor;

typedef struct _JdConvertLayout JdConvertLayout;

JdConvertLayout       *jd_convert_layout_new        (void);
void                   jd_convert_layout_free       (JdConvertLayout *layout);

/* Adds "prefix.suffix" (suffix alone when prefix is NULL or "") with ndim dims given after it.
 * A name added twice is a programming error (g_critical) and keeps the first shape. */
void                   jd_convert_layout_add        (JdConvertLayout *layout,
                                                     const char      *prefix,
                                                     const char      *suffix,
                                                     int              ndim,
                                                     ...);
void                   jd_convert_layout_add_shape  (JdConvertLayout *layout,
                                                     const char      *name,
                                                     int              ndim,
                                                     const int64_t   *shape);
guint                  jd_convert_layout_get_n      (JdConvertLayout *layout);
/* Entries sorted by name (sorted on first access after an add). */
const JdConvertTensor *jd_convert_layout_get        (JdConvertLayout *layout,
                                                     guint            index);
const JdConvertTensor *jd_convert_layout_lookup     (JdConvertLayout *layout,
                                                     const char      *name);
int64_t                jd_convert_layout_count_parameters (JdConvertLayout *layout);

/* "[320, 8, 3, 3]", as the published lists write shapes. Free with g_free. */
char                  *jd_convert_shape_to_string   (int ndim, const int64_t *shape);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdConvertLayout, jd_convert_layout_free)

/* The parts' layouts, each from the source's config.json (config_name names it in messages).
 * Each fails with JD_ERROR_MODEL_FILE naming config_name and the key when the config lacks a
 * value the structure needs or holds one this engine does not build. */

/* diffusers UNetSpatioTemporalConditionModel. */
JdConvertLayout *jd_convert_layout_svd_unet     (JsonObject *config, const char *config_name,
                                                 GError **error);
/* diffusers AutoencoderKLTemporalDecoder. */
JdConvertLayout *jd_convert_layout_svd_vae      (JsonObject *config, const char *config_name,
                                                 GError **error);
/* diffusers AudioLDM2UNet2DConditionModel; with_text FALSE leaves out the transformers whose
 * cross_attention_dim is not null (the text contexts); image_embed_dim > 0 adds image_proj. */
JdConvertLayout *jd_convert_layout_audioldm2_unet (JsonObject *config, const char *config_name,
                                                   gboolean with_text, int64_t image_embed_dim,
                                                   GError **error);
/* diffusers AutoencoderKL. */
JdConvertLayout *jd_convert_layout_autoencoder_kl (JsonObject *config, const char *config_name,
                                                   GError **error);
/* transformers SpeechT5HifiGan (plain weights: weight norm already folded). */
JdConvertLayout *jd_convert_layout_hifigan      (JsonObject *config, const char *config_name,
                                                 GError **error);
/* transformers CLIPVisionModelWithProjection; config is the vision config (the top level of an
 * image_encoder/config.json, or its "vision_config"). */
JdConvertLayout *jd_convert_layout_clip_vision  (JsonObject *config, const char *config_name,
                                                 GError **error);

G_END_DECLS

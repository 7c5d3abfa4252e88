/* jd-convert-audioldm2.h — how AudioLDM2's UNet config.json is read: the transformer positions
 * after each resnet (their context dims, 0 for the self-only one) and the heads per level as
 * diffusers' own pipeline reads them (num_attention_heads, else attention_head_dim taken as the
 * number of heads). */
#pragma once

#include <json-glib/json-glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define JD_CONVERT_MAX_POSITIONS 4

gboolean jd_convert_audioldm2_contexts (JsonObject *config, const char *name, int n_blocks,
                                        int64_t contexts[][JD_CONVERT_MAX_POSITIONS],
                                        int *n_positions, GError **error);
gboolean jd_convert_audioldm2_heads    (JsonObject *config, const char *name, int n_blocks,
                                        int64_t *heads, GError **error);

G_END_DECLS

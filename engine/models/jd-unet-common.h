/* jd-unet-common.h — what the video and audio UNets share: the skip list their stages fill and
 * their Output layer consumes, and config reads of per-block values.
 *
 * Stages. A UNet's encoder path is cut into stages "conv_in", "down_blocks.{i}", "mid_block"
 * (the JointDiT split names them, DESIGN.md §3): a stage takes h, returns the next h and appends
 * the skips it saves to a skip list (a GPtrArray of owned JdTensor, made by jd_unet_skips_new).
 * The decoder ("the Output layer": up blocks, norm_out, conv_out) pops them from the end. A
 * Joint Block's output replaces the last skip its Expert stage saved
 * (jd_unet_skips_replace_last) and becomes the next stage's input.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jd-layers.h"

G_BEGIN_DECLS

/* An empty skip list; free with g_ptr_array_unref. */
GPtrArray *jd_unet_skips_new          (void);
/* Appends a copy of h (the stage keeps returning h itself). */
gboolean   jd_unet_skips_push_copy    (GPtrArray *skips, const JdTensor *h, GError **error);
/* Replaces the last skip with a copy of h; fails when the list is empty or the shapes differ. */
gboolean   jd_unet_skips_replace_last (GPtrArray *skips, const JdTensor *h, GError **error);
/* Removes and returns the last skip (owned by the caller), or NULL with an error. */
JdTensor  *jd_unet_skips_pop          (GPtrArray *skips, GError **error);

/* The encoder stages of a UNet with n_blocks down blocks: "conv_in", "down_blocks.{i}",
 * "mid_block" (NULL-terminated; free with g_strfreev), the index of a stage by name (-1 when
 * absent), and the channels a stage outputs given the blocks' output channels. */
char     **jd_unet_stage_names_new   (int n_blocks);
int        jd_unet_stage_find        (char *const *names, const char *name);
int64_t    jd_unet_stage_channels    (const int64_t *block_channels, int n_blocks, guint stage);

/* A per-block integer: either one integer for every block or a list of n_blocks of them
 * (diffusers' configs use both forms). Absent: default_value, unless it is < 0 (required). */
gboolean   jd_unet_config_per_block   (JsonObject *object, const char *path, const char *key,
                                       int n_blocks, int64_t min, int64_t max,
                                       int64_t default_value, int64_t *out, GError **error);

G_END_DECLS

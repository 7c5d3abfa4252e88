/* jd-convert-blocks.h — the name/shape patterns of diffusers' building blocks (resnets,
 * attention, feed-forward, transformers, embeddings), shared by the model layouts. Each adds
 * the block's tensors under `prefix`. */
#pragma once

#include "jd-convert-layout.h"

G_BEGIN_DECLS

#define JD_CONVERT_MAX_BLOCKS 8

void jd_convert_add_linear      (JdConvertLayout *l, const char *prefix, int64_t out, int64_t in,
                                 gboolean bias);
void jd_convert_add_conv2d      (JdConvertLayout *l, const char *prefix, int64_t out, int64_t in,
                                 int64_t k);
void jd_convert_add_norm        (JdConvertLayout *l, const char *prefix, int64_t channels);
/* ResnetBlock2D; temb 0: no time_emb_proj (VAEs). */
void jd_convert_add_resnet      (JdConvertLayout *l, const char *prefix, int64_t in, int64_t out,
                                 int64_t temb);
/* SpatioTemporalResBlock: spatial ResnetBlock2D, temporal (3,1,1) block, time_mixer. */
void jd_convert_add_st_resnet   (JdConvertLayout *l, const char *prefix, int64_t in, int64_t out,
                                 int64_t temb);
/* Attention: to_q/to_k/to_v (biased when qkv_bias), to_out.0; a group_norm when norm. */
void jd_convert_add_attention   (JdConvertLayout *l, const char *prefix, int64_t query_dim,
                                 int64_t kv_dim, gboolean qkv_bias, gboolean norm);
/* GEGLU FeedForward(dim → dim): net.0.proj [8·dim, dim], net.2 [dim, 4·dim]. */
void jd_convert_add_feed_forward (JdConvertLayout *l, const char *prefix, int64_t dim);
/* BasicTransformerBlock: self-attention, attention on a context of context_dim, feed-forward. */
void jd_convert_add_transformer_block (JdConvertLayout *l, const char *prefix, int64_t dim,
                                       int64_t context_dim);
/* TimestepEmbedding: linear_1 [hidden, in], linear_2 [out, hidden]. */
void jd_convert_add_timestep_embedding (JdConvertLayout *l, const char *prefix, int64_t in,
                                        int64_t hidden, int64_t out);

/* The spatial VAE encoder (+ quant_conv) shared by AutoencoderKL and
 * AutoencoderKLTemporalDecoder, and the VAE config values both read. */
void jd_convert_add_vae_encoder (JdConvertLayout *l, const int64_t *ch, int n, int64_t layers,
                                 int64_t in, int64_t latent);
/* The VAE decoder's up path: for each of the n stages, from the widest (ch[n−1]) to ch[0],
 * layers + 1 resnets under decoder.up_blocks.i (a SpatioTemporalResBlock each when temporal,
 * as AutoencoderKLTemporalDecoder has, else a ResnetBlock2D) and an upsampler conv on every
 * stage but the last. */
void jd_convert_add_vae_up_blocks (JdConvertLayout *l, const int64_t *ch, int n, int64_t layers,
                                   gboolean temporal);
gboolean jd_convert_vae_config  (JsonObject *config, const char *name, int64_t *ch, int *n,
                                 int64_t *layers, int64_t *in, int64_t *out, int64_t *latent,
                                 GError **error);

/* Config reads that name the config file in messages. */
gboolean jd_convert_config_per_block (JsonObject *config, const char *config_name,
                                      const char *key, int n_blocks, int64_t default_value,
                                      int64_t *out, GError **error);
/* block_out_channels, 1..JD_CONVERT_MAX_BLOCKS entries. */
gboolean jd_convert_config_channels  (JsonObject *config, const char *config_name,
                                      int64_t *channels, int *n, GError **error);
gboolean jd_convert_config_int       (JsonObject *config, const char *config_name,
                                      const char *key, int64_t default_value, int64_t *out,
                                      GError **error);
/* The block type list `key`: TRUE at i when entry i is `with_attention`, FALSE when `plain`;
 * anything else is refused, naming the file and the entry. */
gboolean jd_convert_config_block_types (JsonObject *config, const char *config_name,
                                        const char *key, const char *with_attention,
                                        const char *plain, int n, gboolean *has_attention,
                                        GError **error);

G_END_DECLS

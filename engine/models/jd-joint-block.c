#include "jd-joint-block.h"

#include <math.h>
#include <string.h>

#include "jd-error.h"

#define EPS_JOINT_NORM 1e-6f

/* The six modulation chunks, in the order the reference's chunk(6) gives them. */
enum { S1 = 0, B1, G1, S2, B2, G2, N_CHUNKS };

static const char *const modality_names[JD_JOINT_MODALITIES] = { "video", "audio" };

gboolean
jd_joint_block_init (JdJointBlock *block, JdWeights *weights, const char *prefix,
                     int64_t video_channels, int64_t audio_channels, int64_t video_temb,
                     int64_t audio_temb, int64_t d_qk, int64_t d_v, int heads, GError **error)
{
  memset (block, 0, sizeof *block);
  if (heads < 1 || d_qk < 1 || d_v < 1 || d_qk % heads != 0 || d_v % heads != 0
      || (d_qk / heads) % 8 != 0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "Joint Block %s: d_qk %" G_GINT64_FORMAT " and d_v %" G_GINT64_FORMAT
                   " must divide by %d heads, with a head dim d_qk / heads that is a multiple "
                   "of 8 (RoPE gives time and each spatial axis an even run)", prefix, d_qk,
                   d_v, heads);
      return FALSE;
    }
  block->backend = jd_weights_get_backend (weights);
  block->d_qk = d_qk;
  block->d_v = d_v;
  block->heads = heads;
  const int64_t channels[] = { video_channels, audio_channels };
  const int64_t tembs[] = { video_temb, audio_temb };
  for (int m = 0; m < JD_JOINT_MODALITIES; m++)
    {
      JdJointBlockModality *mod = &block->modality[m];
      const char *name = modality_names[m];
      mod->channels = channels[m];
      mod->temb_channels = tembs[m];
      g_autofree char *p_mod = g_strdup_printf ("%s.%s_modulation", prefix, name);
      g_autofree char *p_q = g_strdup_printf ("%s.attn.%s_to_q", prefix, name);
      g_autofree char *p_k = g_strdup_printf ("%s.attn.%s_to_k", prefix, name);
      g_autofree char *p_v = g_strdup_printf ("%s.attn.%s_to_v", prefix, name);
      g_autofree char *p_out = g_strdup_printf ("%s.attn.%s_to_out", prefix, name);
      g_autofree char *p_ff = g_strdup_printf ("%s.%s_ff", prefix, name);
      JD_TRY_FALSE (jd_linear_layer_init (&mod->modulation, weights, p_mod, tembs[m],
                                          N_CHUNKS * channels[m], TRUE, error));
      JD_TRY_FALSE (jd_linear_layer_init (&mod->to_q, weights, p_q, channels[m], d_qk, TRUE,
                                          error));
      JD_TRY_FALSE (jd_linear_layer_init (&mod->to_k, weights, p_k, channels[m], d_qk, TRUE,
                                          error));
      JD_TRY_FALSE (jd_linear_layer_init (&mod->to_v, weights, p_v, channels[m], d_v, TRUE, error));
      JD_TRY_FALSE (jd_linear_layer_init (&mod->to_out, weights, p_out, d_v, channels[m], TRUE,
                                          error));
      JD_TRY_FALSE (jd_feed_forward_init (&mod->ff, weights, p_ff, channels[m], channels[m], 4,
                                          error));
    }
  return TRUE;
}

/* Positions are computed in float64 and stored as F32, which the RoPE op reads. */
static JdTensor *
positions_tensor (JdBackend *backend, int64_t n, int n_axes, const double *values,
                  GError **error)
{
  g_autoptr (JdTensor) t = jd_layer_new_tensor (backend, 2, (int64_t[]) { n, n_axes }, error);
  JD_TRY_NULL (t != NULL);
  g_autofree float *host = g_new (float, n * n_axes);
  for (int64_t i = 0; i < n * n_axes; i++)
    host[i] = (float) values[i];
  JD_TRY_NULL (jd_tensor_upload_f32 (t, host, error));
  return g_steal_pointer (&t);
}

JdTensor *
jd_joint_video_positions (JdBackend *backend, int64_t frames, int64_t height, int64_t width,
                          double fps, double clock_hz, GError **error)
{
  const int64_t n = frames * height * width;
  g_autofree double *values = g_new (double, 3 * n);
  int64_t i = 0;
  for (int64_t t = 0; t < frames; t++)
    for (int64_t y = 0; y < height; y++)
      for (int64_t x = 0; x < width; x++, i++)
        {
          values[3 * i] = clock_hz * ((double) t + 0.5) / fps;
          values[3 * i + 1] = (double) y;
          values[3 * i + 2] = (double) x;
        }
  return positions_tensor (backend, n, 3, values, error);
}

JdTensor *
jd_joint_audio_positions (JdBackend *backend, int64_t columns, int64_t bins,
                          double column_seconds, double clock_hz, GError **error)
{
  const int64_t n = columns * bins;
  g_autofree double *values = g_new (double, 2 * n);
  int64_t i = 0;
  for (int64_t t = 0; t < columns; t++)
    for (int64_t f = 0; f < bins; f++, i++)
      {
        values[2 * i] = clock_hz * ((double) t + 0.5) * column_seconds;
        values[2 * i + 1] = (double) f;
      }
  return positions_tensor (backend, n, 2, values, error);
}

/* A view of sample b of t (B, ...) as (1, ...). */
static JdTensor *
sample_view (const JdTensor *t, int64_t b)
{
  int64_t shape[JD_MAX_DIMS];
  memcpy (shape, t->shape, sizeof shape);
  shape[0] = 1;
  const int64_t per_sample = jd_tensor_numel (t) / t->shape[0];
  return jd_tensor_new_view (t->backend, t->dtype, t->ndim, shape,
                             (float *) t->data + b * per_sample);
}

/* A view of the rows [offset, offset + rows) of sample b of t (B, N, D), as (1, rows, D). */
static JdTensor *
rows_view (const JdTensor *t, int64_t b, int64_t offset, int64_t rows)
{
  const int64_t n = t->shape[1], d = t->shape[2];
  return jd_tensor_new_view (t->backend, t->dtype, 3, (int64_t[]) { 1, rows, d },
                             (float *) t->data + (b * n + offset) * d);
}

/* m_modulation(SiLU(emb)) cut into its six chunks, each (B, 1, C). */
static gboolean
modulation_chunks (const JdJointBlockModality *mod, JdBackend *backend, const JdTensor *emb,
                   JdTensor *chunks[N_CHUNKS], GError **error)
{
  g_autoptr (JdTensor) act = jd_layer_new_tensor (backend, emb->ndim, emb->shape, error);
  JD_TRY_FALSE (act != NULL);
  JD_TRY_FALSE (jd_unary (backend, JD_UNARY_SILU, 0.0f, 0.0f, emb, act, error));
  g_autoptr (JdTensor) all = jd_linear_layer_forward (&mod->modulation, act, error);
  JD_TRY_FALSE (all != NULL);
  const int64_t b = emb->shape[0], c = mod->channels;
  for (int i = 0; i < N_CHUNKS; i++)
    {
      chunks[i] = jd_layer_new_tensor (backend, 2, (int64_t[]) { b, c }, error);
      JD_TRY_FALSE (chunks[i] != NULL);
      JD_TRY_FALSE (jd_slice (backend, all, 1, i * c, chunks[i], error));
      jd_tensor_reshape (chunks[i], 3, (int64_t[]) { b, 1, c });
    }
  return TRUE;
}

/* LN(x)·(1 + scale) + shift, with LN parameter-free (eps 1e-6); scale, shift (B, 1, C). */
static JdTensor *
modulate (JdBackend *backend, const JdTensor *x, const JdTensor *scale, const JdTensor *shift,
          GError **error)
{
  g_autoptr (JdTensor) normed = jd_layer_new_tensor (backend, x->ndim, x->shape, error);
  JD_TRY_NULL (normed != NULL);
  JD_TRY_NULL (jd_layer_norm (backend, x, NULL, NULL, EPS_JOINT_NORM, normed, error));
  g_autoptr (JdTensor) one_plus = jd_layer_new_tensor (backend, scale->ndim, scale->shape, error);
  JD_TRY_NULL (one_plus != NULL);
  JD_TRY_NULL (jd_unary (backend, JD_UNARY_AFFINE, 1.0f, 1.0f, scale, one_plus, error));
  JD_TRY_NULL (jd_mul (backend, normed, one_plus, normed, error));
  JD_TRY_NULL (jd_add (backend, normed, shift, normed, error));
  return g_steal_pointer (&normed);
}

/* h += gate ⊙ y; y is consumed as scratch. */
static gboolean
gated_add (JdBackend *backend, JdTensor *h, JdTensor *y, const JdTensor *gate, GError **error)
{
  JD_TRY_FALSE (jd_mul (backend, y, gate, y, error));
  return jd_add (backend, h, y, h, error);
}

static void
free_chunks (JdTensor *chunks[N_CHUNKS])
{
  for (int i = 0; i < N_CHUNKS; i++)
    g_clear_pointer (&chunks[i], jd_tensor_free);
}

/* q (or k) of one modality: projection, then RoPE in place. */
static JdTensor *
rotated_projection (const JdJointBlock *block, const JdLinearLayer *proj, const JdTensor *x,
                    const JdTensor *positions, int n_axes, float base, GError **error)
{
  g_autoptr (JdTensor) y = jd_linear_layer_forward (proj, x, error);
  JD_TRY_NULL (y != NULL);
  const int d = (int) (block->d_qk / block->heads);
  int axis_dims[JD_ROPE_MAX_AXES] = { d / 2, 0, 0 };
  for (int a = 1; a < n_axes; a++)
    axis_dims[a] = d / (2 * (n_axes - 1));
  JD_TRY_NULL (jd_rope (block->backend, y, positions, block->heads, n_axes, axis_dims, base, y,
                        error));
  return g_steal_pointer (&y);
}

/* The attention half: tokens[m] += g1 ⊙ to_out(JointAttn(normed)) for every sample whose mode
 * is not skip. */
static gboolean
joint_attention_with (const JdJointBlock *block, JdTensor *tokens[JD_JOINT_MODALITIES],
                      JdTensor *chunks[JD_JOINT_MODALITIES][N_CHUNKS],
                      const JdTensor *positions[JD_JOINT_MODALITIES], float rope_base,
                      const JdAttentionMode *modes, JdTensor *q[JD_JOINT_MODALITIES],
                      JdTensor *k[JD_JOINT_MODALITIES], JdTensor *v[JD_JOINT_MODALITIES],
                      GError **error)
{
  JdBackend *backend = block->backend;
  const int64_t batch = tokens[0]->shape[0];
  gboolean uniform = TRUE, any_attends = FALSE;
  for (int64_t b = 0; b < batch; b++)
    {
      uniform &= modes[b] == modes[0];
      any_attends |= modes[b] != JD_ATTENTION_SKIP;
    }
  if (!any_attends)
    return TRUE;

  int64_t n[JD_JOINT_MODALITIES];
  for (int m = 0; m < JD_JOINT_MODALITIES; m++)
    {
      const JdJointBlockModality *mod = &block->modality[m];
      n[m] = tokens[m]->shape[1];
      g_autoptr (JdTensor) normed = modulate (backend, tokens[m], chunks[m][S1], chunks[m][B1],
                                              error);
      JD_TRY_FALSE (normed != NULL);
      const int n_axes = m == 0 ? 3 : 2;
      q[m] = rotated_projection (block, &mod->to_q, normed, positions[m], n_axes, rope_base,
                                 error);
      JD_TRY_FALSE (q[m] != NULL);
      k[m] = rotated_projection (block, &mod->to_k, normed, positions[m], n_axes, rope_base,
                                 error);
      JD_TRY_FALSE (k[m] != NULL);
      v[m] = jd_linear_layer_forward (&mod->to_v, normed, error);
      JD_TRY_FALSE (v[m] != NULL);
    }
  const int64_t total = n[0] + n[1];
  g_autoptr (JdTensor) q_all = jd_layer_new_tensor (backend, 3,
                                                    (int64_t[]) { batch, total, block->d_qk },
                                                    error);
  JD_TRY_FALSE (q_all != NULL);
  g_autoptr (JdTensor) k_all = jd_layer_new_tensor (backend, 3, q_all->shape, error);
  JD_TRY_FALSE (k_all != NULL);
  g_autoptr (JdTensor) v_all = jd_layer_new_tensor (backend, 3,
                                                    (int64_t[]) { batch, total, block->d_v },
                                                    error);
  JD_TRY_FALSE (v_all != NULL);
  JD_TRY_FALSE (jd_concat (backend, 2, (const JdTensor *const[]) { q[0], q[1] }, 1, q_all, error));
  JD_TRY_FALSE (jd_concat (backend, 2, (const JdTensor *const[]) { k[0], k[1] }, 1, k_all, error));
  JD_TRY_FALSE (jd_concat (backend, 2, (const JdTensor *const[]) { v[0], v[1] }, 1, v_all, error));
  g_autoptr (JdTensor) out = jd_layer_new_tensor (backend, 3, v_all->shape, error);
  JD_TRY_FALSE (out != NULL);

  const float scale = (float) (1.0 / sqrt ((double) (block->d_qk / block->heads)));
  const int64_t segments[JD_JOINT_MODALITIES] = { n[0], n[1] };
  if (uniform)
    {
      const int n_segments = modes[0] == JD_ATTENTION_BLOCK_DIAGONAL ? JD_JOINT_MODALITIES : 0;
      JD_TRY_FALSE (jd_attention (backend, q_all, k_all, v_all, block->heads, scale, n_segments,
                                  segments, segments, out, error));
    }
  else
    for (int64_t b = 0; b < batch; b++)
      {
        if (modes[b] == JD_ATTENTION_SKIP)
          continue;
        g_autoptr (JdTensor) qb = sample_view (q_all, b);
        g_autoptr (JdTensor) kb = sample_view (k_all, b);
        g_autoptr (JdTensor) vb = sample_view (v_all, b);
        g_autoptr (JdTensor) ob = sample_view (out, b);
        const int n_segments = modes[b] == JD_ATTENTION_BLOCK_DIAGONAL ? JD_JOINT_MODALITIES : 0;
        JD_TRY_FALSE (jd_attention (backend, qb, kb, vb, block->heads, scale, n_segments, segments,
                                    segments, ob, error));
      }

  for (int m = 0; m < JD_JOINT_MODALITIES; m++)
    {
      const JdJointBlockModality *mod = &block->modality[m];
      const int64_t offset = m == 0 ? 0 : n[0];
      if (uniform)
        {
          g_autoptr (JdTensor) part = jd_layer_new_tensor (backend, 3,
                                                           (int64_t[]) { batch, n[m], block->d_v },
                                                           error);
          JD_TRY_FALSE (part != NULL);
          JD_TRY_FALSE (jd_slice (backend, out, 1, offset, part, error));
          g_autoptr (JdTensor) y = jd_linear_layer_forward (&mod->to_out, part, error);
          JD_TRY_FALSE (y != NULL);
          JD_TRY_FALSE (gated_add (backend, tokens[m], y, chunks[m][G1], error));
          continue;
        }
      /* Mixed modes: samples that skip have no attention output, so each sample goes alone. */
      for (int64_t b = 0; b < batch; b++)
        {
          if (modes[b] == JD_ATTENTION_SKIP)
            continue;
          g_autoptr (JdTensor) part = rows_view (out, b, offset, n[m]);
          g_autoptr (JdTensor) y = jd_linear_layer_forward (&mod->to_out, part, error);
          JD_TRY_FALSE (y != NULL);
          g_autoptr (JdTensor) hb = sample_view (tokens[m], b);
          g_autoptr (JdTensor) gb = sample_view (chunks[m][G1], b);
          JD_TRY_FALSE (gated_add (backend, hb, y, gb, error));
        }
    }
  return TRUE;
}

/* q, k, v per modality live in arrays the caller frees, whatever happens. */
static gboolean
joint_attention (const JdJointBlock *block, JdTensor *tokens[JD_JOINT_MODALITIES],
                 JdTensor *chunks[JD_JOINT_MODALITIES][N_CHUNKS],
                 const JdTensor *positions[JD_JOINT_MODALITIES], float rope_base,
                 const JdAttentionMode *modes, GError **error)
{
  JdTensor *q[JD_JOINT_MODALITIES] = { NULL }, *k[JD_JOINT_MODALITIES] = { NULL };
  JdTensor *v[JD_JOINT_MODALITIES] = { NULL };
  gboolean ok = joint_attention_with (block, tokens, chunks, positions, rope_base, modes, q, k,
                                      v, error);
  for (int m = 0; m < JD_JOINT_MODALITIES; m++)
    {
      g_clear_pointer (&q[m], jd_tensor_free);
      g_clear_pointer (&k[m], jd_tensor_free);
      g_clear_pointer (&v[m], jd_tensor_free);
    }
  return ok;
}

gboolean
jd_joint_block_forward (const JdJointBlock *block, JdTensor *video, JdTensor *audio,
                        const JdTensor *video_emb, const JdTensor *audio_emb,
                        const JdTensor *video_positions, const JdTensor *audio_positions,
                        float rope_base, const JdAttentionMode *modes, GError **error)
{
  JdTensor *tokens[JD_JOINT_MODALITIES] = { video, audio };
  const JdTensor *embs[JD_JOINT_MODALITIES] = { video_emb, audio_emb };
  const JdTensor *positions[JD_JOINT_MODALITIES] = { video_positions, audio_positions };
  const int64_t batch = video->shape[0];
  for (int m = 0; m < JD_JOINT_MODALITIES; m++)
    {
      const JdJointBlockModality *mod = &block->modality[m];
      const int n_axes = m == 0 ? 3 : 2;
      if (tokens[m]->ndim != 3 || tokens[m]->shape[0] != batch
          || tokens[m]->shape[2] != mod->channels || embs[m]->ndim != 2
          || embs[m]->shape[0] != batch || embs[m]->shape[1] != mod->temb_channels
          || positions[m]->ndim != 2 || positions[m]->shape[0] != tokens[m]->shape[1]
          || positions[m]->shape[1] != n_axes)
        {
          g_autofree char *ts = jd_tensor_shape_string (tokens[m]);
          g_autofree char *es = jd_tensor_shape_string (embs[m]);
          g_autofree char *ps = jd_tensor_shape_string (positions[m]);
          g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                       "Joint Block: %s tokens %s must be (%" G_GINT64_FORMAT ", N, %"
                       G_GINT64_FORMAT "), its embedding %s (%" G_GINT64_FORMAT ", %"
                       G_GINT64_FORMAT ") and its positions %s (N, %d)", modality_names[m], ts,
                       batch, mod->channels, es, batch, mod->temb_channels, ps, n_axes);
          return FALSE;
        }
    }

  JdTensor *chunks[JD_JOINT_MODALITIES][N_CHUNKS] = { { NULL } };
  gboolean ok = TRUE;
  for (int m = 0; m < JD_JOINT_MODALITIES && ok; m++)
    ok = modulation_chunks (&block->modality[m], block->backend, embs[m], chunks[m], error);
  if (ok)
    ok = joint_attention (block, tokens, chunks, positions, rope_base, modes, error);
  for (int m = 0; m < JD_JOINT_MODALITIES && ok; m++)
    {
      g_autoptr (JdTensor) normed = modulate (block->backend, tokens[m], chunks[m][S2],
                                              chunks[m][B2], error);
      ok = normed != NULL;
      if (!ok)
        break;
      g_autoptr (JdTensor) y = jd_feed_forward_forward (&block->modality[m].ff, normed, error);
      ok = y != NULL && gated_add (block->backend, tokens[m], y, chunks[m][G2], error);
    }
  for (int m = 0; m < JD_JOINT_MODALITIES; m++)
    free_chunks (chunks[m]);
  return ok;
}

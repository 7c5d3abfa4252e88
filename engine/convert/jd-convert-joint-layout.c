/* The Joint Blocks' tensors (tools/reference/README.md, "Joint Blocks"): per block k and
 * modality m, the AdaLN-Zero modulation, the Perceiver joint attention's projections and a
 * GEGLU feed-forward, sized by the channels of the Expert stage the block follows. */
#include "jd-convert-joint.h"

#include <string.h>

#include "jd-convert-blocks.h"

JdConvertLayout *
jd_convert_layout_joint (int n_blocks, const int64_t *video_channels, int64_t video_temb,
                         const int64_t *audio_channels, int64_t audio_temb, int64_t d_qk,
                         int64_t d_v)
{
  g_autoptr (JdConvertLayout) l = jd_convert_layout_new ();
  for (int k = 0; k < n_blocks; k++)
    for (int m = 0; m < 2; m++)
      {
        const char *mod = m == 0 ? "video" : "audio";
        const int64_t c = m == 0 ? video_channels[k] : audio_channels[k];
        const int64_t temb = m == 0 ? video_temb : audio_temb;
        g_autofree char *modulation = g_strdup_printf ("joint.blocks.%d.%s_modulation", k, mod);
        g_autofree char *q = g_strdup_printf ("joint.blocks.%d.attn.%s_to_q", k, mod);
        g_autofree char *kk = g_strdup_printf ("joint.blocks.%d.attn.%s_to_k", k, mod);
        g_autofree char *v = g_strdup_printf ("joint.blocks.%d.attn.%s_to_v", k, mod);
        g_autofree char *o = g_strdup_printf ("joint.blocks.%d.attn.%s_to_out", k, mod);
        g_autofree char *ff = g_strdup_printf ("joint.blocks.%d.%s_ff", k, mod);
        jd_convert_add_linear (l, modulation, 6 * c, temb, TRUE);
        jd_convert_add_linear (l, q, d_qk, c, TRUE);
        jd_convert_add_linear (l, kk, d_qk, c, TRUE);
        jd_convert_add_linear (l, v, d_v, c, TRUE);
        jd_convert_add_linear (l, o, c, d_v, TRUE);
        jd_convert_add_feed_forward (l, ff, c);
      }
  return g_steal_pointer (&l);
}

gboolean
jd_convert_joint_is_modulation (const char *name)
{
  return g_str_has_prefix (name, "joint.blocks.")
         && (strstr (name, "_modulation.") != NULL);
}

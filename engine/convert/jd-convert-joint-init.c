/* Fresh Joint Block weights (AdaLN-Zero). */
#include "jd-convert-joint.h"

#include <math.h>
#include <string.h>

void
jd_convert_joint_fresh_values (const char *name, int ndim, const int64_t *shape, float *values)
{
  int64_t numel = 1;
  for (int i = 0; i < ndim; i++)
    numel *= shape[i];
  if (jd_convert_joint_is_modulation (name) || ndim < 2)
    {
      memset (values, 0, sizeof (float) * (gsize) numel);
      return;
    }
  const double bound = sqrt (6.0 / (double) (shape[0] + shape[1]));
  /* Seeded by the name, so each tensor's values do not depend on the order of writing. */
  g_autoptr (GRand) rng = g_rand_new_with_seed (g_str_hash (name) ^ 0x4a6f696eu);
  for (int64_t i = 0; i < numel; i++)
    values[i] = (float) g_rand_double_range (rng, -bound, bound);
}

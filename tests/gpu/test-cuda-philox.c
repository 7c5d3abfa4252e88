/* Philox noise on the GPU is bit-identical to the CPU's (jd-philox.h): same counters, same key,
 * the same correctly rounded Box–Muller steps. Seeds and offsets with high bits set, counters
 * that cross 2^32, and odd lengths. Skips (exit 77) without a usable GPU. */
#include <string.h>

#include "gpu-test-util.h"
#include "jd-ops.h"
#include "jd-philox.h"

typedef struct {
  uint64_t seed, offset;
  int64_t  n;
} NoiseCase;

static const NoiseCase cases[] = {
  { 0, 0, 1 << 20 },
  { 42, 7, 100003 },
  { 0xDEADBEEFCAFEF00Dull, 0xFFFFFFFFull - 5000, 20011 },  /* the counter's low word wraps */
  { 1, 0x123456789ABCull, 4097 },
};

static void
test_identical (gconstpointer data)
{
  const NoiseCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBackend) gpu = gpu_test_backend (JD_CUDA_PRECISION_F32);
  g_autoptr (JdTensor) out = gpu_test_poisoned (gpu, 1, &c->n);
  g_assert_true (jd_normal_noise (gpu, c->seed, c->offset, out, &error));
  g_assert_no_error (error);
  g_autofree float *got = gpu_test_download (out);
  g_autofree float *want = g_new (float, c->n);
  jd_philox_fill_normal (c->seed, c->offset, want, (gsize) c->n);
  for (int64_t i = 0; i < c->n; i++)
    if (memcmp (&got[i], &want[i], sizeof (float)) != 0)
      g_error ("seed %" G_GUINT64_FORMAT " offset %" G_GUINT64_FORMAT ": element %" G_GINT64_FORMAT
               " is %.9g on the GPU and %.9g on the CPU", c->seed, c->offset, i,
               (double) got[i], (double) want[i]);
}

int
main (int argc, char **argv)
{
  gpu_test_require_device ();
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cuda/philox/%" G_GSIZE_FORMAT, i);
      g_test_add_data_func (path, &cases[i], test_identical);
    }
  return g_test_run ();
}

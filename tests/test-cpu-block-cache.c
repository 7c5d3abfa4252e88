/* The CPU backend's block cache: reuse by size class, alignment, the limit, and that blocks
 * handed out together never overlap. */
#include <string.h>

#include "jd-cpu-block-cache.h"
#include "jd-error.h"
#include "test-util.h"

static void
test_size_classes (void)
{
  /* Small requests round to cache lines; larger ones by at most 1/8, and a class always holds
   * the request. */
  g_assert_cmpuint (jd_cpu_block_cache_class_size (0), ==, 64);
  g_assert_cmpuint (jd_cpu_block_cache_class_size (1), ==, 64);
  g_assert_cmpuint (jd_cpu_block_cache_class_size (65), ==, 128);
  g_assert_cmpuint (jd_cpu_block_cache_class_size (4096), ==, 4096);
  g_assert_cmpuint (jd_cpu_block_cache_class_size (4097), ==, 4096 + 512);
  g_assert_cmpuint (jd_cpu_block_cache_class_size (1 << 20), ==, 1 << 20);
  g_assert_cmpuint (jd_cpu_block_cache_class_size ((1 << 20) + 1), ==, (1 << 20) + (1 << 17));
  g_autoptr (GRand) rng = jd_test_rng ();
  for (int i = 0; i < 100000; i++)
    {
      gsize n = g_rand_int_range (rng, 1, 1 << 30);
      gsize c = jd_cpu_block_cache_class_size (n);
      g_assert_cmpuint (c, >=, n);
      g_assert_cmpuint (c - n, <=, MAX (n / 8, 63));
      g_assert_cmpuint (c % 64, ==, 0);
      g_assert_cmpuint (jd_cpu_block_cache_class_size (c), ==, c);   /* classes are fixed points */
    }
}

static void
test_reuse_and_limit (void)
{
  JdCpuBlockCache *cache = jd_cpu_block_cache_new (1 << 20);
  gboolean caching = jd_cpu_block_cache_limit (cache) > 0;   /* 0 under AddressSanitizer */
  g_autoptr (GError) error = NULL;

  float *a = jd_cpu_block_cache_take (cache, 100000 * sizeof (float), &error);
  g_assert_no_error (error);
  g_assert_cmpuint ((guintptr) a % 64, ==, 0);
  for (int i = 0; i < 100000; i++)   /* the whole request is writable */
    a[i] = (float) i;
  jd_cpu_block_cache_give (cache, a);
  gsize class_size = jd_cpu_block_cache_class_size (100000 * sizeof (float));
  g_assert_cmpuint (jd_cpu_block_cache_cached_bytes (cache), ==, caching ? class_size : 0);

  /* A request of the same class gets the same block back; another class does not. */
  float *b = jd_cpu_block_cache_take (cache, 99000 * sizeof (float), &error);
  g_assert_no_error (error);
  if (caching)
    g_assert_true (b == a);
  g_assert_cmpuint (jd_cpu_block_cache_cached_bytes (cache), ==, 0);
  void *c = jd_cpu_block_cache_take (cache, 100000 * sizeof (float), &error);
  g_assert_no_error (error);
  g_assert_true (c != (void *) b);
  jd_cpu_block_cache_give (cache, b);
  jd_cpu_block_cache_give (cache, c);
  g_assert_cmpuint (jd_cpu_block_cache_cached_bytes (cache), ==, caching ? 2 * class_size : 0);

  /* Beyond the limit a given block is freed, not kept. */
  void *big = jd_cpu_block_cache_take (cache, 900000, &error);
  g_assert_no_error (error);
  jd_cpu_block_cache_give (cache, big);
  g_assert_cmpuint (jd_cpu_block_cache_cached_bytes (cache), ==, caching ? 2 * class_size : 0);
  g_assert_cmpuint (jd_cpu_block_cache_cached_bytes (cache), <=, 1 << 20);
  jd_cpu_block_cache_give (cache, NULL);
  jd_cpu_block_cache_free (cache);   /* releases the cached blocks (LeakSanitizer checks) */
}

static void
test_blocks_in_use_never_overlap (void)
{
  /* Random takes and gives of random sizes: every live block keeps its own fill pattern. */
  JdCpuBlockCache *cache = jd_cpu_block_cache_new (8 << 20);
  g_autoptr (GRand) rng = jd_test_rng ();
  enum { SLOTS = 24 };
  guint8 *block[SLOTS] = { NULL };
  gsize size[SLOTS] = { 0 };
  for (int round = 0; round < 3000; round++)
    {
      int s = g_rand_int_range (rng, 0, SLOTS);
      if (block[s] != NULL)
        {
          for (gsize i = 0; i < size[s]; i += 97)
            g_assert_cmpuint (block[s][i], ==, (guint8) (s * 31 + 7));
          jd_cpu_block_cache_give (cache, block[s]);
          block[s] = NULL;
        }
      else
        {
          /* few distinct classes, so blocks are reused often */
          size[s] = (gsize) g_rand_int_range (rng, 1, 6) * 50000 + g_rand_int_range (rng, 0, 64);
          g_autoptr (GError) error = NULL;
          block[s] = jd_cpu_block_cache_take (cache, size[s], &error);
          g_assert_no_error (error);
          memset (block[s], s * 31 + 7, size[s]);
        }
      g_assert_cmpuint (jd_cpu_block_cache_cached_bytes (cache), <=, 8 << 20);
    }
  for (int s = 0; s < SLOTS; s++)
    jd_cpu_block_cache_give (cache, block[s]);
  jd_cpu_block_cache_free (cache);
}

static void
test_impossible_request (void)
{
  JdCpuBlockCache *cache = jd_cpu_block_cache_new (1 << 20);
  g_autoptr (GError) error = NULL;
  g_assert_null (jd_cpu_block_cache_take (cache, G_MAXSIZE - 8, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "Out of memory"));
  jd_cpu_block_cache_free (cache);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu-block-cache/size-classes", test_size_classes);
  g_test_add_func ("/cpu-block-cache/reuse-and-limit", test_reuse_and_limit);
  g_test_add_func ("/cpu-block-cache/no-overlap", test_blocks_in_use_never_overlap);
  g_test_add_func ("/cpu-block-cache/impossible-request", test_impossible_request);
  return g_test_run ();
}

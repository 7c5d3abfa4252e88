/* jd-cpu-block-cache.c — size-classed free lists of 64-byte-aligned blocks (see the header). */
#include "jd-cpu-block-cache.h"

#include <stdlib.h>

#include "jd-error.h"

#if defined(__SANITIZE_ADDRESS__)
#define JD_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JD_UNDER_ASAN 1
#endif
#endif

/* Every block starts with this header, one cache line, so the caller's pointer stays aligned. */
#define HEADER_BYTES 64
#define BLOCK_MAGIC  0x4a44424cu  /* "JDBL": handed out */
#define FREE_MAGIC   0x4a444246u  /* "JDBF": in a free list (a second give is refused) */

typedef struct Header Header;
struct Header {
  gsize    class_size;  /* usable bytes after the header */
  Header  *next;        /* in a free list */
  guint32  magic;
};
G_STATIC_ASSERT (sizeof (Header) <= HEADER_BYTES);

struct _JdCpuBlockCache {
  GMutex      lock;
  GHashTable *free_lists;  /* class size (GSIZE_TO_POINTER) → Header* (singly linked) */
  gsize       cached;
  gsize       limit;
};

gsize
jd_cpu_block_cache_class_size (gsize nbytes)
{
  if (nbytes <= 4096)
    return MAX ((nbytes + 63) & ~(gsize) 63, 64);
  if (nbytes > G_MAXSIZE / 4)
    return nbytes;   /* no allocator can serve it; _take reports that */
  gsize top = (gsize) 1 << g_bit_storage (nbytes - 1);  /* next power of two ≥ nbytes */
  gsize step = top / 16;                                  /* ≤ 1/8 of nbytes */
  return (nbytes + step - 1) / step * step;
}

JdCpuBlockCache *
jd_cpu_block_cache_new (gsize limit_bytes)
{
  JdCpuBlockCache *cache = g_new0 (JdCpuBlockCache, 1);
  g_mutex_init (&cache->lock);
  cache->free_lists = g_hash_table_new (g_direct_hash, g_direct_equal);
#ifdef JD_UNDER_ASAN
  limit_bytes = 0;
#endif
  cache->limit = limit_bytes;
  return cache;
}

static void
release_list (gpointer key, gpointer value, gpointer user_data)
{
  for (Header *h = value, *next; h != NULL; h = next)
    {
      next = h->next;
      free (h);
    }
}

void
jd_cpu_block_cache_free (JdCpuBlockCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_foreach (cache->free_lists, release_list, NULL);
  g_hash_table_unref (cache->free_lists);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

gpointer
jd_cpu_block_cache_take (JdCpuBlockCache *cache,
                         gsize            nbytes,
                         GError         **error)
{
  gsize class_size = jd_cpu_block_cache_class_size (nbytes);
  Header *h = NULL;
  g_mutex_lock (&cache->lock);
  gpointer key = GSIZE_TO_POINTER (class_size);
  h = g_hash_table_lookup (cache->free_lists, key);
  if (h != NULL)
    {
      if (h->next != NULL)
        g_hash_table_insert (cache->free_lists, key, h->next);
      else
        g_hash_table_remove (cache->free_lists, key);
      cache->cached -= class_size;
      h->magic = BLOCK_MAGIC;
    }
  g_mutex_unlock (&cache->lock);
  if (h == NULL)
    {
      void *raw = NULL;
      if (class_size > G_MAXSIZE - HEADER_BYTES ||
          posix_memalign (&raw, HEADER_BYTES, HEADER_BYTES + class_size) != 0)
        {
          g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
                       "Out of memory: %" G_GSIZE_FORMAT " bytes could not be allocated",
                       nbytes);
          return NULL;
        }
      h = raw;
      h->class_size = class_size;
      h->magic = BLOCK_MAGIC;
    }
  h->next = NULL;
  return (char *) h + HEADER_BYTES;
}

void
jd_cpu_block_cache_give (JdCpuBlockCache *cache,
                         gpointer         block)
{
  if (block == NULL)
    return;
  Header *h = (Header *) ((char *) block - HEADER_BYTES);
  g_return_if_fail (h->magic == BLOCK_MAGIC);
  g_mutex_lock (&cache->lock);
  gboolean keep = h->class_size <= cache->limit - MIN (cache->limit, cache->cached);
  if (keep)
    {
      gpointer key = GSIZE_TO_POINTER (h->class_size);
      h->magic = FREE_MAGIC;
      h->next = g_hash_table_lookup (cache->free_lists, key);
      g_hash_table_insert (cache->free_lists, key, h);
      cache->cached += h->class_size;
    }
  g_mutex_unlock (&cache->lock);
  if (!keep)
    free (h);
}

gsize
jd_cpu_block_cache_cached_bytes (JdCpuBlockCache *cache)
{
  g_mutex_lock (&cache->lock);
  gsize cached = cache->cached;
  g_mutex_unlock (&cache->lock);
  return cached;
}

gsize
jd_cpu_block_cache_limit (JdCpuBlockCache *cache)
{
  return cache->limit;
}

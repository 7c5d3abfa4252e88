/* jd-cpu-block-cache.h — the CPU backend's tensor memory: freed blocks are kept for reuse.
 *
 * A denoiser step allocates and frees the same few hundred activation tensors every call. With
 * plain posix_memalign/free, glibc serves the large ones with fresh mmaps and returns them on
 * free, so every op's output was first touched through page faults: a third of a 1-thread
 * `jointdit generate` was kernel time (clear_page, exc_page_fault) before this cache. Here a
 * freed block goes to a free list of its size class (sizes rounded up by at most 1/8) and the
 * next request of that class takes it back, already mapped.
 *
 * The cached bytes are bounded (a block that would exceed the limit is freed at once) and all
 * of them are released with the cache. Blocks are 64-byte aligned. Thread-safe. Under
 * AddressSanitizer the limit is 0, so freed memory is really freed and use-after-free stays
 * detectable.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _JdCpuBlockCache JdCpuBlockCache;

/* limit_bytes: the most the free lists may hold; 0 caches nothing. */
JdCpuBlockCache *jd_cpu_block_cache_new          (gsize limit_bytes);
void             jd_cpu_block_cache_free         (JdCpuBlockCache *cache);

/* A block of at least nbytes (contents undefined), or NULL with JD_ERROR_OUT_OF_MEMORY. */
gpointer         jd_cpu_block_cache_take         (JdCpuBlockCache *cache,
                                                  gsize            nbytes,
                                                  GError         **error);
/* Returns a block from _take (NULL is ignored). */
void             jd_cpu_block_cache_give         (JdCpuBlockCache *cache,
                                                  gpointer         block);

/* The bytes held in the free lists now; the effective limit (0 under AddressSanitizer); the
 * size class a request of nbytes gets. */
gsize            jd_cpu_block_cache_cached_bytes (JdCpuBlockCache *cache);
gsize            jd_cpu_block_cache_limit        (JdCpuBlockCache *cache);
gsize            jd_cpu_block_cache_class_size   (gsize            nbytes);

G_END_DECLS

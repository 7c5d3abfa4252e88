/* jd-cuda-module.c — opening the CUDA module (jointdit-cuda.so) and the jd_cuda_* functions of
 * jd-cuda-backend.h as wrappers over its table (see jd-cuda-module.h for why it is a module).
 *
 * The module is opened at most once per process, on the first call that needs a GPU (device
 * count, a new backend); functions that are handed a backend only look at a module that is
 * already open, since a CUDA backend cannot exist otherwise. When it cannot be loaded, the
 * device count is 0 with a reason and a new backend fails with JD_ERROR_UNSUPPORTED: the
 * program carries on on the CPU.
 */
#include "jd-cuda-module.h"

#include <gmodule.h>

#include "jd-build-config.h"
#include "jd-error.h"

static GOnce load_once = G_ONCE_INIT;
static char *load_failure;   /* the sentence saying why the module is not there */

static const char *
module_path (void)
{
  const char *path = g_getenv ("JD_CUDA_MODULE");
  return path != NULL && path[0] != '\0' ? path : JD_CUDA_MODULE_PATH;
}

static gpointer
load_module (gpointer unused)
{
  const char *path = module_path ();
  /* LAZY: the CUDA libraries' thousands of symbols are bound as they are first called.
   * LOCAL: nothing of the module (or of the CUDA libraries) joins the global namespace. */
  GModule *module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      load_failure = g_strdup_printf ("the CUDA module %s could not be loaded: %s", path,
                                      g_module_error ());
      return NULL;
    }
  JdCudaModuleGetTable get_table = NULL;
  if (!g_module_symbol (module, JD_CUDA_MODULE_SYMBOL, (gpointer *) &get_table)
      || get_table == NULL)
    {
      load_failure = g_strdup_printf ("the CUDA module %s could not be loaded: it has no %s "
                                      "(%s); it is not a jointdit CUDA module",
                                      path, JD_CUDA_MODULE_SYMBOL, g_module_error ());
      g_module_close (module);
      return NULL;
    }
  const JdCudaModuleTable *table = get_table ();
  if (table == NULL || table->version != JD_CUDA_MODULE_VERSION
      || table->size < sizeof (JdCudaModuleTable))
    {
      load_failure = g_strdup_printf ("the CUDA module %s could not be loaded: it has "
                                      "interface version %u, this program needs version %d; "
                                      "install the module built with this program",
                                      path, table != NULL ? table->version : 0,
                                      JD_CUDA_MODULE_VERSION);
      g_module_close (module);
      return NULL;
    }
  /* The table and every backend made through it point into the module: it stays. */
  g_module_make_resident (module);
  return (gpointer) table;
}

const JdCudaModuleTable *
jd_cuda_module_get (char **reason)
{
  const JdCudaModuleTable *table = g_once (&load_once, load_module, NULL);
  if (table == NULL && reason != NULL)
    *reason = g_strdup (load_failure);
  return table;
}

const JdCudaModuleTable *
jd_cuda_module_peek (void)
{
  /* g_once's status is written before the result is published; reading it without the lock
   * can only see "not yet" for a load that is finishing, which is what callers expect of a
   * module that is not open yet. */
  if (g_atomic_int_get ((gint *) &load_once.status) != G_ONCE_STATUS_READY)
    return NULL;
  return load_once.retval;
}

gboolean
jd_cuda_driver_present (void)
{
  /* Asked once per process: the answer cannot change while it runs, and each open of the
   * driver library searches the library path (and, where it exists, maps all of libcuda). */
  static gsize answer = 0;  /* 0: not asked yet; 1: absent; 2: present */
  if (g_once_init_enter (&answer))
    {
      GModule *driver = g_module_open ("libcuda.so.1", G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
      if (driver != NULL)
        g_module_close (driver);
      g_once_init_leave (&answer, driver != NULL ? 2 : 1);
    }
  return answer == 2;
}

/* The public functions of jd-cuda-backend.h. */

int
jd_cuda_device_count (char **reason)
{
  const JdCudaModuleTable *table = jd_cuda_module_get (reason);
  return table != NULL ? table->device_count (reason) : 0;
}

JdBackend *
jd_cuda_backend_new (int device, JdCudaPrecision precision, GError **error)
{
  g_autofree char *reason = NULL;
  const JdCudaModuleTable *table = jd_cuda_module_get (&reason);
  if (table == NULL)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "No CUDA GPU can be used: %s; use --device cpu (or auto)", reason);
      return NULL;
    }
  return table->backend_new (device, precision, error);
}

gboolean
jd_backend_is_cuda (JdBackend *backend)
{
  const JdCudaModuleTable *table = jd_cuda_module_peek ();
  return table != NULL && table->backend_is_cuda (backend);
}

/* The accessors below take a CUDA backend, which only the open module can have made. */
#define CUDA_TABLE(backend, fallback)                                   \
  const JdCudaModuleTable *table = jd_cuda_module_peek ();              \
  g_return_val_if_fail (table != NULL && table->backend_is_cuda (backend), fallback)

JdCudaPrecision
jd_cuda_backend_get_precision (JdBackend *backend)
{
  CUDA_TABLE (backend, JD_CUDA_PRECISION_F32);
  return table->get_precision (backend);
}

void
jd_cuda_backend_set_precision (JdBackend *backend, JdCudaPrecision precision)
{
  const JdCudaModuleTable *table = jd_cuda_module_peek ();
  g_return_if_fail (table != NULL && table->backend_is_cuda (backend));
  table->set_precision (backend, precision);
}

const char *
jd_cuda_backend_get_device_name (JdBackend *backend)
{
  CUDA_TABLE (backend, NULL);
  return table->get_device_name (backend);
}

gboolean
jd_cuda_backend_get_memory (JdBackend *backend, gsize *free_bytes, gsize *total_bytes,
                            GError **error)
{
  CUDA_TABLE (backend, FALSE);
  return table->get_memory (backend, free_bytes, total_bytes, error);
}

gsize
jd_cuda_backend_get_peak_bytes (JdBackend *backend)
{
  CUDA_TABLE (backend, 0);
  return table->get_peak_bytes (backend);
}

void
jd_cuda_backend_reset_peak (JdBackend *backend)
{
  const JdCudaModuleTable *table = jd_cuda_module_peek ();
  g_return_if_fail (table != NULL && table->backend_is_cuda (backend));
  table->reset_peak (backend);
}

gboolean
jd_cuda_backend_check_memory (JdBackend *backend, gsize needed_bytes, const char *what,
                              GError **error)
{
  CUDA_TABLE (backend, FALSE);
  return table->check_memory (backend, needed_bytes, what, error);
}

JdCudaGraphCache *
jd_cuda_graph_cache_new (JdBackend *backend)
{
  /* NULL (graphs off) for any backend the module did not make. */
  const JdCudaModuleTable *table = jd_cuda_module_peek ();
  return table != NULL ? table->graph_cache_new (backend) : NULL;
}

void
jd_cuda_graph_cache_free (JdCudaGraphCache *cache)
{
  if (cache == NULL)
    return;
  const JdCudaModuleTable *table = jd_cuda_module_peek ();
  g_return_if_fail (table != NULL);
  table->graph_cache_free (cache);
}

gboolean
jd_cuda_graph_cache_run (JdCudaGraphCache *cache, const char *key, JdCudaGraphBody body,
                         gpointer data, int n_inputs, const JdTensor *const *inputs,
                         int n_outputs, JdTensor *const *outputs, GError **error)
{
  const JdCudaModuleTable *table = jd_cuda_module_peek ();
  g_return_val_if_fail (table != NULL, FALSE);
  return table->graph_cache_run (cache, key, body, data, n_inputs, inputs, n_outputs, outputs,
                                 error);
}

guint
jd_cuda_graph_launch_count (void)
{
  const JdCudaModuleTable *table = jd_cuda_module_peek ();
  return table != NULL ? table->graph_launch_count () : 0;
}

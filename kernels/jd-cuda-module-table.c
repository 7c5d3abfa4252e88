/* The CUDA module's one export (see engine/jd-cuda-module.h): the table of the backend's
 * functions the engine calls through its jd_cuda_* wrappers. */
#include "jd-cuda-module.h"

/* Exported by the version script (jd-cuda-module.map); declared here for -Wmissing-prototypes. */
const JdCudaModuleTable *jd_cuda_module_get_table (void);

static const JdCudaModuleTable table = {
  .version = JD_CUDA_MODULE_VERSION,
  .size = sizeof (JdCudaModuleTable),
  .device_count = jd_cuda_device_count,
  .backend_new = jd_cuda_backend_new,
  .backend_is_cuda = jd_backend_is_cuda,
  .get_precision = jd_cuda_backend_get_precision,
  .set_precision = jd_cuda_backend_set_precision,
  .get_device_name = jd_cuda_backend_get_device_name,
  .get_memory = jd_cuda_backend_get_memory,
  .get_peak_bytes = jd_cuda_backend_get_peak_bytes,
  .reset_peak = jd_cuda_backend_reset_peak,
  .check_memory = jd_cuda_backend_check_memory,
  .graph_cache_new = jd_cuda_graph_cache_new,
  .graph_cache_free = jd_cuda_graph_cache_free,
  .graph_cache_run = jd_cuda_graph_cache_run,
  .graph_launch_count = jd_cuda_graph_launch_count,
};

__attribute__ ((visibility ("default"))) const JdCudaModuleTable *
jd_cuda_module_get_table (void)
{
  return &table;
}

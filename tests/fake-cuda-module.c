/* A stand-in for jointdit-cuda.so with the wrong interface version: the loader must refuse it
 * with a sentence instead of calling into a table laid out differently (test-cuda-module.c). */
#include "jd-cuda-module.h"

const JdCudaModuleTable *jd_cuda_module_get_table (void);

static const JdCudaModuleTable table = {
  .version = 999,
  .size = sizeof (JdCudaModuleTable),
};

const JdCudaModuleTable *
jd_cuda_module_get_table (void)
{
  return &table;
}

#include "jd-data-paths.h"

#include "jd-build-config.h"

const char *
jd_data_default_model_path (void)
{
  const char *override = g_getenv ("JOINTDIT_MODEL");
  if (override != NULL && *override != '\0')
    return override;
  return JD_PKGDATADIR "/models/default.safetensors";
}

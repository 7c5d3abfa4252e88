/* jd-convert-source.h — one component of a source checkpoint as the converter reads it: a
 * folder in the diffusers/transformers layout (config.json + one safetensors file, or shards
 * listed by a *.safetensors.index.json), or a single safetensors file.
 *
 * Every file is opened through jd-safetensors (untrusted input: bounds, dtypes F32/F16/BF16,
 * shapes). Pickled checkpoints (.bin, .ckpt, .pt, .pth, .pkl) are never opened: a folder that
 * holds only those, or a path naming one, is refused with a sentence saying to convert it to
 * safetensors. A tensor name found in two shards is refused. */
#pragma once

#include <json-glib/json-glib.h>

#include "jd-safetensors.h"

G_BEGIN_DECLS

typedef struct _JdConvertSource JdConvertSource;

/* folder: a diffusers/transformers model folder; its config.json is required. */
JdConvertSource          *jd_convert_source_open_folder (const char *folder, GError **error);
/* path: one safetensors file (no config). */
JdConvertSource          *jd_convert_source_open_file   (const char *path, GError **error);
void                      jd_convert_source_free        (JdConvertSource *source);

/* The folder or file given, for messages. */
const char               *jd_convert_source_get_path    (JdConvertSource *source);
/* The parsed config.json (NULL for a single file); owned by source. */
JsonObject               *jd_convert_source_get_config  (JdConvertSource *source);
const char               *jd_convert_source_get_config_path (JdConvertSource *source);

/* The safetensors files read, in order (paths owned by source). */
guint                     jd_convert_source_get_n_files (JdConvertSource *source);
const char               *jd_convert_source_get_file    (JdConvertSource *source, guint index);

/* All tensor names, sorted (owned by source). */
guint                     jd_convert_source_get_n_tensors (JdConvertSource *source);
const char               *jd_convert_source_get_name    (JdConvertSource *source, guint index);
/* The entry of that name and the file holding it; NULL when absent. */
const JdSafetensorsEntry *jd_convert_source_lookup      (JdConvertSource *source,
                                                         const char      *name,
                                                         const char     **file_path);

/* A __metadata__ value of the first file, or NULL. */
const char               *jd_convert_source_get_metadata (JdConvertSource *source,
                                                          const char      *key);

/* "is a pickled checkpoint" test on a file name: .bin .ckpt .pt .pth .pkl .pickle */
gboolean                  jd_convert_is_pickle_name     (const char *path);
/* Always FALSE, with the JD_ERROR_UNSUPPORTED sentence saying why path is not loaded and how to
 * convert it. */
gboolean                  jd_convert_refuse_pickle      (const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdConvertSource, jd_convert_source_free)

G_END_DECLS

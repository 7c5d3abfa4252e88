/* jd-config-read.h — typed reads from a bundle's JSON config, each failure a sentence that names
 * the full key path ("video_unet.block_out_channels[2] must be a positive integer").
 *
 * `path` names the object being read, for messages ("video_unet", "joint.split"). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The member `key` of `object` as an object. */
JsonObject *jd_config_object   (JsonObject *object, const char *path, const char *key,
                                GError **error);
/* Integers in [min, max]; a value written as 3.0 is refused (it is not an integer). */
gboolean    jd_config_int      (JsonObject *object, const char *path, const char *key,
                                int64_t min, int64_t max, int64_t *out, GError **error);
/* Finite numbers. */
gboolean    jd_config_double   (JsonObject *object, const char *path, const char *key,
                                double *out, GError **error);
gboolean    jd_config_bool     (JsonObject *object, const char *path, const char *key,
                                gboolean *out, GError **error);
/* A string owned by the config. */
const char *jd_config_string   (JsonObject *object, const char *path, const char *key,
                                GError **error);
/* An array of exactly `length` integers in [min, max] (length < 0: any length up to
 * max_length, reported in *out_length). */
gboolean    jd_config_int_array (JsonObject *object, const char *path, const char *key,
                                 int64_t min, int64_t max, int length, int max_length,
                                 int64_t *out, int *out_length, GError **error);
/* An array of strings, as a NULL-terminated vector (free with g_strfreev). */
char      **jd_config_string_array (JsonObject *object, const char *path, const char *key,
                                    GError **error);
/* Optional members: absent (or null) leaves *out unchanged and succeeds. */
gboolean    jd_config_has      (JsonObject *object, const char *key);

G_END_DECLS

/* jd-bundle.h — JointDiT model bundles: one safetensors file whose __metadata__ holds the
 * model's JSON config under "jointdit.config" (DESIGN.md §6).
 *
 * The config is untrusted like the rest of the file: it is pre-scanned for nesting (at most
 * JD_JSON_MAX_DEPTH levels), must be a JSON object with "format": "jointdit-bundle" and an
 * integer "version" this engine reads (JD_BUNDLE_VERSION). Tensors are grouped into parts by
 * name prefix; a tensor under no known prefix belongs to the part "other".
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "jd-safetensors.h"

G_BEGIN_DECLS

#define JD_BUNDLE_CONFIG_KEY "jointdit.config"
#define JD_BUNDLE_FORMAT     "jointdit-bundle"
#define JD_BUNDLE_VERSION    1

typedef struct _JdBundle JdBundle;

typedef struct {
  const char *name;          /* "video.unet", …, "joint" or "other" */
  const char *prefix;        /* "video.unet.", …; NULL for "other" */
  guint       n_tensors;
  int64_t     n_parameters;
  guint       dtypes;        /* bit (1 << JdDType) for each dtype present */
} JdBundlePart;

/* Opens and validates path as a safetensors file, then as a bundle. */
JdBundle           *jd_bundle_open            (const char    *path,
                                               GError       **error);
/* Validates file as a bundle; takes ownership of file, also on failure. */
JdBundle           *jd_bundle_new             (JdSafetensors *file,
                                               GError       **error);
void                jd_bundle_free            (JdBundle      *bundle);

JdSafetensors      *jd_bundle_get_file        (JdBundle      *bundle);
int                 jd_bundle_get_version     (JdBundle      *bundle);
/* The parsed config, owned by bundle. */
JsonObject         *jd_bundle_get_config      (JdBundle      *bundle);
/* The config's "provenance" object, or NULL when it has none (or only a description string). */
JsonObject         *jd_bundle_get_provenance  (JdBundle      *bundle);

/* Parts that have at least one tensor, in the order of DESIGN.md §6, "other" last. */
guint               jd_bundle_get_n_parts     (JdBundle      *bundle);
const JdBundlePart *jd_bundle_get_part        (JdBundle      *bundle,
                                               guint          index);
/* The part a tensor name belongs to: "video.unet", …, or "other". */
const char         *jd_bundle_part_for_name   (const char    *tensor_name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdBundle, jd_bundle_free)

G_END_DECLS

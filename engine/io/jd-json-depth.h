/* jd-json-depth.h — a guard run before json-glib sees untrusted JSON.
 *
 * json-glib parses recursively and has no nesting limit, so a header of a few hundred thousand
 * '[' overflows the stack. This scan counts how deeply arrays and objects nest, ignoring
 * brackets inside strings (with their escapes), without building anything.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The deepest nesting model files and bundle configs may use. */
#define JD_JSON_MAX_DEPTH 64

/* TRUE when no array or object in text (length bytes, need not be NUL-terminated) nests deeper
 * than max_depth levels. Says nothing about whether text is valid JSON. */
gboolean jd_json_depth_within (const char *text,
                               gsize       length,
                               guint       max_depth);

G_END_DECLS

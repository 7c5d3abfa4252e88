/* jd-error.h — the engine's GError domain.
 *
 * Every failure the engine reports is a GError in this domain whose message is a sentence a
 * person can act on: it names the file, tensor or argument involved and says what is wrong.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JD_ERROR (jd_error_quark ())

typedef enum {
  JD_ERROR_INVALID_ARGUMENT, /* a caller passed shapes, dtypes or values that make no sense */
  JD_ERROR_UNSUPPORTED,      /* valid, but this backend or build cannot do it */
  JD_ERROR_OUT_OF_MEMORY,    /* an allocation failed */
  JD_ERROR_BACKEND,          /* the backend library (oneDNN, CUDA) reported a failure */
  JD_ERROR_MODEL_FILE,       /* a model file is malformed or inconsistent */
  JD_ERROR_IO,               /* reading or writing a file failed */
  JD_ERROR_CANCELLED,        /* the caller asked to stop */
} JdError;

GQuark jd_error_quark (void);

/* Early returns for code whose callees set the GError: when expr is false, return NULL
 * (JD_TRY_NULL) or FALSE (JD_TRY_FALSE); g_autoptr cleans up what was made so far. */
#define JD_TRY_NULL(expr)  \
  G_STMT_START {           \
    if (!(expr))           \
      return NULL;         \
  } G_STMT_END
#define JD_TRY_FALSE(expr) \
  G_STMT_START {           \
    if (!(expr))           \
      return FALSE;        \
  } G_STMT_END

G_END_DECLS

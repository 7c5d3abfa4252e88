#include "jd-error.h"

G_DEFINE_QUARK (jd-error-quark, jd_error)

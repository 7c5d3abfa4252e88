/* test-util.h — what the engine's tests share: random inputs, float64 references and the
 * project's error measure err = ‖a − b‖ / ‖b‖ (DESIGN.md §8). */
#pragma once

#include <glib.h>

#include "jd-backend.h"
#include "jd-cpu-backend.h"

G_BEGIN_DECLS

/* One CPU backend per test program (threads from JD_TEST_THREADS, default 2). */
JdBackend *jd_test_backend (void);

/* A tensor on the test backend filled with uniform values in [lo, hi) from rng; never zeros. */
JdTensor  *jd_test_tensor_random (GRand *rng, float lo, float hi, int ndim, const int64_t *shape);
/* An uninitialised output on the test backend, poisoned with NaN so unwritten elements show. */
JdTensor  *jd_test_tensor_poisoned (int ndim, const int64_t *shape);

/* A deterministic generator for the calling test (seed from the test path, or JD_TEST_SEED). */
GRand     *jd_test_rng (void);

/* ‖a − b‖ / ‖b‖ with a in float and the reference b in double; +inf if any a is not finite. */
double     jd_test_rel_error (const float *a, const double *b, gsize n);

/* Asserts the relative error is at most limit, printing both on failure. */
#define jd_test_assert_close(a, b, n, limit)                                              \
  G_STMT_START {                                                                          \
    double _err = jd_test_rel_error ((a), (b), (n));                                      \
    if (!(_err <= (limit)))                                                               \
      g_error ("%s:%d: relative error %.3g exceeds %.3g", __FILE__, __LINE__, _err,       \
               (double) (limit));                                                         \
  } G_STMT_END

G_END_DECLS

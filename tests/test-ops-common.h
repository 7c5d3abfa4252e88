/* test-ops-common.h — small helpers the op tests (norm, elementwise, layout, position) share:
 * shapes written inline, NumPy-style broadcast indexing for references, and the check that a
 * front end refuses bad arguments with a message naming the op. */
#pragma once

#include <string.h>

#include "jd-error.h"
#include "jd-ops.h"
#include "test-util.h"

typedef struct {
  int     ndim;
  int64_t d[JD_MAX_DIMS];
} TestShape;

#define TEST_SHAPE(...)                                                                   \
  ((TestShape) { .ndim = sizeof ((int64_t[]) { __VA_ARGS__ }) / sizeof (int64_t),          \
                 .d = { __VA_ARGS__ } })

static inline int64_t
test_shape_numel (TestShape s)
{
  int64_t n = 1;
  for (int i = 0; i < s.ndim; i++)
    n *= s.d[i];
  return n;
}

static inline JdTensor *
test_random (GRand *rng, float lo, float hi, TestShape s)
{
  return jd_test_tensor_random (rng, lo, hi, s.ndim, s.d);
}

static inline JdTensor *
test_poisoned (TestShape s)
{
  return jd_test_tensor_poisoned (s.ndim, s.d);
}

/* Flat index into a tensor of shape `t` (right-aligned, size-1 dims broadcast) of the element
 * that dst's flat index `flat` reads. */
static inline int64_t
test_broadcast_index (const int64_t *dst_shape, int dst_ndim, const int64_t *t_shape, int t_ndim,
                      int64_t flat)
{
  int64_t index = 0, stride = 1;
  for (int i = dst_ndim - 1; i >= 0; i--)
    {
      int64_t coord = flat % dst_shape[i];
      flat /= dst_shape[i];
      int ti = i - (dst_ndim - t_ndim);
      if (ti < 0)
        continue;
      if (t_shape[ti] != 1)
        index += coord * stride;
      stride *= t_shape[ti];
    }
  return index;
}

/* The call returned FALSE with JD_ERROR_INVALID_ARGUMENT and a message starting "<op>: ". */
#define test_assert_refused(call, op_name)                                                    \
  G_STMT_START {                                                                              \
    g_autoptr (GError) _error = NULL;                                                         \
    GError **error_out = &_error;                                                             \
    gboolean _ok = (call);                                                                    \
    g_assert_false (_ok);                                                                     \
    g_assert_error (_error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);                             \
    g_autofree char *_prefix = g_strconcat ((op_name), ": ", NULL);                           \
    if (!g_str_has_prefix (_error->message, _prefix))                                         \
      g_error ("%s:%d: message \"%s\" does not start with \"%s\"", __FILE__, __LINE__,        \
               _error->message, _prefix);                                                     \
    g_test_message ("refused: %s", _error->message);                                          \
  } G_STMT_END

static inline double *
test_doubles (int64_t n)
{
  return g_new (double, MAX (n, 1));
}

/* parity-fixtures.h — the reference's parity bundle and float64 goldens
 * (tools/reference/make_parity_fixtures.py), for the model tests. Found through G_TEST_SRCDIR. */
#pragma once

#include "jd-bundle.h"
#include "test-util.h"

G_BEGIN_DECLS

/* tests/fixtures/reference/parity.safetensors (asserts on failure), opened as a plain
 * safetensors file. (jd_bundle_open reads it too since bundles may give "provenance" as one
 * string, as the reference writes it.) */
JdSafetensors *jd_parity_weights  (void);
/* Its "jointdit.config" metadata, parsed. Free with json_object_unref. */
JsonObject    *jd_parity_config   (JdSafetensors *weights);
/* tests/fixtures/reference/parity-golden.safetensors (asserts on failure). */
JdSafetensors *jd_parity_golden   (void);
/* The golden tensor `name` as an F32 tensor on the test backend. */
JdTensor      *jd_parity_tensor   (JdSafetensors *golden, const char *name);
/* The golden tensor `name` widened to double (numel in *n). Free with g_free. */
double        *jd_parity_expected (JdSafetensors *golden, const char *name, gsize *n);

G_END_DECLS

/* parity-fixtures.h — the reference's parity bundle and float64 goldens
 * (tools/reference/make_parity_fixtures.py), for the model tests. Found through G_TEST_SRCDIR. */
#pragma once

#include "jd-bundle.h"
#include "jd-weights.h"
#include "test-util.h"

G_BEGIN_DECLS

/* tests/fixtures/reference/<file_name> (asserts on failure). */
JdSafetensors *jd_reference_fixture (const char *file_name);
/* The "jointdit.config" metadata of a fixture, parsed. Free with json_object_unref. */
#define jd_fixture_config jd_parity_config
/* tests/fixtures/reference/parity.safetensors (asserts on failure), as a plain safetensors
 * file: the model tests build their parts from its weights and config directly. */
JdSafetensors *jd_parity_weights  (void);
/* Its "jointdit.config" metadata, parsed. Free with json_object_unref. */
JsonObject    *jd_parity_config   (JdSafetensors *weights);
/* tests/fixtures/reference/parity-golden.safetensors (asserts on failure). */
JdSafetensors *jd_parity_golden   (void);
/* The golden tensor `name` as an F32 tensor on the test backend. */
JdTensor      *jd_parity_tensor   (JdSafetensors *golden, const char *name);
/* The golden tensor `name` widened to double (numel in *n). Free with g_free. */
double        *jd_parity_expected (JdSafetensors *golden, const char *name, gsize *n);

/* shared/reference/<name> (the published tensor layouts of public checkpoints, kept beside the
 * project) found in a folder above the test sources, or NULL when there is none. */
char          *jd_published_layout_find (const char *name);
/* Adds every tensor of a layout file (lines "name\t[d0, d1, …]", '#' comments) to weights as
 * F32 views of one zeroed buffer as large as the largest tensor (returned in *buffer, to free
 * after the store), except those leave_out (may be NULL) says TRUE for. Returns the count. */
guint          jd_published_layout_fill (JdWeights *weights, const char *path, float **buffer,
                                         gboolean (*leave_out) (const char *name));

G_END_DECLS

/* Linear layers through cuBLASLt: dst (M, N) = x (M, K) · wᵀ + bias, F32 accumulation, the bias
 * fused as the matmul's epilogue.
 *
 * Row-major x (M, K) is column-major xᵀ (K × M), and row-major w (N, K) column-major wᵀ
 * (K × N), so in cuBLASLt's column-major terms dstᵀ (N × M) = op(w) · xᵀ with op = transpose:
 * A = w (K × N, transposed), B = x (K × M), D = dstᵀ (N × M, ld N), and the bias runs along D's
 * rows, one value per output feature.
 *
 * F32 precision: A, B, D in F32 with CUBLAS_COMPUTE_32F, which never uses TF32. BF16 precision:
 * the weight's cached BF16 copy and x converted to BF16 into scratch, D in F32.
 */
#include "jd-cuda-private.h"

#include <string.h>

#define WORKSPACE_BYTES ((gsize) 32 << 20)

/* The largest power of two (up to 256) that divides the address: cuBLASLt's heuristics must
 * be told, since views (rows of a batch) need not start on 256-byte boundaries. */
static uint32_t
alignment_of (const void *p)
{
  uintptr_t a = (uintptr_t) p;
  uint32_t align = 256;
  while (align > 1 && (a & (align - 1)) != 0)
    align >>= 1;
  return align;
}

typedef struct {
  cublasLtMatmulDesc_t       op;
  cublasLtMatrixLayout_t     a, b, d;
  cublasLtMatmulPreference_t pref;
} Descriptors;

static void
descriptors_clear (Descriptors *desc)
{
  if (desc->pref)
    cublasLtMatmulPreferenceDestroy (desc->pref);
  if (desc->d)
    cublasLtMatrixLayoutDestroy (desc->d);
  if (desc->b)
    cublasLtMatrixLayoutDestroy (desc->b);
  if (desc->a)
    cublasLtMatrixLayoutDestroy (desc->a);
  if (desc->op)
    cublasLtMatmulDescDestroy (desc->op);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Descriptors, descriptors_clear)

/* A described matmul and its algorithm, kept per problem (sizes, types, alignments, bias or
 * not): describing and asking the heuristic costs more host time than a small GEMM runs. */
typedef struct {
  Descriptors          desc;
  cublasLtMatmulAlgo_t algo;
} Plan;

static void
plan_free (gpointer data)
{
  Plan *plan = data;
  descriptors_clear (&plan->desc);
  g_free (plan);
}

GHashTable *
jd_cuda_gemm_plans_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, plan_free);
}

#define LT(call, what) JD_TRY_FALSE (jd_cuda_check_cublas ((call), (what), error))

static gboolean
run_plan (JdCudaBackend *self, const Plan *plan, const void *a_data, const void *b_data,
          float *d_data, void *workspace, GError **error)
{
  const float one = 1.0f, zero = 0.0f;
  LT (cublasLtMatmul (self->lt, plan->desc.op, &one, a_data, plan->desc.a, b_data, plan->desc.b,
                      &zero, d_data, plan->desc.d, d_data, plan->desc.d, &plan->algo, workspace,
                      WORKSPACE_BYTES, self->stream),
      "running the matmul (cublasLtMatmul)");
  return TRUE;
}

/* Describes and runs the matmul; *no_algorithm is set (and FALSE returned without an error)
 * when cuBLASLt has no algorithm for this combination, so the caller can retry unfused. */
static gboolean
matmul (JdCudaBackend *self, const void *a_data, const void *b_data, float *d_data,
        const float *bias_data, cudaDataType_t in_type, uint64_t m, uint64_t n, uint64_t k,
        void *workspace, gboolean *no_algorithm, GError **error)
{
  *no_algorithm = FALSE;
  const uint32_t align_a = alignment_of (a_data), align_b = alignment_of (b_data);
  const uint32_t align_d = alignment_of (d_data);
  g_autofree char *key = g_strdup_printf ("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %"
                                          G_GUINT64_FORMAT " %d %d %u %u %u", m, n, k,
                                          (int) in_type, bias_data != NULL, align_a, align_b,
                                          align_d);
  const size_t workspace_size = WORKSPACE_BYTES;
  Plan *plan = g_hash_table_lookup (self->gemm_plans, key);
  if (plan != NULL)
    {
      if (bias_data != NULL)
        LT (cublasLtMatmulDescSetAttribute (plan->desc.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                            &bias_data, sizeof bias_data),
            "setting the bias pointer");
      return run_plan (self, plan, a_data, b_data, d_data, workspace, error);
    }
  g_auto (Descriptors) desc = { 0 };
  LT (cublasLtMatmulDescCreate (&desc.op, CUBLAS_COMPUTE_32F, CUDA_R_32F),
      "creating the matmul descriptor");
  const cublasOperation_t transpose = CUBLAS_OP_T, no_transpose = CUBLAS_OP_N;
  LT (cublasLtMatmulDescSetAttribute (desc.op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose,
                                      sizeof transpose), "setting TRANSA");
  LT (cublasLtMatmulDescSetAttribute (desc.op, CUBLASLT_MATMUL_DESC_TRANSB, &no_transpose,
                                      sizeof no_transpose), "setting TRANSB");
  if (bias_data != NULL)
    {
      const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
      const cudaDataType_t bias_type = CUDA_R_32F;
      LT (cublasLtMatmulDescSetAttribute (desc.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                          sizeof epilogue), "setting the bias epilogue");
      LT (cublasLtMatmulDescSetAttribute (desc.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                          &bias_data, sizeof bias_data),
          "setting the bias pointer");
      LT (cublasLtMatmulDescSetAttribute (desc.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                          &bias_type, sizeof bias_type),
          "setting the bias type");
    }
  LT (cublasLtMatrixLayoutCreate (&desc.a, in_type, k, n, (int64_t) k), "describing the weight");
  LT (cublasLtMatrixLayoutCreate (&desc.b, in_type, k, m, (int64_t) k), "describing the input");
  LT (cublasLtMatrixLayoutCreate (&desc.d, CUDA_R_32F, n, m, (int64_t) n),
      "describing the output");

  LT (cublasLtMatmulPreferenceCreate (&desc.pref), "creating the matmul preference");
  LT (cublasLtMatmulPreferenceSetAttribute (desc.pref,
                                            CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                            &workspace_size, sizeof workspace_size),
      "setting the workspace size");
  const uint32_t align_c = align_d;
  LT (cublasLtMatmulPreferenceSetAttribute (desc.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                            &align_a, sizeof align_a), "setting A's alignment");
  LT (cublasLtMatmulPreferenceSetAttribute (desc.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                            &align_b, sizeof align_b), "setting B's alignment");
  LT (cublasLtMatmulPreferenceSetAttribute (desc.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                            &align_c, sizeof align_c), "setting C's alignment");
  LT (cublasLtMatmulPreferenceSetAttribute (desc.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                            &align_d, sizeof align_d), "setting D's alignment");

  cublasLtMatmulHeuristicResult_t result;
  int found = 0;
  LT (cublasLtMatmulAlgoGetHeuristic (self->lt, desc.op, desc.a, desc.b, desc.d, desc.d,
                                      desc.pref, 1, &result, &found),
      "choosing a matmul algorithm");
  if (found == 0)
    {
      *no_algorithm = TRUE;
      return FALSE;
    }
  plan = g_new0 (Plan, 1);
  plan->desc = desc;
  memset (&desc, 0, sizeof desc);  /* now owned by the plan */
  plan->algo = result.algo;
  g_hash_table_insert (self->gemm_plans, g_steal_pointer (&key), plan);
  return run_plan (self, plan, a_data, b_data, d_data, workspace, error);
}

gboolean
jd_cuda_run_linear (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *x = op->src[0], *w = op->src[1], *bias = op->src[2];
  JdTensor *dst = op->dst;
  const uint64_t n = (uint64_t) w->shape[0], k = (uint64_t) w->shape[1];
  const uint64_t m = (uint64_t) (jd_tensor_numel (x) / MAX (w->shape[1], 1));
  if (m == 0 || n == 0)
    return TRUE;
  if (k == 0)
    {
      /* An empty sum: dst is the bias (or zeros). */
      JD_TRY_FALSE (jd_cuda_check (jd_cuda_launch_fill (dst->data, 0.0f, (int64_t) (m * n),
                                                        self->stream), "clearing", error));
      if (bias != NULL)
        JD_TRY_FALSE (jd_cuda_check (jd_cuda_launch_add_channel_bias (dst->data, bias->data,
                                                                      (int64_t) m, (int64_t) n,
                                                                      1, self->stream),
                                     "adding the bias", error));
      return TRUE;
    }

  const gboolean bf16 = self->precision == JD_CUDA_PRECISION_BF16;
  const cudaDataType_t in_type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
  const void *a_data = w->data, *b_data = x->data;
  gsize x_bytes = bf16 ? jd_cuda_bf16_bytes ((int64_t) (m * k)) : 0;
  gsize w_bytes = bf16 ? jd_cuda_bf16_bytes ((int64_t) (n * k)) : 0;
  char *scratch = jd_cuda_scratch (self, WORKSPACE_BYTES + x_bytes + w_bytes, error);
  if (scratch == NULL)
    return FALSE;
  void *workspace = scratch;
  char *at = scratch + WORKSPACE_BYTES;
  if (bf16)
    {
      void *x16 = at;
      at += x_bytes;
      JD_TRY_FALSE (jd_cuda_check (jd_cuda_launch_f32_to_bf16 (x->data, x16, (int64_t) (m * k),
                                                               self->stream),
                                   "converting the input to BF16", error));
      b_data = x16;
      a_data = jd_cuda_weight_bf16 (self, w, &at, error);
      if (a_data == NULL)
        return FALSE;
    }

  /* The bias fused as cuBLASLt's epilogue where it has an algorithm for that, else added by
   * a kernel afterwards. */
  gboolean no_algorithm = FALSE;
  const float *bias_data = bias != NULL ? bias->data : NULL;
  if (matmul (self, a_data, b_data, dst->data, bias_data, in_type, m, n, k, workspace,
              &no_algorithm, error))
    return TRUE;
  if (!no_algorithm)
    return FALSE;
  if (bias_data != NULL
      && matmul (self, a_data, b_data, dst->data, NULL, in_type, m, n, k, workspace,
                 &no_algorithm, error))
    return jd_cuda_check (jd_cuda_launch_add_channel_bias (dst->data, bias_data, (int64_t) m,
                                                           (int64_t) n, 1, self->stream),
                          "adding the bias", error);
  if (no_algorithm)
    g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                 "linear: cuBLASLt has no algorithm for %" G_GUINT64_FORMAT " × %"
                 G_GUINT64_FORMAT " × %" G_GUINT64_FORMAT " (%s)", m, n, k,
                 bf16 ? "BF16" : "F32");
  return FALSE;
}

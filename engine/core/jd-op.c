#include "jd-op.h"

static const char *const op_names[JD_OP_COUNT] = {
  [JD_OP_LINEAR] = "linear",
  [JD_OP_CONV2D] = "conv2d",
  [JD_OP_CONV_TEMPORAL] = "temporal conv",
  [JD_OP_CONV1D] = "conv1d",
  [JD_OP_CONV_TRANSPOSE1D] = "transposed conv1d",
  [JD_OP_GROUP_NORM] = "group norm",
  [JD_OP_LAYER_NORM] = "layer norm",
  [JD_OP_UNARY] = "unary",
  [JD_OP_BINARY] = "binary",
  [JD_OP_UPSAMPLE_NEAREST] = "nearest upsample",
  [JD_OP_ATTENTION] = "attention",
  [JD_OP_ROPE] = "rotary embedding",
  [JD_OP_TIMESTEP_EMBEDDING] = "timestep embedding",
  [JD_OP_CONCAT] = "concat",
  [JD_OP_SLICE] = "slice",
  [JD_OP_PERMUTE] = "permute",
  [JD_OP_BROADCAST] = "broadcast",
  [JD_OP_NORMAL_NOISE] = "normal noise",
};

const char *
jd_op_kind_name (JdOpKind kind)
{
  if ((unsigned) kind >= JD_OP_COUNT || op_names[kind] == NULL)
    return "unknown";
  return op_names[kind];
}

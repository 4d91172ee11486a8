"""QUANTIZE and DEQUANTIZE lowerings (TFLM's quantize_common.cc, dequantize_common.cc).

float32 -> int8 and int8 -> float32 have their own kernels; int8 -> int8
QUANTIZE (a requantisation, reference_ops::Requantize) is a 256-entry table.
"""

from __future__ import annotations

from engine.lowering import Call, LowerOptions, TensorArg, UnsupportedOp, lowering
from engine.ops._nonconv_common import (
    float_bits,
    inputs,
    num_elements,
    output,
    per_tensor,
)
from engine.ops.activation import lut_call, requantize_table
from tflite_bridge.ir import DType, Graph, Op


@lowering("QUANTIZE")
def lower_quantize(graph: Graph, op: Op, options: LowerOptions) -> Call:
    (x,) = inputs(graph, op)
    y = output(graph, op)
    out_scale, out_zp = per_tensor(op, y)
    if x.dtype == DType.FLOAT32 and y.dtype == DType.INT8:
        return Call(
            function="te_quantize_f32_s8",
            args=(
                TensorArg(x.id),
                TensorArg(y.id),
                num_elements(x),
                float_bits(out_scale),
                out_zp,
            ),
            sources=("te_quantize",),
        )
    if x.dtype == DType.INT8 and y.dtype == DType.INT8:
        in_scale, in_zp = per_tensor(op, x)
        return lut_call(
            x, y, requantize_table(in_scale, in_zp, out_scale, out_zp), options
        )
    raise UnsupportedOp(
        f"QUANTIZE: {x.dtype.name} -> {y.dtype.name} is not supported (float32/int8 -> int8 only)"
    )


@lowering("DEQUANTIZE")
def lower_dequantize(graph: Graph, op: Op, options: LowerOptions) -> Call:
    (x,) = inputs(graph, op)
    y = output(graph, op)
    if x.dtype != DType.INT8 or y.dtype != DType.FLOAT32:
        raise UnsupportedOp(
            f"DEQUANTIZE: {x.dtype.name} -> {y.dtype.name} is not supported (int8 -> float32 only)"
        )
    in_scale, in_zp = per_tensor(op, x)
    return Call(
        function="te_dequantize_s8_f32",
        args=(
            TensorArg(x.id),
            TensorArg(y.id),
            num_elements(x),
            float_bits(in_scale),
            in_zp,
        ),
        sources=("te_quantize",),
    )

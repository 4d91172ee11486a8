"""QUANTIZE and DEQUANTIZE lowerings (TFLM's quantize_common.cc, dequantize_common.cc).

float32 -> int8 and int8 -> float32 have their own kernels; int8 -> int8 and
uint8 <-> int8 QUANTIZE (requantisations, reference_ops::Requantize) are
256-entry tables.
"""

from __future__ import annotations

import numpy as np

from engine.lower import fixedpoint as fp
from engine.lower.call import (
    Call,
    ConstArray,
    LowerOptions,
    TensorArg,
    UnsupportedOp,
    lowering,
)
from engine.lower.ops._nonconv_common import (
    float_bits,
    inputs,
    num_elements,
    output,
    per_tensor,
)
from engine.lower.ops.activation import lut_call, requantize_table
from engine.lower.quant import QRANGE, quantize_multiplier
from tflite_bridge.ir import DType, Graph, Op


@lowering("QUANTIZE", dtypes="float32, int8 or uint8 -> int8; int8 -> uint8", limits="per-tensor")
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
    if (x.dtype, y.dtype) in ((DType.UINT8, DType.INT8), (DType.INT8, DType.UINT8)):
        in_scale, in_zp = per_tensor(op, x)
        table = requantize_byte_table(
            x.dtype, in_scale, in_zp, y.dtype, out_scale, out_zp
        )
        return Call(
            function="te_lut_u8",
            args=(
                TensorArg(x.id),
                TensorArg(y.id),
                num_elements(x),
                ConstArray("uint8_t", table),
            ),
            sources=("te_activation",),
            alias=(0, 0) if options.inplace else None,
            alias_bytes=x.nbytes if options.inplace else 0,
        )
    raise UnsupportedOp(
        f"QUANTIZE: {x.dtype.name} -> {y.dtype.name} is not supported "
        "(float32/int8/uint8 -> int8, int8 -> uint8 only)"
    )


def requantize_byte_table(
    in_dtype: DType,
    in_scale: np.float32,
    in_zp: int,
    out_dtype: DType,
    out_scale: np.float32,
    out_zp: int,
) -> tuple[int, ...]:
    """reference_ops::Requantize between 8-bit types as a table over raw input bytes.

    (TFLM's shortcut for equal scales and zero points 128 apart, x ^ 0x80, is
    the same function: the multiplier is then exactly 1.)
    """
    values = np.arange(256, dtype=np.uint8).view(in_dtype.numpy).astype(np.int64)
    mult, shift = quantize_multiplier(float(in_scale) / float(out_scale))
    lo, hi = QRANGE[out_dtype]
    out = np.clip(
        fp.multiply_by_quantized_multiplier(values - in_zp, mult, shift) + out_zp,
        lo,
        hi,
    )
    return tuple(int(v) for v in out.astype(out_dtype.numpy).view(np.uint8))


@lowering("DEQUANTIZE", dtypes="int8 -> float32", limits="per-tensor")
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

"""Prepare-time arithmetic shared by the conv-like lowerings (conv, depthwise, FC).

Reproduces TFLM's Prepare exactly: per-channel multipliers from
PopulateConvolutionQuantizationParams (double products), the zero-point folding
of te_conv.h, and the geometry conventions. Registers no lowering.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.lower.call import ConstArray, TensorArg, UnsupportedOp
from engine.lower.padding import padding_before
from engine.lower.quant import activation_range, quantize_multiplier
from tflite_bridge.attrs import Activation, Padding
from tflite_bridge.conventions import out_size
from tflite_bridge.ir import ABSENT, DType, Graph, Op, Tensor

INT32_MAX = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Requant:
    """Per-output-channel requantisation and clamp of a conv-like op."""

    multipliers: tuple[int, ...]
    shifts: tuple[int, ...]
    act_min: int
    act_max: int


def int8_tensor(graph: Graph, op: Op, slot: int, role: str, outputs: bool = False) -> Tensor:
    """Input (or output) `slot` of `op`, checked to be a quantised int8 tensor."""
    tids = op.outputs if outputs else op.inputs
    tid = tids[slot] if slot < len(tids) else ABSENT
    if tid == ABSENT:
        raise UnsupportedOp(f"{op.kind}: the {role} is absent")
    t = graph.tensor(tid)
    if t.dtype != DType.INT8:
        raise UnsupportedOp(f"{op.kind}: {role} {t.name!r} is {t.dtype.name}, only int8 is supported")
    if t.quant is None:
        raise UnsupportedOp(f"{op.kind}: {role} {t.name!r} has no quantisation parameters")
    return t


def activation_scale(t: Tensor) -> tuple[float, int]:
    """(scale, zero point) of a per-tensor quantised activation."""
    if len(t.quant.scale) != 1:
        raise UnsupportedOp(f"activation {t.name!r} has {len(t.quant.scale)} scales; expected per-tensor")
    return t.quant.scale[0], int(t.quant.zero_point[0])


def batch_one(op: Op, t: Tensor) -> tuple[int, int, int]:
    """(H, W, C) of an NHWC tensor with batch 1."""
    if len(t.shape) != 4:
        raise UnsupportedOp(f"{op.kind}: tensor {t.name!r} has shape {t.shape}, expected NHWC")
    if t.shape[0] != 1:
        raise UnsupportedOp(f"{op.kind}: batch {t.shape[0]} in {t.name!r}; only batch 1 is supported")
    return t.shape[1], t.shape[2], t.shape[3]


def conv_requant(op: Op, inp: Tensor, filt: Tensor, out: Tensor, channels: int, act: Activation) -> Requant:
    """TFLM's PopulateConvolutionQuantizationParams for int8.

    effective = double(input_scale) * double(filter_scale[c]) / double(output_scale),
    the per-tensor filter scale broadcast over the channels.
    """
    in_scale, _ = activation_scale(inp)
    out_scale, out_zp = activation_scale(out)
    scales = filt.quant.scale
    if len(scales) not in (1, channels):
        raise UnsupportedOp(f"{op.kind}: filter has {len(scales)} scales for {channels} output channels")
    pairs = [quantize_multiplier(in_scale * scales[c if len(scales) > 1 else 0] / out_scale) for c in range(channels)]
    lo, hi = activation_range(act, out_scale, out_zp, DType.INT8)
    return Requant(tuple(m for m, _ in pairs), tuple(s for _, s in pairs), lo, hi)


def bias_values(graph: Graph, op: Op, slot: int, channels: int) -> np.ndarray | None:
    """The constant int32 bias as int64 values, zeros when absent; None if not constant."""
    tid = op.input(slot)
    if tid == ABSENT:
        return np.zeros(channels, np.int64)
    t = graph.tensor(tid)
    if t.dtype != DType.INT32:
        raise UnsupportedOp(f"{op.kind}: bias {t.name!r} is {t.dtype.name}; only int32 bias is supported")
    if t.num_elements != channels:
        raise UnsupportedOp(f"{op.kind}: bias {t.name!r} has {t.num_elements} values for {channels} channels")
    return None if t.data is None else t.data.reshape(-1).astype(np.int64)


def bias_arg(graph: Graph, op: Op, slot: int, channels: int):
    """The bias kernel argument: the tensor itself, or zeros when absent."""
    tid = op.input(slot)
    if tid == ABSENT:
        return ConstArray("int32_t", (0,) * channels)
    bias_values(graph, op, slot, channels)  # checks type and size
    return TensorArg(tid)


def folded_bias(op: Op, bias: np.ndarray | None, weights: np.ndarray | None, input_offset: int) -> ConstArray | None:
    """bias + input_offset * sum(w) per channel, or None where folding is not exact.

    `weights` is [channel, taps] (every product of one output). Folding is
    refused when bias or weights are not constant, or when the folded bias
    plus sum(x * w) over any window could leave int32 (|x| <= 128).
    """
    if bias is None or weights is None:
        return None
    w = weights.astype(np.int64)
    folded = bias + input_offset * w.sum(axis=1)
    if int((np.abs(folded) + 128 * np.abs(w).sum(axis=1)).max(initial=0)) > INT32_MAX:
        return None
    return ConstArray("int32_t", tuple(int(v) for v in folded))


def check_accumulator(op: Op, bias: np.ndarray | None, weights: np.ndarray | None, input_offset: int) -> None:
    """Refuse ops whose TFLM accumulator, bias + sum((x + input_offset) * w), could overflow int32.

    TFLM does not check this; its C++ would overflow, so no result can be bit-exact.
    """
    if bias is None or weights is None:
        return
    x_max = max(abs(-128 + input_offset), abs(127 + input_offset))
    worst = np.abs(bias) + x_max * np.abs(weights.astype(np.int64)).sum(axis=1)
    if int(worst.max(initial=0)) > INT32_MAX:
        raise UnsupportedOp(f"{op.kind}: bias + accumulation could overflow int32 (worst case {int(worst.max())})")


def operands(graph: Graph, op: Op) -> tuple[Tensor, Tensor, Tensor, tuple[int, int, int], tuple[int, int, int]]:
    """(input, filter, output, input HWC, output HWC) of a conv-like op, all checked int8, batch 1."""
    inp = int8_tensor(graph, op, 0, "input")
    filt = int8_tensor(graph, op, 1, "filter")
    out = int8_tensor(graph, op, 0, "output", outputs=True)
    return inp, filt, out, batch_one(op, inp), batch_one(op, out)


@dataclasses.dataclass(frozen=True)
class ConvPrepare:
    """What CONV_2D and DEPTHWISE_CONV_2D Prepare alike: bias, pads, zero points, requantisation."""

    bias: np.ndarray | None
    pad_top: int
    pad_left: int
    in_zp: int
    out_zp: int
    rq: Requant


def prepare(graph: Graph, op: Op, inp: Tensor, filt: Tensor, out: Tensor, k_hw: tuple[int, int]) -> ConvPrepare:
    """Bias, TFLite padding (or fused explicit pads), zero points and per-channel requantisation."""
    attrs = op.attrs
    out_c = out.shape[3]
    pad_top, pad_left = geometry(
        op, tuple(inp.shape[1:3]), tuple(out.shape[1:3]), k_hw, (attrs.stride_h, attrs.stride_w),
        (attrs.dilation_h_factor, attrs.dilation_w_factor), attrs.padding,
    )
    return ConvPrepare(
        bias=bias_values(graph, op, 2, out_c),
        pad_top=pad_top,
        pad_left=pad_left,
        in_zp=activation_scale(inp)[1],
        out_zp=activation_scale(out)[1],
        rq=conv_requant(op, inp, filt, out, out_c, attrs.fused_activation_function),
    )


def geometry(
    op: Op,
    in_hw: tuple[int, int],
    out_hw: tuple[int, int],
    k_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: Padding,
) -> tuple[int, int]:
    """(pad_top, pad_left) by TFLite's rules, or the explicit pads of a fused PAD, after checking the output size."""
    if min(stride) < 1 or min(dilation) < 1 or max(stride + dilation) > 1 << 15:
        raise UnsupportedOp(f"{op.kind}: strides {list(stride)} and dilations {list(dilation)} must be in [1, 32768]")
    pads = []
    explicit = getattr(op.attrs, "pads", None)
    for axis, name in ((0, "height"), (1, "width")):
        if explicit is None:
            expect = out_size(padding, in_hw[axis], k_hw[axis], stride[axis], dilation[axis])
        else:
            padded = in_hw[axis] + explicit[2 * axis] + explicit[2 * axis + 1]
            expect = out_size(Padding.VALID, padded, k_hw[axis], stride[axis], dilation[axis])
        if expect != out_hw[axis]:
            raise UnsupportedOp(f"{op.kind}: output {name} {out_hw[axis]} but {padding.name} padding gives {expect}")
        pads.append(padding_before(op, axis, in_hw[axis], k_hw[axis], stride[axis], dilation[axis]))
    return pads[0], pads[1]


# te_conv.h's TE_DEPTH_ALIGN: the portable conv kernels read filter rows padded to this many bytes.
DEPTH_ALIGN = 16


def weights_rows(filt: Tensor, op: Op) -> TensorArg | ConstArray:
    """The OHWI (or [O, I]) filter as te_conv's kernels read it: rows zero-padded to DEPTH_ALIGN bytes.

    The tensor itself where its rows need no padding, else a padded copy.
    """
    if filt.data is None:
        raise UnsupportedOp(f"{op.kind}: filter {filt.name!r} is not constant")
    rows = filt.data.reshape(filt.shape[0], -1)
    pad = -rows.shape[1] % DEPTH_ALIGN
    if pad == 0:
        return TensorArg(filt.id)
    padded = np.pad(rows, ((0, 0), (0, pad)))
    return ConstArray("int8_t", tuple(int(v) for v in padded.reshape(-1)))


def requant_args(rq: Requant) -> tuple[ConstArray, ConstArray]:
    return ConstArray("int32_t", rq.multipliers), ConstArray("int32_t", rq.shifts)

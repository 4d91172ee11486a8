"""Graph -> Graph passes run before lowering, and what they leave in the IR.

`fuse_pad` removes a PAD/PADV2 whose only reader is a CONV_2D or
DEPTHWISE_CONV_2D and which pads H and W with the zero point: the conv then
pads by itself (its padded taps read the zero point too, so they contribute
nothing), and the padded copy of the input never exists in SRAM.

The fused conv carries `ExplicitPadding` attrs: the schema's attrs plus the
four pad amounts. Only the engine reads them; `engine.lower.padding.padding_before` is the one
place that turns either form into the pad before the first row/column.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.lower.padding import ExplicitConv2DAttrs, ExplicitDepthwiseConv2DAttrs
from tflite_bridge.attrs import Padding
from tflite_bridge.conventions import pad_before_after
from tflite_bridge.ir import ABSENT, Graph, Op

FUSABLE_PADS = frozenset({"PAD", "PADV2"})
CONVS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D"})


_EXPLICIT = {"CONV_2D": ExplicitConv2DAttrs, "DEPTHWISE_CONV_2D": ExplicitDepthwiseConv2DAttrs}


def _pad_amounts(graph: Graph, pad: Op):
    """(top, bottom, left, right) if `pad` pads only H and W of a 4-D tensor with its zero point."""
    src, dst = graph.tensors[pad.inputs[0]], graph.tensors[pad.outputs[0]]
    paddings = graph.tensors[pad.inputs[1]].data
    if paddings is None or len(src.shape) != 4 or src.quant is None or src.quant != dst.quant:
        return None
    paddings = np.asarray(paddings).reshape(-1, 2)
    if paddings.shape != (4, 2) or paddings[0].any() or paddings[3].any() or (paddings < 0).any():
        return None
    zero_point = dst.quant.zero_point[0]
    if pad.kind == "PADV2" and pad.input(2) != ABSENT:
        value = graph.tensors[pad.inputs[2]].data
        if value is None or value.size != 1 or int(value.reshape(-1)[0]) != zero_point:
            return None
    return int(paddings[1][0]), int(paddings[1][1]), int(paddings[2][0]), int(paddings[2][1])


def _fused(graph: Graph, conv: Op, src: int, extra: tuple[int, int, int, int]) -> Op:
    attrs = conv.attrs
    padded = graph.tensors[conv.inputs[0]].shape
    kernel = graph.tensors[conv.inputs[1]].shape[1:3]
    own = []
    steps = ((attrs.stride_h, attrs.dilation_h_factor), (attrs.stride_w, attrs.dilation_w_factor))
    for axis, (stride, dilation) in enumerate(steps):
        own += pad_before_after(attrs.padding, padded[1 + axis], kernel[axis], stride, dilation)
    pads = tuple(e + o for e, o in zip(extra, own))
    fields = {f.name: getattr(attrs, f.name) for f in dataclasses.fields(attrs)}
    explicit = _EXPLICIT[conv.kind](**{**fields, "padding": Padding.VALID, "pads": pads})
    return dataclasses.replace(conv, inputs=(src,) + conv.inputs[1:], attrs=explicit)


def fuse_pad(graph: Graph) -> Graph:
    """Fold each zero-point PAD into the one conv that reads it (see module doc)."""
    consumers = graph.consumers()
    drop: set[int] = set()
    replaced: dict[int, Op] = {}
    for i, op in enumerate(graph.ops):
        if op.kind not in FUSABLE_PADS or op.outputs[0] in graph.outputs:
            continue
        readers = consumers.get(op.outputs[0], [])
        if len(readers) != 1 or graph.ops[readers[0]].kind not in CONVS:
            continue
        conv = graph.ops[readers[0]]
        if conv.inputs[0] != op.outputs[0] or op.outputs[0] in conv.inputs[1:]:
            continue
        if hasattr(conv.attrs, "pads") or (amounts := _pad_amounts(graph, op)) is None:
            continue
        drop.add(i)
        replaced[readers[0]] = _fused(graph, conv, op.inputs[0], amounts)
    if not drop:
        return graph
    ops = tuple(replaced.get(i, op) for i, op in enumerate(graph.ops) if i not in drop)
    return dataclasses.replace(graph, ops=ops)

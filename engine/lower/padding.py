"""Explicit conv padding in the IR, and the one reading of either padding form.

`engine.passes.fuse_pad` folds a zero-point PAD into the conv that reads it; the
conv then carries `Explicit*Attrs`: the schema's attrs plus the four pad amounts.
`padding_before` is the one place that turns either form into the pad before the
first row/column (the lowerings and the patch analysis read it).
"""

from __future__ import annotations

import dataclasses

from tflite_bridge.attrs import Conv2DAttrs, DepthwiseConv2DAttrs
from tflite_bridge.conventions import pad_before_after
from tflite_bridge.ir import Op


@dataclasses.dataclass(frozen=True)
class ExplicitConv2DAttrs(Conv2DAttrs):
    """CONV_2D with explicit (top, bottom, left, right) padding; `padding` is VALID."""

    pads: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclasses.dataclass(frozen=True)
class ExplicitDepthwiseConv2DAttrs(DepthwiseConv2DAttrs):
    """DEPTHWISE_CONV_2D with explicit (top, bottom, left, right) padding; `padding` is VALID."""

    pads: tuple[int, int, int, int] = (0, 0, 0, 0)


def padding_before(op: Op, axis: int, in_size: int, kernel: int, stride: int, dilation: int) -> int:
    """Rows (axis 0) or columns (axis 1) of padding before the input, either attrs form."""
    pads = getattr(op.attrs, "pads", None)
    if pads is not None:
        return pads[2 * axis]
    return pad_before_after(op.attrs.padding, in_size, kernel, stride, dilation)[0]

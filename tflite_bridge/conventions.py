"""TFLite's geometry conventions, computed in one place.

SAME padding in TFLite is asymmetric when the total is odd: the extra row or
column goes after (bottom/right). Dilation widens the effective filter.
"""

from __future__ import annotations

from tflite_bridge.attrs import Padding


def effective_filter(filter_size: int, dilation: int) -> int:
    return (filter_size - 1) * dilation + 1


def out_size(padding: Padding, in_size: int, filter_size: int, stride: int, dilation: int = 1) -> int:
    """ComputeOutSize: the output extent along one spatial axis."""
    eff = effective_filter(filter_size, dilation)
    if padding == Padding.SAME:
        return (in_size + stride - 1) // stride
    return (in_size + stride - eff) // stride


def pad_before_after(
    padding: Padding, in_size: int, filter_size: int, stride: int, dilation: int = 1
) -> tuple[int, int]:
    """ComputePaddingWithOffset: (before, after) padding along one spatial axis.

    VALID comes out as (0, 0): its output size leaves no total to pad.
    """
    out = out_size(padding, in_size, filter_size, stride, dilation)
    total = (out - 1) * stride + effective_filter(filter_size, dilation) - in_size
    total = max(total, 0)
    return total // 2, total // 2 + total % 2

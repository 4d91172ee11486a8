"""TFLite's conventions, computed in one place.

Geometry: SAME padding in TFLite is asymmetric when the total is odd: the extra
row or column goes after (bottom/right). Dilation widens the effective filter.

Quantisation: a table is read as TFLM's allocator reads it
(micro_allocator.cc, InitializeTfLiteTensorFromFlatbuffer), quirks included.
"""

from __future__ import annotations

from typing import Optional

from tflite_bridge.attrs import Padding
from tflite_bridge.ir import Quant


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


def quantization(
    scale: tuple[float, ...], zero_point: tuple[int, ...], quantized_dimension: int, rank: int
) -> Optional[Quant]:
    """A tensor's quantisation as TFLM reads it; ValueError (quoting the values) where no IR fits.

    - No scales or no zero points: not quantised (TFLM keeps neither).
    - Zero points not one per scale: every channel takes the first (TFLM's
      space-saving form for weights, whose zero points are all 0).
    - One scale: per-tensor, whatever `quantized_dimension` says (TFLM's
      person_detect model names dimension 3 with one scale).
    - Several scales on a rank-1 tensor: along its one axis, 0. Older converters
      copied the 4-D weights' dimension (3) into the bias; TFLM never reads a
      bias's dimension.
    """
    if not scale or not zero_point:
        return None
    if len(zero_point) != len(scale):
        zero_point = (zero_point[0],) * len(scale)
    if len(scale) == 1:
        return Quant(scale=scale, zero_point=zero_point)
    axis = 0 if rank == 1 else quantized_dimension
    if not 0 <= axis < rank:
        raise ValueError(f"quantised per channel along axis {axis}, but has rank {rank}")
    return Quant(scale=scale, zero_point=zero_point, axis=axis)

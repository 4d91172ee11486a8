"""Receptive-field and per-patch padding arithmetic (engine/patch/analysis.py), without a compiler.

A numpy model of a window kernel -- taps clipped to the buffer it is given,
exactly how the C kernels treat padding -- is run once on the whole input with
the layer's real padding, and once per patch on the input region `Window.needs`
gives with the padding `Window.pad_before_in` gives. Every patch must equal
the slice of the whole result, for kernels 1/3/5/7, strides 1/2, dilations
1/2, SAME/VALID, odd and even sizes.
"""

import itertools

import numpy as np
import pytest

from engine.patch.analysis import PatchError, Region, Span, Window, grid_spans
from tflite_bridge.attrs import Padding
from tflite_bridge.conventions import out_size, pad_before_after


def window_op(x, weights, wh: Window, ww: Window, out_h: int, out_w: int, pad_top: int, pad_left: int):
    """sum over in-buffer taps of x * w, with (pad_top, pad_left) as the kernels take them."""
    k_h, k_w = weights.shape
    out = np.zeros((out_h, out_w), np.int64)
    for oy, ox in itertools.product(range(out_h), range(out_w)):
        for ky, kx in itertools.product(range(k_h), range(k_w)):
            iy = oy * wh.stride - pad_top + ky * wh.dilation
            ix = ox * ww.stride - pad_left + kx * ww.dilation
            if 0 <= iy < x.shape[0] and 0 <= ix < x.shape[1]:
                out[oy, ox] += x[iy, ix] * weights[ky, kx]
    return out


def _window(padding, size, k, s, d) -> tuple[Window, int]:
    return Window(k, s, d, pad_before_after(padding, size, k, s, d)[0]), out_size(padding, size, k, s, d)


CASES = [(k, s, d, pad, size) for k in (1, 3, 5, 7) for s in (1, 2) for d in (1, 2) for pad in Padding
         for size in (16, 17) if out_size(pad, size, k, s, d) >= 3]


@pytest.mark.parametrize("k,s,d,padding,size", CASES)
def test_patches_equal_slices_of_the_whole(k, s, d, padding, size):
    rng = np.random.default_rng(k * 100 + s * 10 + d)
    x = rng.integers(-128, 128, size=(size, size - 1))
    weights = rng.integers(-50, 50, size=(k, k))  # distinct taps: a shifted window shows
    wh, out_h = _window(padding, x.shape[0], k, s, d)
    ww, out_w = _window(padding, x.shape[1], k, s, d)
    whole = window_op(x, weights, wh, ww, out_h, out_w, wh.pad_before, ww.pad_before)
    for n in (n for n in (2, 3) if n <= min(out_h, out_w)):
        for rows, cols in itertools.product(grid_spans(out_h, n), grid_spans(out_w, n)):
            r_in, c_in = wh.needs(rows, x.shape[0]), ww.needs(cols, x.shape[1])
            patch = window_op(x[r_in.start:r_in.stop, c_in.start:c_in.stop], weights, wh, ww, rows.size, cols.size,
                              wh.pad_before_in(rows, r_in), ww.pad_before_in(cols, c_in))
            np.testing.assert_array_equal(patch, whole[rows.start:rows.stop, cols.start:cols.stop])


@pytest.mark.parametrize("k,s,d,padding,size", CASES[::5])
def test_a_wider_buffer_reads_with_negative_padding(k, s, d, padding, size):
    """A buffer holding more than the patch needs (kept for another reader) gives the same result."""
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, size=(size, size))
    weights = rng.integers(-50, 50, size=(k, k))
    win, out = _window(padding, size, k, s, d)
    whole = window_op(x, weights, win, win, out, out, win.pad_before, win.pad_before)
    rows = grid_spans(out, 3)[1]
    need = win.needs(rows, size)
    wide = Span(max(need.start - 2, 0), min(need.stop + 3, size))
    part = window_op(x[wide.start:wide.stop], weights, win, win, rows.size, out, win.pad_before_in(rows, wide),
                     win.pad_before)
    np.testing.assert_array_equal(part, whole[rows.start:rows.stop])


def test_border_patches_get_the_layer_padding_interior_ones_none():
    win = Window(kernel=3, stride=1, dilation=1, pad_before=1)
    first, middle, last = grid_spans(12, 3)
    assert win.needs(first, 12) == Span(0, 5) and win.pad_before_in(first, Span(0, 5)) == 1
    assert win.needs(middle, 12) == Span(3, 9) and win.pad_before_in(middle, Span(3, 9)) == 0
    assert win.needs(last, 12) == Span(7, 12) and win.pad_before_in(last, Span(7, 12)) == 0
    # The bottom padding is implicit: the last patch's buffer ends at the image edge.
    s2 = Window(kernel=3, stride=2, dilation=1, pad_before=0)  # SAME on an even size pads after only
    assert s2.needs(Span(4, 8), 16) == Span(8, 16)


def test_grid_spans_cover_the_axis_once():
    for size, n in ((18, 4), (7, 7), (36, 6), (5, 2)):
        spans = grid_spans(size, n)
        assert spans[0].start == 0 and spans[-1].stop == size
        assert all(a.stop == b.start for a, b in itertools.pairwise(spans))
        assert max(s.size for s in spans) - min(s.size for s in spans) <= 1
    with pytest.raises(PatchError, match="cannot cut an axis of 3 pixels into 4"):
        grid_spans(3, 4)


def test_region_union_is_the_bounding_box():
    a = Region(Span(0, 4), Span(2, 6))
    b = Region(Span(3, 9), Span(0, 3))
    assert a.union(b) == Region(Span(0, 9), Span(0, 6))
    assert a.union(b).area == 54

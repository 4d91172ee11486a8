"""Patch-based inference (MCUNetV2): where to split, how many patches, which pixels.

The first ops of a CNN hold the largest feature maps. MCUNetV2 runs them
patch by patch: the split layer's output is cut into an n x n grid, and for
each patch only the pixels it depends on are computed, on patch-sized buffers;
the patches' results fill the split layer's full feature map, and the rest of
the network runs layer by layer. Neighbouring patches overlap in their input
(the halo), so some MACs are computed twice: the price of the smaller peak.

This module is the analysis, pure functions on the IR:
  - `Window` / `Span` / `Region`: one axis of an op's input -> output relation
    and the receptive-field arithmetic (`Window.needs`, `Window.pad_before_in`);
  - `patch_regions`: back-propagation of one output patch through the prefix;
  - `candidate_cuts`, `grid_spans`, `analyse_patches`, `choose`: the search.
Memory (buffers, lifetimes, the planner) lives in engine/patch/stage.py.

Padding per patch: a patch's region is clipped to the image, so a window op
that reads outside it reads TFLite's real padding -- on the image border's
side only; an interior patch reads real halo pixels (see `Window`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence

from engine.lower.padding import padding_before
from tflite_bridge import analysis
from tflite_bridge.ir import ABSENT, Graph, Op

# Ops whose output pixel (y, x) reads a window of input pixels.
WINDOW_KINDS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"})
# Ops whose output pixel (y, x) reads input pixel (y, x) of every activation input.
POINTWISE_KINDS = frozenset({"ADD", "SUB", "MUL"})


@dataclasses.dataclass(frozen=True)
class PatchOptions:
    """How to run the first layers patch by patch.

    Attributes:
        max_extra_macs: limit on recomputation: extra MACs of the patch stage
            over the model's total MACs (0.2 = at most 20% more work).
        input_in_arena: True: the input image is a buffer of the arena (and
            counts in its peak); False: the model reads it patch by patch from
            a caller's buffer (camera frame buffer or Flash) passed to
            `<name>_invoke_from(frame)`, as MCUNetV2 counts SRAM.
        grids: the n of the n x n grids to consider.
        split: force the number of ops in the patch stage (None: search).
        grid: force n (None: search).
    """

    max_extra_macs: float = 0.20
    input_in_arena: bool = False
    grids: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
    split: int | None = None
    grid: int | None = None


class PatchError(Exception):
    """No patch plan applies; the message says which cut or grid and why."""


@dataclasses.dataclass(frozen=True)
class Span:
    """Half-open index range [start, stop) along one axis."""

    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def union(self, other: Span) -> Span:
        return Span(min(self.start, other.start), max(self.stop, other.stop))


@dataclasses.dataclass(frozen=True)
class Region:
    """A rectangle of pixels of one NHWC tensor."""

    rows: Span
    cols: Span

    @property
    def area(self) -> int:
        return self.rows.size * self.cols.size

    def union(self, other: Region) -> Region:
        """Bounding box of both (what one buffer must hold to serve both)."""
        return Region(self.rows.union(other.rows), self.cols.union(other.cols))

    @staticmethod
    def full(shape: Sequence[int]) -> Region:
        return Region(Span(0, shape[1]), Span(0, shape[2]))


@dataclasses.dataclass(frozen=True)
class Window:
    """One spatial axis of an input -> output relation: out[o] reads
    in[o * stride - pad_before + k * dilation] for k < kernel (taps outside
    [0, in_size) are the layer's padding)."""

    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    pad_before: int = 0

    def needs(self, out: Span, in_size: int) -> Span:
        """Input indices that outputs `out` read, clipped to the real input.

        Clipping is what makes border padding right: taps beyond the image are
        not in the region, so the kernel sees them as padding, exactly as the
        whole-layer op does; interior patches get real halo pixels instead.
        """
        first = out.start * self.stride - self.pad_before
        last = (out.stop - 1) * self.stride - self.pad_before + (self.kernel - 1) * self.dilation
        return Span(max(first, 0), min(last + 1, in_size))

    def pad_before_in(self, out: Span, buffer: Span) -> int:
        """The kernel's pad_before argument for outputs `out` read from `buffer`.

        A kernel computes out[j] from buffer[j * stride - pad + k * dilation];
        buffer index b is input index buffer.start + b. Equal to the layer's
        padding on a top/left border patch, 0 for an interior patch whose
        buffer starts at its first tap, negative when the buffer holds rows
        before it (a larger region kept for another consumer).
        """
        return self.pad_before + buffer.start - out.start * self.stride


def _same_spatial_shape(graph: Graph, a: int, b: int) -> bool:
    return tuple(graph.tensors[a].shape[:3]) == tuple(graph.tensors[b].shape[:3])


def windows(graph: Graph, op: Op) -> dict[int, tuple[Window, Window]] | None:
    """Input slot -> (row window, column window) for each activation input of `op`.

    None when the op has no pixel-local meaning the patch stage supports
    (reshapes, reductions, broadcasts, non-4-D tensors, batch > 1).
    """
    out = graph.tensors[op.outputs[0]]
    if len(op.outputs) != 1 or len(out.shape) != 4 or out.shape[0] != 1:
        return None
    if op.kind in WINDOW_KINDS:
        inp = graph.tensors[op.inputs[0]]
        if len(inp.shape) != 4 or inp.shape[0] != 1:
            return None
        return {0: _window_pair(graph, op)}
    if op.kind in POINTWISE_KINDS:
        slots = [s for s, t in enumerate(op.inputs) if t != ABSENT and not graph.tensors[t].is_constant]
        if not all(tuple(graph.tensors[op.inputs[s]].shape) == tuple(out.shape) for s in slots):
            return None  # broadcasting: not pixel-local in general
        return {s: (Window(), Window()) for s in slots}
    return None


def _window_pair(graph: Graph, op: Op) -> tuple[Window, Window]:
    attrs = op.attrs
    inp = graph.tensors[op.inputs[0]]
    if op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        kernel, dilation = (attrs.filter_height, attrs.filter_width), (1, 1)
    else:
        kernel = graph.tensors[op.inputs[1]].shape[1:3]
        dilation = (attrs.dilation_h_factor, attrs.dilation_w_factor)
    stride = (attrs.stride_h, attrs.stride_w)
    pair = []
    for axis in (0, 1):
        pad = padding_before(op, axis, inp.shape[1 + axis], kernel[axis], stride[axis], dilation[axis])
        pair.append(Window(kernel[axis], stride[axis], dilation[axis], pad))
    return pair[0], pair[1]


@dataclasses.dataclass(frozen=True)
class Cut:
    """ops[0:split] run per patch; `tensor` is the one tensor they hand on."""

    split: int
    tensor: int


def candidate_cuts(graph: Graph, patchable: Callable[[int], bool] = lambda i: True) -> tuple[Cut, ...]:
    """Every op count `split` whose prefix is pixel-local and hands on one 4-D tensor.

    The single graph input must be read only inside the prefix and every
    prefix op must have `windows` (and pass `patchable`, the code generator's
    veto for kernels it cannot retarget to a patch).
    """
    if len(graph.inputs) != 1 or len(graph.tensors[graph.inputs[0]].shape) != 4:
        return ()
    cuts = []
    for split in range(1, len(graph.ops)):
        op = graph.ops[split - 1]
        if windows(graph, op) is None or not patchable(split - 1):
            break
        crossing = _crossing(graph, split)
        if len(crossing) == 1 and graph.inputs[0] not in crossing and graph.inputs[0] not in _read_after(graph, split):
            cuts.append(Cut(split, crossing[0]))
    return tuple(cuts)


def _read_after(graph: Graph, split: int) -> set[int]:
    read = {t for op in graph.ops[split:] for t in op.inputs if t != ABSENT}
    return read | set(graph.outputs)


def _crossing(graph: Graph, split: int) -> list[int]:
    """Non-constant tensors written by ops[0:split] and read later (or outputs)."""
    written = {t for op in graph.ops[:split] for t in op.outputs}
    return sorted(written & _read_after(graph, split))


def grid_spans(size: int, n: int) -> tuple[Span, ...]:
    """`size` cut into `n` near-equal spans (the first ones the smaller)."""
    if not 1 <= n <= size:
        raise PatchError(f"cannot cut an axis of {size} pixels into {n} patches")
    edges = [i * size // n for i in range(n + 1)]
    return tuple(Span(a, b) for a, b in itertools.pairwise(edges))


def patch_regions(graph: Graph, cut: Cut, out: Region) -> dict[int, Region]:
    """Tensor id -> the region of it that computing `out` of the cut tensor needs.

    Walks the prefix backwards; a tensor read by several ops (a residual
    branch) needs the bounding box of what each reads. The graph input's
    entry is the window of the image the patch reads.
    """
    need: dict[int, Region] = {cut.tensor: out}
    for op in reversed(graph.ops[: cut.split]):
        produced = need.get(op.outputs[0])
        if produced is None:
            continue  # an op the cut tensor does not depend on
        for slot, (wh, ww) in windows(graph, op).items():
            tid = op.inputs[slot]
            shape = graph.tensors[tid].shape
            r = Region(wh.needs(produced.rows, shape[1]), ww.needs(produced.cols, shape[2]))
            need[tid] = need[tid].union(r) if tid in need else r
    return need


@dataclasses.dataclass(frozen=True)
class Patch:
    """One patch: its cell of the cut tensor and every prefix tensor's region."""

    row: int
    col: int
    cell: Region
    regions: Mapping[int, Region]


@dataclasses.dataclass(frozen=True)
class PatchAnalysis:
    """A split and grid with the per-patch regions and their cost in MACs.

    Attributes:
        cut: the split.
        grid: n of the n x n grid.
        patches: row-major.
        prefix_macs: MACs of ops[0:split] run once, layer by layer.
        patched_macs: MACs of the same ops summed over the patches.
        total_macs: MACs of the whole model, layer by layer.
    """

    cut: Cut
    grid: int
    patches: tuple[Patch, ...]
    prefix_macs: int
    patched_macs: int
    total_macs: int

    @property
    def extra_macs_ratio(self) -> float:
        """Recomputed MACs over the whole model's MACs (MCUNetV2's overhead)."""
        return (self.patched_macs - self.prefix_macs) / self.total_macs if self.total_macs else 0.0


def analyse_patches(graph: Graph, cut: Cut, n: int) -> PatchAnalysis:
    """Regions and MACs of running ops[0:cut.split] on an n x n grid of the cut tensor."""
    shape = graph.tensors[cut.tensor].shape
    patches = []
    for r, rows in enumerate(grid_spans(shape[1], n)):
        for c, cols in enumerate(grid_spans(shape[2], n)):
            cell = Region(rows, cols)
            patches.append(Patch(r, c, cell, patch_regions(graph, cut, cell)))
    per_pixel = {}
    for i, op in enumerate(graph.ops[: cut.split]):
        out = graph.tensors[op.outputs[0]].shape
        per_pixel[op.outputs[0]] = analysis.op_macs(graph, i) / (out[1] * out[2])
    patched = sum(per_pixel[t] * p.regions[t].area for p in patches for t in per_pixel if t in p.regions)
    prefix = sum(analysis.op_macs(graph, i) for i in range(cut.split))
    return PatchAnalysis(cut, n, tuple(patches), prefix, round(patched), analysis.total_macs(graph))


@dataclasses.dataclass(frozen=True)
class PatchChoice:
    analysis: PatchAnalysis
    peak: int


def choose(graph: Graph, options: PatchOptions, peak: Callable[[PatchAnalysis], int],
           patchable: Callable[[int], bool] = lambda i: True) -> PatchChoice:
    """The split and grid with the smallest `peak` within the recomputation limit.

    `peak(analysis)` is the arena bytes of that patch plan (the caller plans
    the buffers). Ties go to fewer extra MACs, then the smaller grid, then
    the earlier split, so the choice is deterministic.

    Raises:
        PatchError: no cut or grid is eligible; the message says why.
    """
    cuts = candidate_cuts(graph, patchable)
    if options.split is not None:
        cuts = tuple(c for c in cuts if c.split == options.split)
        if not cuts:
            raise PatchError(f"split {options.split}: not a valid cut (one 4-D tensor handed on, pixel-local prefix)")
    if not cuts:
        raise PatchError("no op prefix is pixel-local and hands on a single 4-D tensor")
    grids = (options.grid,) if options.grid is not None else options.grids
    best, best_key, rejected = None, None, []
    for cut in cuts:
        shape = graph.tensors[cut.tensor].shape
        for n in grids:
            if n < 2 or n > min(shape[1], shape[2]):
                continue
            a = analyse_patches(graph, cut, n)
            if a.extra_macs_ratio > options.max_extra_macs:
                rejected.append(f"split {cut.split} grid {n}: {a.extra_macs_ratio:.1%} extra MACs")
                continue
            key = (peak(a), a.extra_macs_ratio, n, cut.split)
            if best_key is None or key < best_key:
                best, best_key = a, key
    if best is None:
        why = "; ".join(rejected[:4]) or "no grid fits the cut tensors"
        raise PatchError(f"no patch plan within {options.max_extra_macs:.0%} extra MACs: {why}")
    return PatchChoice(best, best_key[0])


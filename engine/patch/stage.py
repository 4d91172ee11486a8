"""The patch stage as steps and planner buffers; the patched Program.

`build_stage` turns a `PatchAnalysis` (engine/patch/analysis.py) into the code of
every patch -- kernel calls retargeted to patch-sized buffers, and window
copies -- plus the buffers those need, each with a lifetime in the stage's
step sequence. All patches run the same steps on the same buffers, so one
pass of steps describes the memory of all of them. Two buffers outlive the
steps: the split layer's full feature map (filled patch by patch) and, when
the input is in the arena, the input image. The per-layer part after the split
keeps its buffers from engine.memory.lifetimes, shifted to follow the stage; everything
goes through the one planner (engine/memory/planner.py).

How a kernel reads a patch: window kernels (those taking pad_top/pad_left)
read any buffer that holds their input region, with the padding argument
shifted by the buffer's start (`Window.pad_before_in`), even the whole input
image straight from the caller's frame; kernels without padding arguments
(1x1 pointwise, ADD) read exactly their region, so where the buffer holds more
(a residual branch kept wider for another reader) a copy crops it first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from engine.lower.call import CTYPES, Call, ConstArray, ScratchArg, TensorArg
from engine.lower.ops.elementwise import broadcast_descriptor
from engine.memory import lifetimes
from engine.memory.buffers import ALIGN, Buffer, align_up
from engine.patch import analysis as patch
from engine.patch.analysis import PatchAnalysis, Region
from tflite_bridge.ir import Graph

# Kernels the stage can run on a patch; anything else ends the patchable prefix.
RETARGETABLE = frozenset({
    "te_conv2d_s8", "te_conv1x1_s8", "te_depthwise_s8", "te_depthwise_inplace_s8",
    "te_avgpool_s8", "te_maxpool_s8", "te_add_s8", "te_add_lut_s8", "te_sub_s8", "te_mul_s8",
})
# Patch-size scratch of the kernels that take one (bytes, from the output region).
_SCRATCH = {"te_depthwise_inplace_s8": lambda out: out.area}


@dataclasses.dataclass(frozen=True)
class Loc:
    """A pointer: `offset` bytes into planner buffer `buffer`, or into the frame if None."""

    buffer: int | None
    offset: int
    ctype: str


@dataclasses.dataclass(frozen=True)
class CopyStep:
    """`rows` rows of `row_bytes` bytes from src (row stride src_stride) to dst."""

    src: Loc
    src_stride: int
    dst: Loc
    dst_stride: int
    rows: int
    row_bytes: int


@dataclasses.dataclass(frozen=True)
class KernelStep:
    """Op `op`'s kernel on one patch: the Call's args with Locs and patch geometry."""

    op: int
    function: str
    args: tuple[int | Loc | ConstArray | TensorArg, ...]


Step = CopyStep | KernelStep


@dataclasses.dataclass(frozen=True)
class PatchStage:
    """Everything the C emitter needs for the patch stage.

    Attributes:
        analysis: the split, the grid and the regions.
        input_in_arena: whether the input image is an arena buffer (id = its tensor id).
        patches: per patch (row-major), its steps in order.
        steps: number of steps of one patch; the per-layer part starts at step `steps`.
        buffers: the stage's buffers (input image included when in the arena).
    """

    analysis: PatchAnalysis
    input_in_arena: bool
    patches: tuple[tuple[Step, ...], ...]
    steps: int
    buffers: tuple[Buffer, ...]

    @property
    def split(self) -> int:
        return self.analysis.cut.split

    @property
    def tensor(self) -> int:
        return self.analysis.cut.tensor


def patchable(calls) -> Callable[[int], bool]:
    """The veto `patch.candidate_cuts` takes: op i's kernel can run on a patch."""
    return lambda i: calls.get(i) is not None and calls[i].function in RETARGETABLE


def _pixel_bytes(graph: Graph, tid: int) -> int:
    t = graph.tensors[tid]
    return t.nbytes // (t.shape[1] * t.shape[2])


def _ctype(graph: Graph, tid: int) -> str:
    return CTYPES[graph.tensors[tid].dtype]


@dataclasses.dataclass(frozen=True)
class _Read:
    """How a kernel slot reads its tensor: straight from a buffer, or from a crop."""

    tensor: int
    window: tuple[patch.Window, patch.Window]
    crop: int | None  # the crop's step, or None when read in place


@dataclasses.dataclass(frozen=True)
class _Schedule:
    """The patch-independent part: steps, who reads what, which buffer holds what.

    Attributes:
        order: per step, ("crop", op, slot), ("kernel", op) or ("store", op).
        reads: (op, slot) -> how that slot is read.
        holder: value -> buffer id; a value is a tensor id or ("crop", op, slot)
            or ("scratch", op).
        lifetimes: buffer id -> [first, last] step.
    """

    order: tuple[tuple, ...]
    reads: dict
    holder: dict
    lifetimes: dict


def _schedule(graph: Graph, calls, analysis: PatchAnalysis) -> _Schedule:
    ops = [i for i in range(analysis.cut.split) if graph.ops[i].outputs[0] in analysis.patches[0].regions]
    order, reads = [], {}
    for i in ops:
        op, call = graph.ops[i], calls[i]
        window_read = "pad_top" in call.names
        for slot, win in patch.windows(graph, op).items():
            tid = op.inputs[slot]
            out = op.outputs[0]
            crop = None
            if not window_read and any(_source(graph, p, tid) != p.regions[out] for p in analysis.patches):
                crop = len(order)
                order.append(("crop", i, slot))
            reads[(i, slot)] = _Read(tid, win, crop)
        order.append(("kernel", i))
        if op.outputs[0] == analysis.cut.tensor:
            order.append(("store", i))
    holder, lifetimes = _assign_buffers(graph, calls, analysis, order, reads)
    return _Schedule(tuple(order), reads, holder, lifetimes)


def _source(graph: Graph, p: patch.Patch, tid: int) -> Region:
    """The region a patch's buffer of `tid` holds (the whole image for the input)."""
    if tid in graph.inputs:
        return Region.full(graph.tensors[tid].shape)
    return p.regions[tid]


def _uses(order, reads, cut_tensor: int) -> dict:
    """value -> steps that read it."""
    uses: dict = {}
    for step, entry in enumerate(order):
        if entry[0] == "crop":
            uses.setdefault(reads[(entry[1], entry[2])].tensor, []).append(step)
        elif entry[0] == "kernel":
            for (op, slot), r in reads.items():
                if op == entry[1]:
                    uses.setdefault(("crop", op, slot) if r.crop is not None else r.tensor, []).append(step)
        else:
            uses.setdefault(cut_tensor, []).append(step)
    return uses


def _assign_buffers(graph: Graph, calls, analysis: PatchAnalysis, order, reads):
    """Buffers for every value, in-place where the kernel allows and the input dies."""
    uses = _uses(order, reads, analysis.cut.tensor)
    next_id = len(graph.tensors) + len(graph.ops)  # after tensor and scratch ids
    holder, lifetimes = {}, {}

    def new_buffer(value, step):
        nonlocal next_id
        holder[value] = next_id
        lifetimes[next_id] = [step, step]
        next_id += 1

    for step, entry in enumerate(order):
        kind, i = entry[0], entry[1]
        if kind == "crop":
            new_buffer(("crop", i, entry[2]), step)
        elif kind == "kernel":
            out = graph.ops[i].outputs[0]
            shared = _inplace_value(graph, calls, analysis, i, reads, uses, step)
            if shared is not None:
                holder[out] = holder[shared]
            else:
                new_buffer(out, step)
            if calls[i].scratch_bytes:
                new_buffer(("scratch", i), step)
    for value, steps in uses.items():
        if value in holder:
            life = lifetimes[holder[value]]
            life[1] = max(life[1], *steps)
    return holder, {b: tuple(life) for b, life in lifetimes.items()}


def _inplace_value(graph: Graph, calls, analysis: PatchAnalysis, i: int, reads, uses, step: int):
    """The input value op i may overwrite (its Call allows it and it dies here), or None."""
    call = calls[i]
    if call.alias is None:
        return None
    r = reads[(i, call.alias[0])]
    value = ("crop", i, call.alias[0]) if r.crop is not None else r.tensor
    if value in graph.inputs or max(uses.get(value, [step])) > step:
        return None
    out = graph.ops[i].outputs[0]
    if any(p.regions[out].area > _source(graph, p, r.tensor).area for p in analysis.patches):
        return None  # the in-place kernels need the output no larger than the input
    return value


def _value_bytes(graph: Graph, calls, p: patch.Patch, value) -> int:
    if isinstance(value, int):
        return p.regions[value].area * _pixel_bytes(graph, value)
    op = graph.ops[value[1]]
    out = p.regions[op.outputs[0]]
    if value[0] == "crop":
        return out.area * _pixel_bytes(graph, op.inputs[value[2]])
    return _SCRATCH[calls[value[1]].function](out)


def build_stage(graph: Graph, calls, analysis: PatchAnalysis, input_in_arena: bool) -> PatchStage:
    """Steps of every patch and the stage's buffers; see module doc."""
    sched = _schedule(graph, calls, analysis)
    sizes = dict.fromkeys(sched.lifetimes, 0)
    for value, buf in sched.holder.items():
        sizes[buf] = max(sizes[buf], *(_value_bytes(graph, calls, p, value) for p in analysis.patches))
    steps = len(sched.order)
    buffers = [Buffer(b, align_up(sizes[b], ALIGN), first, last, ALIGN)
               for b, (first, last) in sorted(sched.lifetimes.items())]
    if input_in_arena:
        tid = graph.inputs[0]
        buffers.append(Buffer(tid, align_up(graph.tensors[tid].nbytes, ALIGN), 0, steps - 1, ALIGN))
    code = tuple(tuple(_patch_steps(graph, calls, sched, p, input_in_arena)) for p in analysis.patches)
    return PatchStage(analysis, input_in_arena, code, steps, tuple(buffers))


def _loc(graph: Graph, sched: _Schedule, value, tid: int, input_in_arena: bool, offset: int = 0) -> Loc:
    if value in graph.inputs:
        return Loc(value if input_in_arena else None, offset, _ctype(graph, tid))
    return Loc(sched.holder[value], offset, _ctype(graph, tid))


def _window_copy(graph: Graph, tid: int, src: Loc, src_region: Region, dst: Loc, dst_region: Region,
                 part: Region) -> CopyStep:
    """Copy of `part` from a buffer holding `src_region` into one holding `dst_region`."""
    pb = _pixel_bytes(graph, tid)

    def at(loc: Loc, region: Region) -> Loc:
        skip = (part.rows.start - region.rows.start) * region.cols.size + part.cols.start - region.cols.start
        return dataclasses.replace(loc, offset=loc.offset + skip * pb)

    return CopyStep(at(src, src_region), src_region.cols.size * pb, at(dst, dst_region), dst_region.cols.size * pb,
                    part.rows.size, part.cols.size * pb)


def _patch_steps(graph: Graph, calls, sched: _Schedule, p: patch.Patch, input_in_arena: bool):
    for entry in sched.order:
        kind, i = entry[0], entry[1]
        op = graph.ops[i]
        out_region = p.regions[op.outputs[0]]
        if kind == "crop":
            tid = op.inputs[entry[2]]
            src = _loc(graph, sched, tid, tid, input_in_arena)
            dst = _loc(graph, sched, ("crop", i, entry[2]), tid, input_in_arena)
            yield _window_copy(graph, tid, src, _source(graph, p, tid), dst, out_region, out_region)
        elif kind == "kernel":
            yield _kernel_step(graph, calls[i], sched, p, i, input_in_arena)
        else:
            tid = op.outputs[0]
            src = _loc(graph, sched, tid, tid, input_in_arena)
            full = Loc(tid, 0, _ctype(graph, tid))  # the split layer's full map: a per-layer buffer
            yield _window_copy(graph, tid, src, p.regions[tid], full, Region.full(graph.tensors[tid].shape), p.cell)


def _kernel_step(graph: Graph, call: Call, sched: _Schedule, p: patch.Patch, i: int, input_in_arena: bool):
    """Op i's Call on patch p: activations -> Locs, geometry by parameter name."""
    op = graph.ops[i]
    out = p.regions[op.outputs[0]]
    slot_of = {op.inputs[s]: s for s in _slots(sched, i)}
    first = sched.reads[(i, min(slot_of.values()))]
    src = out if first.crop is not None else _source(graph, p, first.tensor)
    geometry = {
        "in_h": src.rows.size, "in_w": src.cols.size, "out_h": out.rows.size, "out_w": out.cols.size,
        "pad_top": first.window[0].pad_before_in(out.rows, src.rows),
        "pad_left": first.window[1].pad_before_in(out.cols, src.cols),
        "pixels": out.area,
    }
    args = []
    for name, arg in call.named():
        if isinstance(arg, TensorArg) and arg.tensor in slot_of:
            r = sched.reads[(i, slot_of[arg.tensor])]
            value = ("crop", i, slot_of[arg.tensor]) if r.crop is not None else r.tensor
            args.append(_loc(graph, sched, value, arg.tensor, input_in_arena))
        elif isinstance(arg, TensorArg) and arg.tensor == op.outputs[0]:
            args.append(_loc(graph, sched, arg.tensor, arg.tensor, input_in_arena))
        elif isinstance(arg, ScratchArg):
            args.append(Loc(sched.holder[("scratch", i)], 0, "int8_t"))
        elif name == "bcast":
            shape = (1, out.rows.size, out.cols.size, graph.tensors[op.outputs[0]].shape[3])
            args.append(ConstArray("int32_t", broadcast_descriptor(shape, shape, shape)))
        elif name in geometry and isinstance(arg, int):
            args.append(geometry[name])
        else:
            args.append(arg)
    return KernelStep(i, call.function, tuple(args))


def _slots(sched: _Schedule, i: int) -> list[int]:
    return sorted(slot for op, slot in sched.reads if op == i)


def suffix_layout(graph: Graph, calls, split: int) -> lifetimes.MemoryLayout:
    """engine.memory.lifetimes' analysis with the prefix's in-place offers withdrawn (the
    prefix runs per patch, on the stage's buffers)."""
    calls = {i: (dataclasses.replace(c, alias=None) if c is not None and i < split else c) for i, c in calls.items()}
    return lifetimes.analyse(graph, calls)


def suffix_buffers(layout: lifetimes.MemoryLayout, split: int, steps: int) -> list[Buffer]:
    """The per-layer buffers of ops[split:], on steps after the stage's `steps`.

    Op index i becomes step steps + i - split. The split tensor is written
    during the whole stage (patch by patch), so it lives from step 0.
    """
    def shift(s: int) -> int:
        return steps + s - split

    kept = []
    for b in layout.buffers:
        if b.id >= layout.scratch_base:
            if b.id - layout.scratch_base >= split:
                kept.append(dataclasses.replace(b, first=shift(b.first), last=shift(b.last)))
        elif b.last >= split:
            first = 0 if b.first < split else shift(b.first)
            kept.append(dataclasses.replace(b, first=first, last=shift(b.last)))
    return kept


def stage_buffers(graph: Graph, calls, analysis: PatchAnalysis, input_in_arena: bool, layouts: dict):
    """(stage, suffix layout, every buffer of the patched program); `layouts` caches per split."""
    split = analysis.cut.split
    stage = build_stage(graph, calls, analysis, input_in_arena)
    if split not in layouts:
        layouts[split] = suffix_layout(graph, calls, split)
    return stage, layouts[split], list(stage.buffers) + suffix_buffers(layouts[split], split, stage.steps)

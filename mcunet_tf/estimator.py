"""What a subnet costs on the engine, without TensorFlow: config -> int8 IR -> engine lowering and plan.

`subnet_graph(config)` builds the typed IR the TFLite converter gives for `extract(supernet, config)`
after full-int8 post-training quantisation (checked against real conversions in
tests/mcunet/test_estimator.py): int8 input and output, no QUANTIZE / PAD / RESHAPE / SOFTMAX, and

    CONV_2D 3x3/2 SAME RELU6 (stem)
    per block: [CONV_2D 1x1 VALID RELU6] DEPTHWISE_CONV_2D kxk/s SAME RELU6, CONV_2D 1x1 VALID NONE, [ADD]
    MEAN over axes (1, 2) without keep_dims, FULLY_CONNECTED with bias

with per-channel int8 filters (axis 0, depthwise axis 3), per-channel int32 biases, per-tensor int8
activations. Weights are zeros and scales fixed dummies: the engine's memory plan and weight bytes
depend on shapes only.

The figures (`Cost`) are the engine's own: `sram_bytes` is `Program.arena_bytes` (the planned
arena: every activation, in-place depthwise and ADD, scratch), `weight_bytes` is
`Program.weight_bytes` (constant tensors the ops read). Flash is defined as
`flash_bytes = const_bytes + code_bytes`:

  - `const_bytes`: the static const arrays the generated C holds: constant tensors passed to kernels
    plus the lowering's constant arrays (HWIO-transposed conv filters, folded biases, per-channel
    multipliers and shifts), each rounded up to its 16-byte alignment (TE_ALIGN16);
  - `code_bytes`: Cortex-M4 -O3 .text of each distinct kernel function the model calls
    (measured once per process with arm-none-eabi-gcc by `kernel_code_tables`), without the
    harness, libc or the generated invoke function.

`Estimator` is the fast path: it lowers each distinct op signature once (on a one-op graph) and
reruns only the engine's memory analysis and planner (`engine.compile.layer_program`) per
candidate, giving the same numbers as `compile_graph` (tested).

Latency is `instructions`: Cortex-M7 instructions per inference predicted per op from its shapes by
the engine's latency model (engine/target/latency.py, fitted to exact QEMU counts of our kernels by
bench/latency_fit.py); MACs (`tflite_bridge.analysis.total_macs`) come too.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable

import numpy as np

from engine.compile import CompileOptions, Program, layer_program
from engine.lower.call import KERNELS, Call, ConstArray, LowerOptions, TensorArg
from engine.lower.lowering import lower
from engine.memory.buffers import ALIGN, align_up
from engine.target import latency
from mcunet_tf.config import SubnetConfig
from tflite_bridge import analysis
from tflite_bridge.attrs import (
    Activation,
    AddAttrs,
    Conv2DAttrs,
    DepthwiseConv2DAttrs,
    FullyConnectedAttrs,
    Padding,
    ReducerAttrs,
)
from tflite_bridge.ir import ABSENT, DType, Graph, Op, Quant, Tensor

# Cortex-M4, -O3 (engine/target/cortexm.py flags), from `measure_kernel_code_bytes()`:
# .text bytes of each global kernel function the subnets call, and of the non-inlined static
# helpers of each kernel source. tests/mcunet/test_estimator.py re-measures both with the toolchain.
_CTYPE_BYTES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "int32_t": 4}
# Converter op versions for these int8 ops (TF 2.21).
# The core whose instruction counts `Cost.instructions` predicts.
LATENCY_TARGET = "cortex-m7"
_VERSIONS = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "ADD": 2, "MEAN": 2, "FULLY_CONNECTED": 4}


@dataclasses.dataclass(frozen=True)
class Cost:
    """A subnet's cost on the engine (see the module docstring for the definitions).

    Attributes:
        sram_bytes: the engine's planned arena (`Program.arena_bytes`).
        weight_bytes: constant tensors the ops read (`Program.weight_bytes`).
        const_bytes: static const arrays of the generated C, 16-byte aligned each.
        code_bytes: Cortex-M4 .text of the distinct kernel functions called (0 if unknown).
        macs: conv, depthwise and fully-connected multiply-accumulates.
        kernels: the distinct kernel functions called, sorted.
        instructions: predicted Cortex-M7 instructions per inference (`LATENCY_TARGET`'s model).
    """

    sram_bytes: int
    weight_bytes: int
    const_bytes: int
    code_bytes: int
    macs: int
    kernels: tuple[str, ...]
    instructions: int = 0

    @property
    def flash_bytes(self) -> int:
        return self.const_bytes + self.code_bytes

    def as_dict(self) -> dict:
        return dict(dataclasses.asdict(self), kernels=list(self.kernels), flash_bytes=self.flash_bytes)


class _GraphBuilder:
    """Appends tensors and ops in the converter's order: input, ops' outputs in execution order."""

    # Dummy quantisation: any positive scales give the same plan; fixed so op signatures repeat.
    # Activations take the calibrated RELU6 range (6/255, -128), as the converter's: RELU6 then
    # clamps nothing, and the lowerings choose the kernels real conversions get (on Cortex-M the
    # full-range depthwise is the assembly one, three times faster than the clamping C loop).
    ACT = Quant((6.0 / 255.0,), (-128,))
    FILTER_SCALE = 0.01

    def __init__(self):
        self.tensors: list[Tensor] = []
        self.ops: list[Op] = []

    def activation(self, name: str, shape: tuple[int, ...]) -> int:
        return self._add(name, shape, DType.INT8, self.ACT, None)

    def constant(self, name: str, shape: tuple[int, ...], dtype: DType, quant: Quant | None,
                 data: bytes | None = None) -> int:
        """A constant tensor holding `data` (zeros when None)."""
        return self._add(name, shape, dtype, quant, data or _zeros(_prod(shape) * dtype.itemsize))

    def _add(self, name, shape, dtype, quant, buffer) -> int:
        tid = len(self.tensors)
        self.tensors.append(Tensor(tid, name, tuple(shape), dtype, quant, buffer))
        return tid

    def filter_and_bias(self, name: str, shape: tuple[int, ...], axis: int) -> tuple[int, int]:
        """Per-channel int8 filter along `axis` and its per-channel int32 bias."""
        w_quant, b_quant = _per_channel_quants(shape[axis], axis)
        return (self.constant(f"{name}/filter", shape, DType.INT8, w_quant),
                self.constant(f"{name}/bias", (shape[axis],), DType.INT32, b_quant))


    def op(self, kind: str, inputs: tuple[int, ...], output_name: str, output_shape, attrs) -> int:
        out = self.activation(output_name, output_shape)
        self.ops.append(Op(kind, _VERSIONS[kind], tuple(inputs), (out,), attrs))
        return out


@functools.cache  # pure; shared Quant objects keep graph building cheap
def _per_channel_quants(channels: int, axis: int) -> tuple[Quant, Quant]:
    """Dummy (filter, bias) quantisation of `channels` channels, filter along `axis`."""
    scale = _GraphBuilder.FILTER_SCALE
    bias_scale = _GraphBuilder.ACT.scale[0] * scale
    return (Quant((scale,) * channels, (0,) * channels, axis),
            Quant((bias_scale,) * channels, (0,) * channels, 0))


@functools.lru_cache(maxsize=1024)  # immutable, so tensors of one size may share it
def _zeros(nbytes: int) -> bytes:
    return bytes(nbytes)


def _prod(shape: Iterable[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _conv(b: _GraphBuilder, x: int, name: str, out_c: int, kernel: int, stride: int, act: Activation) -> int:
    _, h, w, in_c = b.tensors[x].shape
    padding = Padding.VALID if kernel == 1 else Padding.SAME
    out_hw = -(-h // stride), -(-w // stride)
    filt, bias = b.filter_and_bias(name, (out_c, kernel, kernel, in_c), 0)
    attrs = Conv2DAttrs(padding, stride, stride, act)
    return b.op("CONV_2D", (x, filt, bias), name, (1, *out_hw, out_c), attrs)


def _depthwise(b: _GraphBuilder, x: int, name: str, kernel: int, stride: int) -> int:
    _, h, w, c = b.tensors[x].shape
    filt, bias = b.filter_and_bias(name, (1, kernel, kernel, c), 3)
    attrs = DepthwiseConv2DAttrs(Padding.SAME, stride, stride, 1, Activation.RELU6)
    return b.op("DEPTHWISE_CONV_2D", (x, filt, bias), name, (1, -(-h // stride), -(-w // stride), c), attrs)


def subnet_graph(config: SubnetConfig) -> Graph:
    """The int8 IR the TFLite converter gives for `extract(supernet, config)` (zero weights)."""
    b = _GraphBuilder()
    space = config.space
    x = b.activation("image", (1, config.resolution, config.resolution, space.input_channels))
    graph_input = x
    x = _conv(b, x, "stem_conv", config.channels()[0], 3, 2, Activation.RELU6)
    for spec in config.blocks():
        block_input = x
        if spec.expand > 1:
            x = _conv(b, x, f"{spec.name}_expand", spec.mid_channels, 1, 1, Activation.RELU6)
        x = _depthwise(b, x, f"{spec.name}_dw", spec.kernel, spec.stride)
        x = _conv(b, x, f"{spec.name}_project", spec.out_channels, 1, 1, Activation.NONE)
        if spec.residual:
            x = b.op("ADD", (x, block_input), f"{spec.name}_add", b.tensors[x].shape, AddAttrs())
    axes = b.constant("pool/axes", (2,), DType.INT32, None, np.array([1, 2], "<i4").tobytes())
    channels = b.tensors[x].shape[-1]
    x = b.op("MEAN", (x, axes), "pool", (1, channels), ReducerAttrs(keep_dims=False))
    filt, bias = b.filter_and_bias("classifier", (space.num_classes, channels), 0)
    x = b.op("FULLY_CONNECTED", (x, filt, bias), "classifier", (1, space.num_classes), FullyConnectedAttrs())
    return Graph(tuple(b.tensors), tuple(b.ops), (graph_input,), (x,), name="subnet")


# ---------------------------------------------------------------- figures of a compiled Program


def _array_bytes(count: int, itemsize: int) -> int:
    """A `static const` array as codegen emits it: at least one element, 16-byte aligned."""
    return align_up(max(count, 1) * itemsize, ALIGN)


def _call_constants(graph: Graph, call: Call) -> tuple[int, frozenset[int]]:
    """(bytes of the call's ConstArrays, ids of the constant tensors it passes by pointer)."""
    arrays = sum(_array_bytes(len(a.values), _CTYPE_BYTES[a.ctype]) for a in call.args if isinstance(a, ConstArray))
    tensors = frozenset(a.tensor for a in call.args if isinstance(a, TensorArg) and graph.tensors[a.tensor].is_constant)
    return arrays, tensors


def code_bytes(calls: Iterable[Call]) -> int:
    """Cortex-M4 .text of the distinct kernel functions called, plus their sources' static helpers.

    Sizes come from compiling the kernels as they are now (`kernel_code_tables`), so the figure
    follows every kernel change.
    """
    calls = [c for c in calls if c is not None]
    functions, helpers = kernel_code_tables()
    missing = {c.function for c in calls} - set(functions)
    if missing:
        raise ValueError(f"no Cortex-M4 code size for kernel(s) {sorted(missing)}")
    sources = {s for c in calls for s in c.sources}
    return sum(functions[f] for f in {c.function for c in calls}) + sum(helpers.get(s, 0) for s in sources)


@functools.lru_cache(maxsize=None)
def kernel_code_tables(target: str = "cortex-m4") -> tuple[dict[str, int], dict[str, int]]:
    """`measure_kernel_code_bytes`, once per process (about a second of compiling)."""
    return measure_kernel_code_bytes(target)


def measure_kernel_code_bytes(target: str = "cortex-m4") -> tuple[dict[str, int], dict[str, int]]:
    """(global function -> .text bytes, kernel source -> static helpers' .text bytes) on `target`.

    Compiles every engine/kernels/te_*.c with the engine's target flags (-O3, function sections) and
    reads symbol sizes with arm-none-eabi-nm. Needs the arm-none-eabi toolchain.
    """
    import pathlib
    import subprocess
    import tempfile

    from engine.target import cortexm

    t = cortexm.target(target)
    functions, helpers = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for source in sorted(KERNELS.glob("te_*.c")):
            obj = pathlib.Path(tmp) / f"{source.stem}.o"
            flags = [*t.cpu_flags, cortexm.OPT, *cortexm.WARNINGS, "-ffunction-sections", f"-D{t.macro}"]
            subprocess.run(["arm-none-eabi-gcc", *flags, "-c", str(source), "-o", str(obj)], check=True)
            nm = subprocess.run(["arm-none-eabi-nm", "-S", "--defined-only", str(obj)], check=True,
                                capture_output=True, text=True).stdout
            for line in nm.splitlines():
                fields = line.split()
                if len(fields) == 4 and fields[2] in "Tt":
                    size = int(fields[1], 16)
                    if fields[2] == "T":
                        functions[fields[3]] = size
                    else:
                        helpers[source.stem] = helpers.get(source.stem, 0) + size
    return functions, helpers


def program_cost(program: Program) -> Cost:
    """The `Cost` figures of a program `compile_graph` produced (any model, e.g. a real conversion)."""
    graph = program.graph
    arrays, tensors = 0, set()
    for call in program.calls:
        if call is not None:
            a, t = _call_constants(graph, call)
            arrays, tensors = arrays + a, tensors | t
    const = arrays + sum(_array_bytes(graph.tensors[t].num_elements, graph.tensors[t].dtype.itemsize) for t in tensors)
    kernels = tuple(sorted({c.function for c in program.calls if c is not None}))
    return Cost(program.arena_bytes, program.weight_bytes, const, code_bytes(program.calls),
                analysis.total_macs(graph), kernels, latency.load(LATENCY_TARGET).instructions(graph))


# ---------------------------------------------------------------- the fast path


@dataclasses.dataclass(frozen=True)
class _OpFacts:
    """What the memory analysis and the Flash figure need from one lowered op."""

    stub: Call  # the lowering's Call without arguments: function, sources, scratch, alias
    array_bytes: int
    tensor_slots: tuple[int, ...]  # input slots whose constant tensor the kernel reads by pointer
    instructions: float  # the latency model's prediction for this op


def _signature(graph: Graph, op: Op) -> tuple:
    """What a lowering reads from a `subnet_graph` op.

    There, dtypes, quantisation and constant data (zeros, MEAN's axes) follow from the op kind and
    the shapes, so kind, attrs and shapes identify the lowering's result.
    """
    tensors = graph.tensors
    return (op.kind, op.attrs, tuple(tensors[t].shape for t in op.inputs if t != ABSENT),
            tuple(tensors[t].shape for t in op.outputs))


class Estimator:
    """Engine cost of subnets, fast: lowerings cached per op signature, costs per config.

    Gives exactly `program_cost(compile_graph(subnet_graph(config), options))`: the same lowerings
    and `engine.compile.layer_program` (memory analysis and plan); only the repeated work is cached. Not
    thread-safe (the caches are plain dicts owned by this object).

    Example:
        estimator = Estimator()
        cost = estimator.cost(config)   # Cost(sram_bytes=..., flash_bytes=..., macs=...)
    """

    def __init__(self, options: CompileOptions | None = None):
        options = options or CompileOptions()
        if options.reorder or options.patch is not None:
            raise ValueError(f"Estimator: reorder/patch compiles are not modelled, got {options}")
        self.options = options
        self._lower_options = LowerOptions(inplace=options.inplace, target=options.target)
        self._facts: dict[tuple, _OpFacts] = {}
        self._costs: dict[str, Cost] = {}
        self._latency = latency.load(LATENCY_TARGET)

    def cost(self, config: SubnetConfig) -> Cost:
        """The engine cost of `config` (cached per config)."""
        key = config.to_json()
        if key not in self._costs:
            self._costs[key] = self.graph_cost(subnet_graph(config))
        return self._costs[key]

    def graph_cost(self, graph: Graph) -> Cost:
        """The cost of a `subnet_graph`-style graph (constants all zeros but MEAN's axes)."""
        facts = [self._op_facts(graph, i) for i in range(len(graph.ops))]
        calls = {i: f.stub for i, f in enumerate(facts)}
        program = layer_program(graph, calls, self.options)
        tensors = {op.inputs[s] for op, f in zip(graph.ops, facts) for s in f.tensor_slots}
        const = sum(f.array_bytes for f in facts) + sum(
            _array_bytes(graph.tensors[t].num_elements, graph.tensors[t].dtype.itemsize) for t in tensors)
        kernels = tuple(sorted({f.stub.function for f in facts}))
        return Cost(program.arena_bytes, program.weight_bytes, const, code_bytes(program.calls),
                    analysis.total_macs(graph), kernels, round(sum(f.instructions for f in facts)))

    def _op_facts(self, graph: Graph, index: int) -> _OpFacts:
        op = graph.ops[index]
        key = _signature(graph, op)
        if key not in self._facts:
            call = lower(graph, op, self._lower_options)
            arrays, tensors = _call_constants(graph, call)
            slots = tuple(sorted({op.inputs.index(t) for t in tensors}))
            stub = dataclasses.replace(call, args=(), names=())
            self._facts[key] = _OpFacts(stub, arrays, slots, self._latency.op_instructions(graph, index))
        return self._facts[key]


def estimate(config: SubnetConfig, options: CompileOptions | None = None) -> Cost:
    """The engine cost of one subnet (a fresh `Estimator`; keep one for many candidates)."""
    return Estimator(options).cost(config)

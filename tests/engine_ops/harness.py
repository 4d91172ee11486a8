"""A small ctypes harness: run our lowered kernels op by op and compare every
tensor with TFLM (the tflite-micro runtime), at zero tolerance.

It stands in for engine.verify (which generates and builds a whole model) so
the kernels can be tested one call at a time: each op is lowered, its kernel
sources are compiled once into a shared library, and the Call's arguments are
marshalled with ctypes (TensorArg -> numpy buffer, ConstArray -> numpy array,
int -> int32). When a Call allows aliasing, the op is also run in place (the
output buffer is the aliased input's) and must give the same bytes.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import pathlib
import subprocess
import tempfile

import numpy as np

from engine.lowering import Call, ConstArray, ScratchArg, TensorArg, lower
from tflite_bridge import read
from tflite_bridge.ir import Graph

KERNELS = pathlib.Path(__file__).resolve().parents[2] / "engine" / "kernels"
BUILD = pathlib.Path(tempfile.gettempdir()) / f"te_ops_harness_{os.getuid()}"
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
_CTYPES = {"int8_t": np.int8, "uint8_t": np.uint8, "int16_t": np.int16, "int32_t": np.int32}
_LIBS: dict[tuple, ctypes.CDLL] = {}


def sanitizing() -> bool:
    """Whether kernels are built with ASan/UBSan (set by the sanitizer test's subprocess)."""
    return os.environ.get("TE_HARNESS_SANITIZE") == "1"


def library(stems: tuple[str, ...]) -> ctypes.CDLL:
    """The shared library of engine/kernels/<stem>.c for `stems`, compiled once."""
    stems = tuple(sorted(stems))
    flags = CFLAGS + (SANITIZE if sanitizing() else [])
    key = (stems, tuple(flags))
    if key not in _LIBS:
        files = [KERNELS / f"{s}.c" for s in stems]
        digest = hashlib.sha1(repr(flags).encode())
        for path in sorted(KERNELS.glob("*.[ch]")):
            digest.update(path.read_bytes())
        BUILD.mkdir(parents=True, exist_ok=True)
        so = BUILD / f"{'_'.join(stems)}_{digest.hexdigest()[:12]}.so"
        if not so.exists():
            tmp = so.with_suffix(f".{os.getpid()}.tmp")
            subprocess.run(["gcc", *flags, "-I", str(KERNELS), *map(str, files), "-o", str(tmp)], check=True)
            tmp.replace(so)
        _LIBS[key] = ctypes.CDLL(str(so))
    return _LIBS[key]


def _marshal(call: Call, buffers: dict[int, np.ndarray]) -> list:
    args, keep = [], []
    for arg in call.args:
        if isinstance(arg, TensorArg):
            args.append(ctypes.c_void_p(buffers[arg.tensor].ctypes.data))
        elif isinstance(arg, ConstArray):
            arr = np.array(arg.values, dtype=_CTYPES[arg.ctype])
            keep.append(arr)
            args.append(ctypes.c_void_p(arr.ctypes.data))
        elif isinstance(arg, ScratchArg):
            arr = np.zeros(max(call.scratch_bytes, 1), np.uint8)
            keep.append(arr)
            args.append(ctypes.c_void_p(arr.ctypes.data))
        else:
            if not -(2**31) <= int(arg) < 2**31:
                raise ValueError(f"{call.function}: int argument {arg} does not fit int32")
            args.append(ctypes.c_int32(int(arg)))
    return args + [keep]


def run_call(call: Call, buffers: dict[int, np.ndarray]) -> None:
    """Invoke one kernel call on `buffers` (tensor id -> contiguous array)."""
    *args, _keep = _marshal(call, buffers)
    fn = getattr(library(call.sources), call.function)
    fn.restype = None
    fn(*args)


def _tensor_slots(call: Call) -> list[int]:
    return [a.tensor for a in call.args if isinstance(a, TensorArg)]


def run_in_place(graph: Graph, op, call: Call, buffers: dict[int, np.ndarray]) -> np.ndarray:
    """Run `call` with its aliased output sharing the input's buffer; the output bytes."""
    in_slot, out_slot = call.alias
    in_id, out_id = op.inputs[in_slot], op.outputs[out_slot]
    size = max(call.alias_bytes, buffers[in_id].nbytes, buffers[out_id].nbytes)
    shared = np.zeros(size, np.uint8)
    shared[: buffers[in_id].nbytes] = buffers[in_id].view(np.uint8).reshape(-1)
    aliased = dict(buffers)
    aliased[in_id] = shared[: buffers[in_id].nbytes].view(buffers[in_id].dtype)
    aliased[out_id] = shared[: buffers[out_id].nbytes].view(buffers[out_id].dtype)
    run_call(call, aliased)
    return aliased[out_id].copy()


def run_ours(model: bytes, feeds: list[np.ndarray]) -> tuple[Graph, dict[int, np.ndarray]]:
    """Every tensor of `model` after running our lowered kernels on `feeds`."""
    graph = read(model)
    buffers: dict[int, np.ndarray] = {}
    for t in graph.tensors:
        if t.is_constant:
            buffers[t.id] = np.ascontiguousarray(t.data).reshape(-1).copy()
        else:
            buffers[t.id] = np.zeros(int(np.prod(t.shape)), t.dtype.numpy)
    for tid, x in zip(graph.inputs, feeds):
        buffers[tid][:] = np.asarray(x, graph.tensor(tid).dtype.numpy).reshape(-1)
    for op in graph.ops:
        call = lower(graph, op)
        run_call(call, buffers)
        if call.alias is not None:
            out_id = op.outputs[call.alias[1]]
            in_place = run_in_place(graph, op, call, buffers)
            assert np.array_equal(in_place.view(np.uint8), buffers[out_id].view(np.uint8)), (
                f"{op.kind}: in-place run differs from out-of-place run"
            )
    return graph, buffers


def run_tflm(model: bytes, feeds: list[np.ndarray], graph: Graph) -> dict[int, np.ndarray]:
    """Every non-constant tensor of `model` after TFLM runs it on `feeds`."""
    from tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(
        model, arena_size=1 << 22, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors
    )
    for k, (tid, x) in enumerate(zip(graph.inputs, feeds)):
        interp.set_input(np.asarray(x, graph.tensor(tid).dtype.numpy).reshape(graph.tensor(tid).shape), k)
    interp.invoke()
    return {
        t.id: np.asarray(interp.GetTensor(t.id, 0)["tensor_data"]).reshape(-1)
        for t in graph.tensors
        if not t.is_constant
    }


def random_feeds(graph: Graph, seed: int = 0) -> list[np.ndarray]:
    """Uniform random data over each input type's whole range."""
    rng = np.random.default_rng(seed)
    feeds = []
    for tid in graph.inputs:
        t = graph.tensor(tid)
        if np.issubdtype(t.dtype.numpy, np.integer):
            info = np.iinfo(t.dtype.numpy)
            feeds.append(rng.integers(info.min, info.max, size=t.shape, endpoint=True).astype(t.dtype.numpy))
        else:
            feeds.append(rng.normal(0.0, 2.0, size=t.shape).astype(t.dtype.numpy))
    return feeds


def check_model(model: bytes, feeds: list[np.ndarray] | None = None, seed: int = 0) -> dict[int, np.ndarray]:
    """Run `model` both ways and assert every tensor is byte-identical; our tensors."""
    graph = read(model)
    if feeds is None:
        feeds = random_feeds(graph, seed)
    _, ours = run_ours(model, feeds)
    theirs = run_tflm(model, feeds, graph)
    for tid, ref in theirs.items():
        got = ours[tid]
        if not np.array_equal(got.view(np.uint8), np.ascontiguousarray(ref).view(np.uint8)):
            bad = np.flatnonzero(got != ref)
            raise AssertionError(
                f"tensor {tid} ({graph.tensor(tid).name!r}): {bad.size} of {got.size} elements differ, "
                f"first at {bad[:5].tolist()}: ours {got[bad[:5]].tolist()} vs TFLM {ref[bad[:5]].tolist()}"
            )
    return ours

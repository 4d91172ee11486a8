"""Semantic mutation fuzzer for the engine: valid flatbuffers, hostile contents.

Each case takes a shared int8 model through the IR and applies 1-4 mutations the bridge
accepts but a careless engine would not: op attributes set to boundary values (zero or huge
strides, unknown enum members, NaN alphas), quantisation parameters (zero, negative, NaN or
infinite scales; out-of-range zero points; wrong axes), shapes (zero, one, huge dimensions),
element types, and inputs (swapped, absent, pointing at another tensor). `compile_graph` and
the C rendering must then succeed or raise `EngineError` / `BridgeError` (the engine CLI turns
both into one `error:` line, exit code 2); any other exception is a crash.

    python fuzz/fuzz_engine.py --cases 2000 --seed 0 [--run 50]

prints one summary line (cases, compiled, rejected, crashes) and the first crashes. With --run N,
the first N models that compile are also built with AddressSanitizer + UBSan and run on random
inputs: a build failure, a sanitizer report or a crash of the generated C counts as a crash.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import enum
import math
import pathlib
import sys
import time
import traceback

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.codegen import render
from engine.compile import EngineError, compile_graph
from mcunet_tf import mlperf
from tflite_bridge import BridgeError, read
from tflite_bridge.ir import ABSENT, DType, Graph, Quant

MODELS_DIR = mlperf.models_dir()
MODELS = ("mlperf_kws_ref_model.tflite", "mlperf_vww_96_int8.tflite", "mlperf_ic_pretrainedResnet_quant.tflite",
          "mlperf_ad01_int8.tflite")
INTS = (-1, 0, 1, 2, 3, 7, 1000, 2**31 - 1)
FLOATS = (0.0, -1.0, math.nan, math.inf, 1e-30, 1e30)
EXPECTED = (EngineError, BridgeError)


def _mutate_attrs(g: Graph, rng: np.random.Generator) -> Graph:
    i = int(rng.integers(len(g.ops)))
    op = g.ops[i]
    if not dataclasses.is_dataclass(op.attrs) or not dataclasses.fields(op.attrs):
        return g
    field = dataclasses.fields(op.attrs)[int(rng.integers(len(dataclasses.fields(op.attrs))))]
    value = getattr(op.attrs, field.name)
    if isinstance(value, enum.Enum):
        new = list(type(value))[int(rng.integers(len(type(value))))]
    elif isinstance(value, bool):
        new = not value
    elif isinstance(value, int):
        new = INTS[int(rng.integers(len(INTS)))]
    elif isinstance(value, float):
        new = FLOATS[int(rng.integers(len(FLOATS)))]
    else:
        return g
    ops = list(g.ops)
    ops[i] = dataclasses.replace(op, attrs=dataclasses.replace(op.attrs, **{field.name: new}))
    return dataclasses.replace(g, ops=tuple(ops))


def _replace_tensor(g: Graph, tid: int, **changes) -> Graph:
    tensors = list(g.tensors)
    tensors[tid] = dataclasses.replace(tensors[tid], **changes)
    return dataclasses.replace(g, tensors=tuple(tensors))


def _mutate_quant(g: Graph, rng: np.random.Generator) -> Graph:
    quantised = [t for t in g.tensors if t.quant is not None]
    if not quantised:
        return g
    t = quantised[int(rng.integers(len(quantised)))]
    q = t.quant
    what = int(rng.integers(3))
    if what == 0:
        scale = tuple(FLOATS[int(rng.integers(len(FLOATS)))] if rng.random() < 0.5 else s for s in q.scale)
        q = Quant(scale, q.zero_point, q.axis)
    elif what == 1:
        zps = (-129, 128, 10**6, -(10**6), 5)
        q = Quant(q.scale, tuple(zps[int(rng.integers(len(zps)))] for _ in q.zero_point), q.axis)
    else:
        q = Quant(q.scale, q.zero_point, int(rng.integers(-1, 5)))
    return _replace_tensor(g, t.id, quant=q)


def _mutate_shape(g: Graph, rng: np.random.Generator) -> Graph:
    t = g.tensors[int(rng.integers(len(g.tensors)))]
    if not t.shape:
        return g
    shape = list(t.shape)
    k = int(rng.integers(len(shape)))
    shape[k] = (0, 1, 2, shape[k] + 1, 10**6)[int(rng.integers(5))]
    return _replace_tensor(g, t.id, shape=tuple(shape))


def _mutate_dtype(g: Graph, rng: np.random.Generator) -> Graph:
    t = g.tensors[int(rng.integers(len(g.tensors)))]
    choices = (DType.INT8, DType.UINT8, DType.INT16, DType.INT32, DType.FLOAT32)
    return _replace_tensor(g, t.id, dtype=choices[int(rng.integers(len(choices)))])


def _mutate_inputs(g: Graph, rng: np.random.Generator) -> Graph:
    i = int(rng.integers(len(g.ops)))
    op = g.ops[i]
    if not op.inputs:
        return g
    inputs = list(op.inputs)
    k = int(rng.integers(len(inputs)))
    what = int(rng.integers(3))
    if what == 0 and len(inputs) > 1:
        j = int(rng.integers(len(inputs)))
        inputs[k], inputs[j] = inputs[j], inputs[k]
    elif what == 1:
        inputs[k] = ABSENT
    else:
        inputs[k] = int(rng.integers(len(g.tensors)))
    ops = list(g.ops)
    ops[i] = dataclasses.replace(op, inputs=tuple(inputs))
    return dataclasses.replace(g, ops=tuple(ops))


MUTATIONS = (_mutate_attrs, _mutate_quant, _mutate_shape, _mutate_dtype, _mutate_inputs)


def mutated(graphs: list[Graph], rng: np.random.Generator) -> Graph:
    g = graphs[int(rng.integers(len(graphs)))]
    for _ in range(int(rng.integers(1, 5))):
        g = MUTATIONS[int(rng.integers(len(MUTATIONS)))](g, rng)
    return g


def run_case(g: Graph) -> str:
    """'compiled', 'rejected', or raises what the engine should not raise."""
    try:
        render(compile_graph(g))
    except EXPECTED:
        return "rejected"
    return "compiled"


def run_compiled(g: Graph, seed: int) -> None:
    """Build the generated C with ASan + UBSan and run it on two random inputs (raises on failure)."""
    import tempfile

    from engine.check.bitexact import random_inputs, run_program

    with tempfile.TemporaryDirectory(prefix="te_fuzz_") as tmp:
        run_program(compile_graph(g), random_inputs(g, 2, seed), pathlib.Path(tmp), sanitize=True)


def fuzz(cases: int, seed: int, run: int = 0) -> tuple[collections.Counter, list[str]]:
    graphs = [read((MODELS_DIR / m).read_bytes()) for m in MODELS]
    rng = np.random.default_rng(seed)
    counts: collections.Counter = collections.Counter()
    crashes = []
    for case in range(cases):
        g = mutated(graphs, rng)
        try:
            outcome = run_case(g)
            counts[outcome] += 1
            if outcome == "compiled" and counts["ran"] < run:
                run_compiled(g, case)
                counts["ran"] += 1
        except Exception as e:  # noqa: BLE001 - every other exception is what we are looking for
            counts["crashes"] += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            crashes.append(f"case {case}: {type(e).__name__}: {e} ({where.filename}:{where.lineno})")
    return counts, crashes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", type=int, default=0, help="build and run this many compiled cases under ASan")
    args = parser.parse_args()
    start = time.time()
    counts, crashes = fuzz(args.cases, args.seed, args.run)
    print(f"cases={args.cases} compiled={counts['compiled']} rejected={counts['rejected']} ran={counts['ran']} "
          f"crashes={counts['crashes']} seconds={time.time() - start:.0f}")
    for line in crashes[:40]:
        print(line)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())

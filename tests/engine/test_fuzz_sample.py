"""A deterministic sample of the engine's semantic fuzzer (fuzz/fuzz_engine.py): hostile but
parseable models compile or fail with EngineError / BridgeError, never another exception."""

import dataclasses

import pytest

from engine.compile import EngineError, compile_graph
from fuzz.fuzz_engine import fuzz
from tests.conftest import INT8_MODELS
from tflite_bridge import read


def test_fuzz_sample_has_no_crashes():
    counts, crashes = fuzz(cases=250, seed=7, run=5)  # the first 5 that compile also run under ASan + UBSan
    assert not crashes, crashes[:5]
    assert counts["compiled"] > 10 and counts["rejected"] > 100 and counts["ran"] == 5, counts


def test_hostile_values_get_one_clear_line():
    graph = read(INT8_MODELS["kws"].read_bytes())
    conv = next(i for i, op in enumerate(graph.ops) if op.kind == "CONV_2D")
    ops = list(graph.ops)
    ops[conv] = dataclasses.replace(ops[conv], attrs=dataclasses.replace(ops[conv].attrs, stride_h=0))
    with pytest.raises(EngineError, match=rf"op {conv} CONV_2D v\d+: CONV_2D: strides \[0, 2\] and dilations"):
        compile_graph(dataclasses.replace(graph, ops=tuple(ops)))
    out = graph.tensors[graph.ops[conv].outputs[0]]
    nan = dataclasses.replace(out, quant=dataclasses.replace(out.quant, scale=(float("nan"),)))
    tensors = tuple(nan if t.id == out.id else t for t in graph.tensors)
    with pytest.raises(EngineError, match=rf"invalid model: tensor {out.id} .* has scale nan"):
        compile_graph(dataclasses.replace(graph, tensors=tensors))
    reshape = next(i for i, op in enumerate(graph.ops) if op.kind == "RESHAPE")
    ops = list(graph.ops)
    ops[reshape] = dataclasses.replace(ops[reshape], inputs=(-1, *ops[reshape].inputs[1:]))
    with pytest.raises(EngineError, match=rf"op {reshape} RESHAPE: input \(absent\) and output must hold"):
        compile_graph(dataclasses.replace(graph, ops=tuple(ops)))

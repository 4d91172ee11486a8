"""write(): round trips, TFLM-identical execution, opcodes, alignment, offline plans."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from tests.bridge import tflm
from tests.conftest import FLOAT_MODELS, INT8_MODELS, MODELS
from tflite_bridge import (
    BridgeError,
    DType,
    Graph,
    Op,
    Tensor,
    offline_plan,
    read,
    with_offline_plan,
    write,
)
from tflite_bridge import attrs as A
from tflite_bridge.analysis import lifetimes
from tflite_bridge.writer import BUFFER_ALIGNMENT

ALL_MODELS = sorted(MODELS.glob("*.tflite"))
# The float KWS model is hybrid (int8 weights, float activations): TFLM refuses it.
HYBRID = FLOAT_MODELS["kws"]


@pytest.mark.parametrize("path", ALL_MODELS, ids=lambda p: p.stem)
def test_round_trip(path):
    graph = read(path)
    written = write(graph)
    assert read(written) == graph
    assert write(read(written)) == written  # the writer is deterministic


@pytest.mark.parametrize(
    "path", [p for p in ALL_MODELS if p != HYBRID], ids=lambda p: p.stem
)
def test_written_model_runs_identically_in_tflm(path):
    original = path.read_bytes()
    graph = read(original)
    written = write(graph)
    inputs = tflm.random_inputs(original, count=3, seed=1234)
    activations = tuple(s.tensor for s in lifetimes(graph))  # every intermediate too
    expected = tflm.run(original, inputs, activations)
    got = tflm.run(written, inputs, activations)
    for e, g in zip(expected, got):
        for a, b in zip(e, g):
            assert a.dtype == b.dtype and np.array_equal(
                a, b
            )  # zero tolerance: same runtime, same kernels


def test_hybrid_float_model_same_in_tflite_reference_kernels():
    """TFLM rejects the hybrid model (before and after writing); the TFLite
    reference kernels must then give identical results on both files."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    original = HYBRID.read_bytes()
    written = write(read(original))
    for model in (original, written):
        with pytest.raises(RuntimeError, match="failed to allocate"):
            tflm.run(model, [])
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 49, 10, 1)).astype(np.float32)
    outputs = []
    for model in (original, written):
        interp = Interpreter(
            model_content=model,
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        )
        interp.allocate_tensors()
        interp.set_tensor(interp.get_input_details()[0]["index"], x)
        interp.invoke()
        outputs.append(interp.get_tensor(interp.get_output_details()[0]["index"]))
    assert np.array_equal(outputs[0], outputs[1])


def _model(data: bytes):
    return schema.Model.GetRootAsModel(data, 0)


def test_buffers_are_aligned_and_buffer_zero_is_empty():
    written = write(read(INT8_MODELS["vww"]))
    model = _model(written)
    assert model.Buffers(0).DataLength() == 0
    assert model.Version() == 3 and written[4:8] == b"TFL3"
    for i in range(1, model.BuffersLength()):
        tab = model.Buffers(i)._tab
        start = tab.Vector(tab.Offset(4))  # file offset of the first data byte
        assert start % BUFFER_ALIGNMENT == 0, f"buffer {i} data at {start}"


def test_operator_codes_are_deduplicated():
    graph = read(INT8_MODELS["vww"])
    model = _model(write(graph))
    kinds = {(op.kind, op.version) for op in graph.ops}
    assert model.OperatorCodesLength() == len(kinds)
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        assert code.BuiltinCode() == code.DeprecatedBuiltinCode() < 127


def _tiny_graph(kind: str, attrs) -> Graph:
    x = Tensor(id=0, name="x", shape=(1, 4), dtype=DType.FLOAT32)
    y = Tensor(id=1, name="y", shape=(1, 4), dtype=DType.FLOAT32)
    return Graph(
        tensors=(x, y), ops=(Op(kind, 1, (0,), (1,), attrs),), inputs=(0,), outputs=(1,)
    )


def test_builtin_codes_past_126_use_the_placeholder():
    graph = _tiny_graph(
        "GELU",
        A.OpaqueAttrs(options_type="GeluOptions", options=(("approximate", True),)),
    )
    written = write(graph)
    code = _model(written).OperatorCodes(0)
    assert code.BuiltinCode() == schema.BuiltinOperator.GELU > 127
    assert (
        code.DeprecatedBuiltinCode()
        == schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
        == 127
    )
    assert read(written) == graph


def test_custom_op_keeps_code_and_options():
    attrs = A.OpaqueAttrs(custom_code="MyOp", custom_options=b"\x01\x02\x03")
    graph = _tiny_graph("CUSTOM", attrs)
    assert read(write(graph)) == graph


def test_typed_attrs_write_back_to_options():
    attrs = A.Conv2DAttrs(
        padding=A.Padding.VALID,
        stride_w=2,
        stride_h=3,
        fused_activation_function=A.Activation.RELU6,
        dilation_w_factor=2,
    )
    x = Tensor(0, "x", (1, 8, 8, 1), DType.FLOAT32)
    w = Tensor(1, "w", (1, 1, 1, 1), DType.FLOAT32, buffer=np.float32([1]).tobytes())
    y = Tensor(2, "y", (1, 3, 4, 1), DType.FLOAT32)
    graph = Graph((x, w, y), (Op("CONV_2D", 1, (0, 1, -1), (2,), attrs),), (0,), (2,))
    options = _model(write(graph)).Subgraphs(0).Operators(0)
    assert options.BuiltinOptionsType() == schema.BuiltinOptions.Conv2DOptions
    assert read(write(graph)).ops[0] == graph.ops[0]


@pytest.mark.parametrize(
    "graph, message",
    [
        (_tiny_graph("NOT_AN_OP", A.NoAttrs()), "no TFLite builtin"),
        (_tiny_graph("ADD", A.NoAttrs()), "expected AddAttrs"),
        (
            _tiny_graph(
                "GELU",
                A.OpaqueAttrs(
                    options_type="GeluOptions", options=(("aproximate", True),)
                ),
            ),
            "no field 'aproximate'",
        ),
    ],
)
def test_unwritable_graphs_raise_bridge_error(graph, message):
    with pytest.raises(BridgeError, match=message):
        write(graph)


def _stacked_plan(graph: Graph) -> tuple[list[int], int]:
    """Every activation in its own 16-byte-aligned slot: valid, never overlapping."""
    offsets, end = [-1] * len(graph.tensors), 0
    for span in lifetimes(graph):
        offsets[span.tensor] = end
        end += -(-span.nbytes // 16) * 16
    return offsets, end


def test_offline_plan_metadata_format():
    graph = read(INT8_MODELS["kws"])
    offsets, _ = _stacked_plan(graph)
    planned = read(write(with_offline_plan(graph, offsets)))
    raw = planned.metadata_entry("OfflineMemoryAllocation")
    assert np.frombuffer(raw, "<i4").tolist() == [0, 0, len(graph.tensors), *offsets]
    assert offline_plan(planned) == tuple(offsets)
    assert dataclasses.replace(planned, metadata=graph.metadata) == graph
    with pytest.raises(BridgeError, match="offsets"):
        with_offline_plan(graph, offsets[:-1])
    with pytest.raises(BridgeError, match="-2"):
        with_offline_plan(graph, [-2] * len(graph.tensors))


@pytest.mark.parametrize("name", ["kws", "ic"])
def test_tflm_honours_offline_plans(name):
    original = INT8_MODELS[name].read_bytes()
    graph = read(original)
    inputs = tflm.random_inputs(original, count=2, seed=5)
    expected = tflm.run(original, inputs)
    offsets, stacked_bytes = _stacked_plan(graph)
    all_online = write(with_offline_plan(graph, [-1] * len(graph.tensors)))
    explicit = write(with_offline_plan(graph, offsets))
    for model in (all_online, explicit):
        assert all(
            np.array_equal(e[0], g[0])
            for e, g in zip(expected, tflm.run(model, inputs))
        )
    # Proof that TFLM really reads the plan: the stacked plan needs stacked_bytes
    # of arena, which is more than the online plan; an arena between the two
    # fits the original and not the offline-planned file.
    arena = stacked_bytes
    tflm.run(original, inputs[:1], arena_size=arena)
    with pytest.raises(RuntimeError, match="allocate"):
        tflm.run(explicit, inputs[:1], arena_size=arena)

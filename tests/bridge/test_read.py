"""Reading the MLPerf Tiny models, and reading bad files."""

from __future__ import annotations

import collections
import json
import re
import time

import pytest

from tests.bridge import hostile
from tests.conftest import FLOAT_MODELS, INT8_MODELS, MODELS
from tflite_bridge import BridgeError, read, verify
from tflite_bridge.cli import main as cli_main

ALL_MODELS = sorted(MODELS.glob("*.tflite"))


def readme_op_table() -> dict[str, collections.Counter]:
    """file name -> op multiset, parsed from the table in the models README (models/mlperf_tiny/README.md)."""
    table = {}
    for line in (MODELS / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("mlperf_"):
            continue
        name = cells[0].split()[0]
        ops = collections.Counter()
        for item in re.sub(r"\(.*?\)", "", cells[2]).split(","):
            kind, _, count = item.strip().partition(" x")
            ops[kind] += int(count or 1)
        table[name] = ops
    return table


def test_all_mlperf_models_present():
    assert len(ALL_MODELS) == 8
    assert set(INT8_MODELS.values()) | set(FLOAT_MODELS.values()) == set(ALL_MODELS)


@pytest.mark.parametrize("path", ALL_MODELS, ids=lambda p: p.stem)
def test_mlperf_model_reads_and_verifies(path):
    graph = read(path)
    verify(graph)
    assert graph.ops and graph.inputs and graph.outputs


def test_readme_table_parses():
    table = readme_op_table()
    assert set(table) == {p.name for p in INT8_MODELS.values()}
    assert table["mlperf_ad01_int8.tflite"] == collections.Counter(
        {"FULLY_CONNECTED": 10}
    )


@pytest.mark.parametrize("name", sorted(readme_op_table()))
def test_json_op_list_matches_readme(name, capsys):
    assert cli_main([str(MODELS / name), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (
        collections.Counter(op["op"] for op in report["ops"]) == readme_op_table()[name]
    )
    assert [op["index"] for op in report["ops"]] == list(range(len(report["ops"])))


def test_per_channel_axis_is_read():
    graph = read(INT8_MODELS["vww"])
    for op in graph.ops:
        weights = graph.tensors[op.inputs[1]] if len(op.inputs) > 1 else None
        if op.kind == "CONV_2D":
            assert (
                weights.quant.axis == 0 and len(weights.quant.scale) == weights.shape[0]
            )
        elif op.kind == "DEPTHWISE_CONV_2D":
            assert (
                weights.quant.axis == 3 and len(weights.quant.scale) == weights.shape[3]
            )
        elif op.kind == "FULLY_CONNECTED":
            assert weights.quant.axis is None


def test_ad_weights_are_per_tensor():
    graph = read(INT8_MODELS["ad"])
    assert all(graph.tensors[op.inputs[1]].quant.axis is None for op in graph.ops)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "too short"),
        (b"\x10\x00\x00\x00TFL2" + bytes(16), "not a TFLite model"),
        (b"\xff\xff\xff\x7fTFL3" + bytes(16), "malformed flatbuffer"),
    ],
)
def test_bad_bytes_raise_bridge_error(data, message):
    with pytest.raises(BridgeError, match=message):
        read(data)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(BridgeError, match="cannot read"):
        read(tmp_path / "nope.tflite")
    with pytest.raises(BridgeError, match="cannot read"):
        read(tmp_path)


def test_every_truncation_of_a_small_model_is_rejected_cleanly():
    data = INT8_MODELS["kws"].read_bytes()
    for cut in range(0, len(data), 211):
        with pytest.raises(BridgeError):
            read(data[:cut])


@pytest.mark.parametrize(
    "make",
    [
        lambda: hostile.shared_buffers(4000, 100_000),
        lambda: hostile.shared_shape(20_000, 20_000),
    ],
    ids=["shared-buffers", "shared-shape"],
)
def test_shared_tables_cannot_blow_up_memory(make):
    """A small file whose tables share one big vector: 400 MB (or 400 M ints) if decoded naively."""
    data = make()
    assert len(data) < 250_000
    start = time.perf_counter()
    with pytest.raises(BridgeError, match="overlap"):
        read(data)
    assert time.perf_counter() - start < 1.0

"""The per-op memory report, its plot, and the --reorder / --plot command-line flags."""

import json

import pytest

from engine.check import memory_report
from engine.cli import main
from engine.memory import planner
from engine.memory.lifetimes import TFLM, analyse, live_per_step
from engine.memory.planner import Buffer
from tests.conftest import INT8_MODELS
from tests.reorder.test_reorder import branching_model_bytes
from tflite_bridge import read


@pytest.fixture(scope="module")
def branching_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("reorder") / "branches.tflite"
    path.write_bytes(branching_model_bytes())
    return path


def test_live_per_step_sums_footprints_of_live_buffers():
    buffers = [Buffer(0, 10, 0, 1), Buffer(1, 32, 1, 2), Buffer(2, 5, 2, 2, align=4)]
    assert live_per_step(buffers, 3) == (16, 48, 40)


def test_report_of_a_branching_model(branching_model):
    graph = read(branching_model.read_bytes())
    report = memory_report.memory_report(graph, with_patch=False)
    ours, reordered, tflm = (report.by_label(p) for p in ("ours (", "ours, r", "TFLM"))
    assert (ours.arena, reordered.arena, tflm.arena) == (26624, 16384, 26624)
    assert max(ours.live) == report.lower_bound == 26624
    assert max(reordered.live) == 16384
    assert (
        tflm.arena
        == planner.plan(analyse(graph, rules=TFLM).buffers, algorithm="greedy_by_size").peak
    )
    for s in report.series:  # no plan is smaller than what is live at one op
        assert len(s.live) == len(graph.ops) and max(s.live) <= s.arena
    assert sorted(report.reorder) == list(
        range(len(graph.ops))
    ) and report.reorder != tuple(range(7))


def test_report_of_a_chain_has_no_reordered_series_and_patch_maps_onto_ops():
    graph = read(INT8_MODELS["vww"].read_bytes())
    report = memory_report.memory_report(graph)
    assert report.by_label("ours, r") is None and report.reorder is None
    patched = report.by_label("ours, patch-based")
    assert len(patched.live) == len(graph.ops) and max(patched.live) <= patched.arena
    assert patched.arena < report.by_label("ours (").arena
    data = memory_report.as_dict(report)
    assert (
        json.loads(json.dumps(data))["series"][0]["arena_bytes"]
        == report.series[0].arena
    )


def test_compare_json_reports_the_reordered_arena_and_writes_the_plot(
    branching_model, tmp_path, capsys
):
    png = tmp_path / "memory.png"
    code = main(
        [
            "compare",
            str(branching_model),
            "--samples",
            "1",
            "--repeats",
            "1",
            "--json",
            "--plot",
            str(png),
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bit_exact"]
    assert (result["arena_bytes"], result["reordered_arena_bytes"]) == (26624, 16384)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_verify_with_reorder_flag_runs_bit_exact_in_the_smaller_arena(
    branching_model, capsys
):
    assert (
        main(["verify", str(branching_model), "--reorder", "--samples", "2", "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["bit_exact"] and result["arena_bytes"] == 16384

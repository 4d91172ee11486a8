"""bench/tinynas_accuracy.py end to end at toy size: one task (lfw: scikit-image, no extra download), one seed,
a 2-step supernet, 2 scored candidates, 2 training epochs; every model exported, costed and verified
against TFLM by the engine. Checks the results schema, the budget and bit-exactness, not accuracy."""

import dataclasses
import importlib.util
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("tinynas_accuracy", ROOT / "bench" / "tinynas_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _bench()


@pytest.fixture(scope="module")
def run(bench, tmp_path_factory):
    settings = bench.SearchSettings(supernet_steps=2, supernet_batch=32, population=2, generations=0,
                                    space_samples=20, bn_steps=1)
    recipe = bench.Recipe(max_epochs=2, patience=1, lr_patience=1, min_steps_per_epoch=4, num_calibration=8,
                          verify_samples=1)
    out = tmp_path_factory.mktemp("models")
    return bench.run_task(bench.TASKS["lfw"], [0], settings, recipe, out)


def test_rows_have_the_schema_fit_the_budget_and_are_bit_exact(bench, run):
    rows, record = run
    assert [(r["task"], r["model"], r["seed"]) for r in rows] == [("lfw", m, 0) for m in bench.MODELS]
    budget = bench.TASKS["lfw"].budget
    for row in rows:
        assert set(bench.ROW_KEYS) <= set(row)
        assert row["bit_exact"] is True, row
        assert row["budget"] == dataclasses.asdict(budget)
        assert 0 < row["sram_bytes"] <= budget.sram_bytes and 0 < row["flash_bytes"] <= budget.flash_bytes
        assert 0.0 <= row["float_accuracy"] <= 1.0 and 0.0 <= row["int8_accuracy"] <= 1.0
        assert 1 <= row["epochs"] <= row["epochs_run"] <= 2
        assert row["test_size"] == record["sizes"]["test"] > 0
    assert record["scored_candidates"] >= 1
    assert set(record["configs"]) == set(bench.MODELS)


def test_results_file_round_trips_and_keeps_other_tasks(bench, run, tmp_path):
    rows, record = run
    path = tmp_path / "fair.json"
    other = dict(rows[0], task="digits")
    path.write_text(json.dumps({"rows": [other], "tasks": {"digits": {}}}))
    result = bench.write_results(path, rows, {"lfw": record}, {"seeds": [0]})
    assert json.loads(path.read_text()) == json.loads(json.dumps(result))
    assert [r["task"] for r in result["rows"]] == ["digits", "lfw", "lfw", "lfw"]
    assert {(s["task"], s["model"]) for s in result["summary"]} >= {("lfw", m) for m in bench.MODELS}
    assert "lfw" in bench.table(result["summary"])


def test_check_rows_refuses_a_row_without_bit_exact(bench, run):
    rows, _ = run
    broken = dict(rows[0])
    del broken["bit_exact"]
    with pytest.raises(ValueError, match="bit_exact"):
        bench.check_rows([broken])


def test_mbv2_is_the_largest_width_then_resolution_that_fits(bench):
    from mcunet_tf.estimator import Estimator

    task = bench.TASKS["digits"]
    space, budget = bench.bench_space(task), task.budget
    config = bench.mbv2_config(space, budget)
    assert {k for ks in config.kernels for k in ks} == {3} and {e for es in config.expands for e in es} == {6}
    assert budget.fits(Estimator().cost(config))
    wider = [w for w in space.width_choices if w > config.width]
    finer = [r for r in space.resolution_choices if r > config.resolution]
    for width, resolution in [(w, r) for w in wider for r in space.resolution_choices] + [
            (config.width, r) for r in finer]:
        assert not budget.fits(Estimator().cost(dataclasses.replace(config, width=width, resolution=resolution)))

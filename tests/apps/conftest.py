"""Tiny settings and spaces so each app pipeline runs end to end in well under a minute on shared CPUs."""

import dataclasses
import os
import pathlib

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402

from mcunet_tf.apps import common  # noqa: E402
from mcunet_tf.config import SearchSpace  # noqa: E402
from mcunet_tf.search import Budget  # noqa: E402

# Post-training quantisation (qat_epochs=0) by default: a QAT conversion costs about a minute more here;
# the demo-data VWW test (the demo job's path) runs QAT.
TINY = common.Settings(epochs=1, batch_size=16, learning_rate=0.05, num_random=0, population=2, generations=1,
                       space_samples=4, bn_batches=1, eval_examples=16, qat_epochs=0, export_train_examples=32,
                       verify_samples=1, compare_repeats=1)
TINY_QAT = dataclasses.replace(TINY, qat_epochs=1)
BUDGET = Budget(sram_bytes=64 * 1024, flash_bytes=256 * 1024)


def tiny_space(**fields) -> SearchSpace:
    """Two stages, one kernel and expand ratio; two widths so search-space optimisation has a choice."""
    base = dict(kernel_choices=(3,), expand_choices=(2,), depth_choices=(1, 2), width_choices=(0.25, 0.5),
                resolution_choices=(32,), stem_channels=8, first_block_channels=8, stage_channels=(16, 24),
                stage_strides=(2, 2))
    return SearchSpace(**{**base, **fields})


VWW_SPACE = tiny_space(num_classes=2, input_channels=3)
KWS_SPACE = tiny_space(num_classes=12, input_channels=1)


def run_config(out_dir: pathlib.Path, stages=common.STAGES, settings=TINY, budget=BUDGET) -> common.RunConfig:
    return common.RunConfig(out_dir=out_dir, budget=budget, budget_source="test budget", stages=tuple(stages),
                            seed=0, preset="tiny", settings=settings, progress=False)


def run_shipped_c(out_dir: pathlib.Path, name: str, sample: np.ndarray) -> np.ndarray:
    """Runs the host runner built from the shipped C folder on one int8 input; returns its int8 output."""
    import subprocess

    runner = out_dir / "build" / f"{name}_runner"
    (out_dir / "in.bin").write_bytes(np.ascontiguousarray(sample, np.int8).tobytes())
    subprocess.run([str(runner), "run", str(out_dir / "in.bin"), str(out_dir / "out.bin")], check=True,
                   capture_output=True, timeout=60)
    return np.frombuffer((out_dir / "out.bin").read_bytes(), np.int8)


def assert_shipped_c_is_tflm(out_dir: pathlib.Path, name: str, seed: int = 0) -> None:
    """The C folder as shipped (built by the export stage) gives TFLM's output on random int8 inputs."""
    from engine.check.tflm import Tflm
    from tflite_bridge import read

    tflite = (out_dir / f"{name}.tflite").read_bytes()
    graph = read(tflite)
    shape = graph.tensors[graph.inputs[0]].shape
    rng = np.random.default_rng(seed)
    for _ in range(3):
        x = rng.integers(-128, 128, size=shape, dtype=np.int8)
        expected = Tflm(tflite).run([x], 1)[0].reshape(-1)
        np.testing.assert_array_equal(run_shipped_c(out_dir, name, x), expected)


def assert_outputs(out_dir: pathlib.Path, name: str, demo: bool) -> dict:
    """Every file the apps promise, and a report that says what it must; returns the export record."""
    for path in (f"{name}.tflite", f"{name}/{name}.c", f"{name}/{name}.h", f"{name}/Makefile", "report.md",
                 "search_log.jsonl", "space_cdf.png", "population.png", "memory.png", "train.json", "search.json",
                 "export.json"):
        assert (out_dir / path).is_file(), path
    record = common.read_record(out_dir, "export")["result"]
    method = common.read_record(out_dir, "export")["settings"]["qat_epochs"] and "qat" or "ptq"
    assert record["export"]["method"] == method
    assert record["export"]["bit_exact"] and record["comparison"]["bit_exact"]
    assert record["comparison"]["mismatches"] == 0 and record["comparison"]["tensors_compared"] > 0
    assert record["export"]["sram_bytes"] <= BUDGET.sram_bytes
    assert record["export"]["flash_bytes"] <= BUDGET.flash_bytes
    report = (out_dir / "report.md").read_text()
    assert ("DEMO DATA, not a benchmark" in report) == demo
    for figure in ("space_cdf.png", "population.png", "memory.png"):
        assert f"]({figure})" in report
    assert "| bit-exact | yes:" in report
    assert "| latency: predicted Cortex-M7 instructions |" in report
    assert_shipped_c_is_tflm(out_dir, name)
    return record

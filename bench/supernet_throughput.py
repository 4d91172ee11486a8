"""Supernet training and candidate scoring throughput: eager vs compiled vs Keras fit, side by side.

    python bench/supernet_throughput.py [--cases demo64,full96,full128] [--steps 4] [--json]
        [--precision float32|mixed_float16|mixed_bfloat16]

Per case (a search space at one fixed input resolution, batch 32, the app preset's sandwich:
largest + smallest + `num_random` random subnets with in-place distillation), for the sandwiches of
steps 0..steps-1 (`train.sandwich_configs`, seed 0):
  (a) eager_step_s: the former eager sandwich step (`TrainConfig.step="eager"`);
  (b) compiled_step_s: `train.SandwichStep`, one traced graph (trace time reported apart);
  (c) sum_of_fit_steps_s: each subnet of the same sandwich extracted and trained alone by
      compiled `keras.Model.fit` (SGD, cross-entropy), time per step, summed over the sandwich.
Figures are medians over the steps of per-step medians of repeated runs, all in one process, so
the ratios speedup_vs_eager = a / b and overhead_vs_fit = b / c compare like with like on a noisy
machine. Candidate scoring (BatchNorm re-estimation on the preset's calibration batches + accuracy
on 1,000 validation images): candidates_per_minute (compiled, `scoring.CompiledFitness`) beside
eager_candidates_per_minute (extract + recalibrate_bn + Keras forward, the former fitness).
Inputs are random images: this measures compute, not the input pipeline.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from absl import app, flags  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from mcunet_tf.apps import vww  # noqa: E402
from mcunet_tf.config import SearchSpace  # noqa: E402
from mcunet_tf.search import accuracy_fitness  # noqa: E402
from mcunet_tf.supernet import build_supernet, extract  # noqa: E402
from mcunet_tf.train import SandwichStep, TrainConfig, replica_step, sandwich_configs  # noqa: E402

CASES = {  # name: (preset, resolution)
    "demo64": ("demo", 64),
    "full96": ("full", 96),
    "full128": ("full", 128),
}
BATCH = 32
VALIDATION = 1000

_CASES = flags.DEFINE_list("cases", list(CASES), f"cases to run, from {sorted(CASES)}")
_STEPS = flags.DEFINE_integer("steps", 4, "sandwich steps measured per case (each its own subnets)")
_REPEATS = flags.DEFINE_integer("repeats", 3, "runs of each step for its median")
_CANDIDATES = flags.DEFINE_integer("candidates", 12, "candidates scored per figure (compiled)")
_EAGER_CANDIDATES = flags.DEFINE_integer("eager_candidates", 3, "candidates scored the eager way")
_JSON = flags.DEFINE_bool("json", False, "print JSON instead of a table")
_OUT = flags.DEFINE_string("out", None, "also write the JSON rows here, after each case (a long run keeps "
                           "what it measured)")
# --precision (float32 | mixed_float16 | mixed_bfloat16) is the apps' flag (mcunet_tf.apps.cli, imported
# with the app's spaces): the compiled step's precision, mixed for GPUs.


def case_space(preset: str, resolution: int) -> SearchSpace:
    """The app's preset space at one resolution (so every run of a step sees the same subnets)."""
    return dataclasses.replace(vww.SPACES[preset], resolution_choices=(resolution,))


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fit_step_seconds(supernet, config, images, labels, fit_steps: int = 4) -> float:
    """Seconds per step of compiled `keras.Model.fit` of the extracted subnet (trace excluded)."""
    model = extract(supernet, config)
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = tf.image.resize(images, (config.resolution,) * 2) if images.shape[1] != config.resolution else images
    x = tf.tile(x, [fit_steps, 1, 1, 1])
    y = tf.tile(labels, [fit_steps])
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)  # traces
    return _median_time(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False),
                        2) / fit_steps


def measure_training(space: SearchSpace, num_random: int, steps: int, repeats: int, precision: str) -> dict:
    rng = np.random.default_rng(0)
    resolution = space.resolution_choices[-1]
    images = tf.constant(rng.uniform(0, 1, (BATCH, resolution, resolution, 3)).astype(np.float32))
    labels = tf.constant(rng.integers(0, space.num_classes, BATCH).astype(np.int32))
    keras.utils.set_random_seed(0)
    supernet = build_supernet(space)
    cfg = TrainConfig(steps=1, global_batch_size=BATCH, num_random=num_random, progress=False, precision=precision)
    optimizer = keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum)
    if precision == "mixed_float16":
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    optimizer.build(supernet.trainable_variables)
    sandwich = SandwichStep(supernet, optimizer, cfg, tf.distribute.get_strategy())
    first = sandwich_configs(space, 0, cfg.seed, num_random)
    start = time.perf_counter()
    sandwich((images, labels), first)
    trace = time.perf_counter() - start
    eager_opt = keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum)
    eager_opt.build(supernet.trainable_variables)
    replica_step(supernet, eager_opt, images, labels, first, True, BATCH)  # warm-up
    rows = []
    for step in tqdm(range(steps), desc=f"steps r{resolution}", leave=False):
        configs = sandwich_configs(space, step, cfg.seed, num_random)
        eager = _median_time(lambda c=configs: replica_step(supernet, eager_opt, images, labels, c, True, BATCH),
                             max(1, repeats - 1))
        compiled = _median_time(lambda c=configs: sandwich((images, labels), c), repeats)
        fit = sum(_fit_step_seconds(supernet, config, images, labels) for config in configs)
        rows.append((eager, compiled, fit))
    eager, compiled, fit = (statistics.median(column) for column in zip(*rows))
    return {"eager_step_s": eager, "compiled_step_s": compiled, "sum_of_fit_steps_s": fit,
            "speedup_vs_eager": statistics.median(a / b for a, b, _ in rows),
            "overhead_vs_fit": statistics.median(b / c for _, b, c in rows),
            "compiled_trace_s": trace, "compiled_traces": sandwich.traces, "subnets_per_step": 2 + num_random,
            "supernet": supernet}


def measure_scoring(supernet, space: SearchSpace, bn_batches: int, candidates: int, eager_candidates: int) -> dict:
    rng = np.random.default_rng(1)
    resolution = space.resolution_choices[-1]
    x = rng.uniform(0, 1, (VALIDATION, resolution, resolution, 3)).astype(np.float32)
    y = rng.integers(0, space.num_classes, VALIDATION).astype(np.int32)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    configs = [space.sample(rng) for _ in range(candidates + 1)]
    compiled = accuracy_fitness(supernet, data, bn_steps=bn_batches, step="compiled")
    start = time.perf_counter()
    compiled.score_many(configs[:1])  # trace
    trace = time.perf_counter() - start
    start = time.perf_counter()
    compiled.score_many(configs[1:])
    per_compiled = (time.perf_counter() - start) / candidates
    eager = accuracy_fitness(supernet, data, bn_steps=bn_batches, step="eager")
    eager(configs[0])  # warm-up
    start = time.perf_counter()
    for config in configs[1:eager_candidates + 1]:
        eager(config)
    per_eager = (time.perf_counter() - start) / eager_candidates
    return {"candidates_per_minute": 60.0 / per_compiled, "eager_candidates_per_minute": 60.0 / per_eager,
            "scoring_speedup": per_eager / per_compiled, "scoring_trace_s": trace, "validation_images": VALIDATION,
            "bn_batches": bn_batches}


def run_case(name: str) -> dict:
    preset, resolution = CASES[name]
    space = case_space(preset, resolution)
    settings = vww.PRESETS[preset]
    training = measure_training(space, settings.num_random, _STEPS.value, _REPEATS.value, flags.FLAGS.precision)
    supernet = training.pop("supernet")
    scoring = measure_scoring(supernet, space, settings.bn_batches, _CANDIDATES.value, _EAGER_CANDIDATES.value)
    return {"space": preset, "resolution": resolution, "batch": BATCH, "precision": flags.FLAGS.precision,
            **training, **scoring}


def _table(rows: list[dict]) -> str:
    head = ("| space | res | batch | subnets/step | eager step s | compiled step s | sum of fit steps s | "
            "speedup vs eager | overhead vs fit | trace s | candidates/min (eager) | scoring speedup |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(f"| {r['space']} | {r['resolution']} | {r['batch']} | {r['subnets_per_step']} | "
                     f"{r['eager_step_s']:.3f} | {r['compiled_step_s']:.3f} | {r['sum_of_fit_steps_s']:.3f} | "
                     f"{r['speedup_vs_eager']:.2f} | {r['overhead_vs_fit']:.2f} | {r['compiled_trace_s']:.1f} | "
                     f"{r['candidates_per_minute']:.0f} ({r['eager_candidates_per_minute']:.1f}) | "
                     f"{r['scoring_speedup']:.1f}x |")
    return "\n".join(lines)


def main(argv) -> int:
    del argv
    unknown = sorted(set(_CASES.value) - set(CASES))
    if unknown:
        print(f"error: unknown cases {unknown}; choose from {sorted(CASES)}", file=sys.stderr)
        return 2
    rows = []
    for name in tqdm(_CASES.value, desc="cases"):
        rows.append(run_case(name))
        if _OUT.value:
            pathlib.Path(_OUT.value).write_text(json.dumps(rows, indent=2) + "\n")
    print(json.dumps(rows, indent=2) if _JSON.value else _table(rows))
    return 0


if __name__ == "__main__":
    app.run(main)

"""The staged pipeline behind `mcunet-kws` and `mcunet-vww`: train, search, export, then the report.

    TaskData --train: supernet, sandwich rule (train.py)--> <out>/supernet/ checkpoints, train.json
             --search: optimise_space + evolve under the Budget (search.py)--> search.json, search_log.jsonl,
                       space_cdf.png, population.png
             --export: QAT int8 .tflite, budget check, C verified bit-exact vs TFLM (export.py), the C
                       folder built, TFLM side by side (engine.compare), memory plot--> export.json
             --> report.md (report.py)

Resuming: each stage writes `<out>/<stage>.json` holding the settings it ran with and its result. A
stage listed in `RunConfig.stages` is skipped when its record holds the same settings (which include
the records of the stages it builds on), and rerun otherwise; the train stage also resumes an
interrupted run from its checkpoints and continues to more steps when `--epochs` grows. A stage not
listed is taken from its record as it stands (an error if there is none).

The budget is the model's: SRAM is the engine's arena (activations and scratch), Flash the model's
constants (weights, biases, requantisation parameters) plus the code of the kernels it calls, as
`mcunet_tf.estimator.Cost` defines them. Anything else on the device (the KWS front end, the
application, the stack) needs its own room.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any

from mcunet_tf.config import SearchSpace, SubnetConfig
from mcunet_tf.search import Budget

STAGES = ("train", "search", "export")
KB = 1024  # a "kB" of the budget flags, as microcontroller datasheets count it
# (SRAM kB, Flash kB) of each board, for the model (see the module docstring).
BOARDS = {
    "stm32f746": (320, 1024),
    "stm32h743": (512, 2048),
    "nrf52840": (256, 1024),
    "stm32f411": (128, 512),
}
DEFAULT_BOARD = "stm32f746"


class AppError(Exception):
    """A run that cannot start or go on; the message is the whole `error: ...` line."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """How big a run is (a preset; `--epochs` overrides `epochs`).

    Attributes:
        epochs: supernet training passes over the training split.
        batch_size: supernet, search and QAT batch size.
        learning_rate: supernet SGD learning rate.
        num_random: random subnets per sandwich step.
        population, generations: evolutionary search.
        space_samples: subnets sampled per (width, resolution) in search-space optimisation.
        bn_batches: batches that re-estimate BatchNorm statistics of each candidate.
        eval_examples: validation examples each candidate is scored on (and the exported model).
        qat_epochs: quantisation-aware fine-tuning epochs of the chosen subnet (0: post-training
            quantisation, calibration only).
        export_train_examples: training examples for QAT and int8 calibration.
        verify_samples: validation inputs run through the generated C and TFLM, every tensor compared.
        compare_repeats: invokes per latency median in the TFLM comparison.
    """

    epochs: int
    batch_size: int
    learning_rate: float
    num_random: int
    population: int
    generations: int
    space_samples: int
    bn_batches: int
    eval_examples: int
    qat_epochs: int
    export_train_examples: int
    verify_samples: int
    compare_repeats: int


@dataclasses.dataclass(frozen=True)
class TaskData:
    """A task's data as the pipeline reads it.

    Attributes:
        dataset: (split "train" | "validation", augment, limit) -> unbatched tf.data of (input float32
            [r, r, c] at the space's largest resolution, int32 label); `limit` keeps a seeded random
            subset of that many items (None: all).
        num_train: training items (one epoch).
        num_validation: validation items.
        source: where the data is (a folder), for the report.
        demo: the offline demo data (every report says so).
        details: extra facts for the report (class counts, the feature config, ...).
    """

    dataset: Callable[[str, bool, int | None], Any]
    num_train: int
    num_validation: int
    source: str
    demo: bool
    details: dict


@dataclasses.dataclass(frozen=True)
class Task:
    """One app: its name (C identifier and file names), search space, data and export extras.

    `finish_export(out_dir, c_dir, tflite, val_arrays)` runs after the C folder is written and
    returns facts for the report (KWS writes its feature front end into the C folder there).
    """

    name: str
    title: str
    space: SearchSpace
    data: TaskData
    finish_export: Callable[..., dict] | None = None


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Where and how to run: output folder, budget, stages, seed and sizes."""

    out_dir: pathlib.Path
    budget: Budget
    budget_source: str
    stages: tuple[str, ...]
    seed: int
    preset: str
    settings: Settings
    progress: bool = True
    precision: str = "float32"


def make_budget(board: str | None, sram_kb: int | None, flash_kb: int | None,
                max_minstr: float | None = None) -> tuple[Budget, str]:
    """The model's budget from a board preset and/or explicit kB (1024 bytes); explicit values win.

    Without either, the default board (stm32f746, MCUNet's) applies. `max_minstr` bounds the
    predicted Cortex-M7 instructions per inference, in millions (`Budget.max_instructions`).
    """
    if max_minstr is not None and not max_minstr > 0:
        raise AppError(f"--max_minstr={max_minstr} must be a positive number of millions of instructions")
    if board is not None and board not in BOARDS:
        raise AppError(f"--board={board!r} is not one of {sorted(BOARDS)}")
    for name, value in (("sram_kb", sram_kb), ("flash_kb", flash_kb)):
        if value is not None and value <= 0:
            raise AppError(f"--{name}={value} must be a positive number of kB")
    base = board or DEFAULT_BOARD
    sram = sram_kb if sram_kb is not None else BOARDS[base][0]
    flash = flash_kb if flash_kb is not None else BOARDS[base][1]
    overrides = [f"--{n}={v}" for n, v in (("sram_kb", sram_kb), ("flash_kb", flash_kb)) if v is not None]
    if board is None and len(overrides) == 2:
        source = " ".join(overrides)
    else:
        source = f"board {base}" + ("" if board else " (default)") + "".join(f", {o}" for o in overrides)
    if max_minstr is None:
        return Budget(sram_bytes=sram * KB, flash_bytes=flash * KB), source
    budget = Budget(sram_bytes=sram * KB, flash_bytes=flash * KB, max_instructions=round(max_minstr * 1e6))
    return budget, f"{source}, --max_minstr={max_minstr:g}"


def parse_stages(text: str | list[str]) -> tuple[str, ...]:
    """'train,search' or ['train', 'search'] -> the stages in pipeline order."""
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    unknown = sorted(set(names) - set(STAGES))
    if unknown or not names:
        raise AppError(f"--stages={','.join(names)!s}: each stage must be one of {','.join(STAGES)}"
                       + (f" (unknown: {', '.join(unknown)})" if unknown else " (none given)"))
    return tuple(s for s in STAGES if s in names)


def say(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------- records


def record_path(out_dir: pathlib.Path, stage: str) -> pathlib.Path:
    return out_dir / f"{stage}.json"


def read_record(out_dir: pathlib.Path, stage: str) -> dict | None:
    path = record_path(out_dir, stage)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise AppError(f"{path}: not a stage record ({error}); delete it to rerun the {stage} stage") from None


def write_record(out_dir: pathlib.Path, stage: str, record: dict) -> dict:
    """Writes the record atomically (a crash never leaves half a record)."""
    path = record_path(out_dir, stage)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return record


def _plain(value) -> Any:
    """JSON round trip, so settings compare equal to what a record holds (tuples -> lists)."""
    return json.loads(json.dumps(value, sort_keys=True))


def _done(record: dict | None, settings: dict) -> bool:
    return bool(record) and record.get("result") is not None and record.get("settings") == _plain(settings)


def _needed(out_dir: pathlib.Path, stage: str, by: str) -> dict:
    record = read_record(out_dir, stage)
    if not record or record.get("result") is None:
        raise AppError(f"the {by} stage needs the {stage} stage's result, and {record_path(out_dir, stage)} "
                       f"has none: add {stage} to --stages")
    return record


# ---------------------------------------------------------------- data


def batches(task: Task, split: str, augment: bool, limit: int | None, batch_size: int):
    """A cached, batched tf.data of a seeded subset (the same every pass: every candidate sees it)."""
    return task.data.dataset(split, augment, limit).batch(batch_size).cache()


def arrays(dataset) -> tuple[Any, Any]:
    """(inputs float32 NHWC, labels int32) numpy arrays of an unbatched dataset."""
    import numpy as np

    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in dataset), strict=True)
    return np.stack(xs).astype(np.float32), np.asarray(ys, np.int32)


# ---------------------------------------------------------------- train


def train_settings(task: Task, run: RunConfig) -> dict:
    s = run.settings
    steps = s.epochs * math.ceil(task.data.num_train / s.batch_size)
    return {"space": task.space.to_dict(), "data": task.data.source, "steps": steps, "epochs": s.epochs,
            "batch_size": s.batch_size, "learning_rate": s.learning_rate, "num_random": s.num_random,
            "seed": run.seed, **({"precision": run.precision} if run.precision != "float32" else {})}


def train_stage(task: Task, run: RunConfig, state: dict) -> dict:
    """Trains (or resumes, or continues) the supernet; keeps it in `state` for the next stages."""
    from mcunet_tf.train import TrainConfig, train_supernet

    settings, record = train_settings(task, run), read_record(run.out_dir, "train")
    if _done(record, settings):
        say(f"train: done before ({record['result']['steps']} steps, {record_path(run.out_dir, 'train')}), skipped")
        return record
    if record and {**record["settings"], "steps": 0, "epochs": 0} != _plain({**settings, "steps": 0, "epochs": 0}):
        raise AppError(f"{run.out_dir}: holds a supernet trained with other settings "
                       f"({record_path(run.out_dir, 'train')}); use a new --out_dir or delete "
                       f"{run.out_dir / 'supernet'} and train.json")
    write_record(run.out_dir, "train", {"settings": settings, "result": None})  # marks the checkpoints' settings
    s = run.settings
    config = TrainConfig(steps=settings["steps"], global_batch_size=s.batch_size, learning_rate=s.learning_rate,
                         num_random=s.num_random, seed=run.seed, checkpoint_dir=str(run.out_dir / "supernet"),
                         checkpoint_every=max(1, min(100, settings["steps"] // 4)), progress=run.progress,
                         precision=run.precision)
    say(f"train: supernet for {config.steps} steps of {s.batch_size} ({s.epochs} epochs of "
        f"{task.data.num_train} examples)")
    result = train_supernet(task.space, lambda: task.data.dataset("train", True, None), config)
    state["supernet"] = result.supernet
    losses = result.losses
    tail = losses[-max(1, len(losses) // 5):] if len(losses) else losses
    summary = {"steps": settings["steps"], "resumed_from": result.start_step,
               "final_loss_largest": float(tail[:, 0].mean()) if len(tail) else None,
               "final_loss_smallest": float(tail[:, 1].mean()) if len(tail) else None,
               "losses_largest": [float(v) for v in losses[:, 0]] if len(losses) else [],
               "losses_smallest": [float(v) for v in losses[:, 1]] if len(losses) else []}
    return write_record(run.out_dir, "train", {"settings": settings, "result": summary})


def supernet_of(task: Task, run: RunConfig, state: dict):
    """The trained supernet: this run's, or restored from <out>/supernet."""
    if "supernet" in state:
        return state["supernet"]
    import tensorflow as tf

    from mcunet_tf.supernet import build_supernet

    latest = tf.train.latest_checkpoint(str(run.out_dir / "supernet"))
    if latest is None:
        raise AppError(f"{run.out_dir / 'supernet'}: no supernet checkpoint; add train to --stages")
    supernet = build_supernet(task.space)
    tf.train.Checkpoint(supernet=supernet).restore(latest).expect_partial().assert_existing_objects_matched()
    state["supernet"] = supernet
    return supernet


# ---------------------------------------------------------------- search


def search_settings(task: Task, run: RunConfig, train: dict) -> dict:
    s = run.settings
    return {"supernet": train["settings"], "budget": dataclasses.asdict(run.budget), "population": s.population,
            "generations": s.generations, "space_samples": s.space_samples, "bn_batches": s.bn_batches,
            "eval_examples": s.eval_examples, "batch_size": s.batch_size, "seed": run.seed}


def search_stage(task: Task, run: RunConfig, state: dict) -> dict:
    """TinyNAS under the budget with the accuracy of inherited, BN-recalibrated subnets as fitness."""
    from mcunet_tf.search import EvolutionSettings, SearchError, accuracy_fitness, search

    train = _needed(run.out_dir, "train", "search")
    settings, record = search_settings(task, run, train), read_record(run.out_dir, "search")
    if _done(record, settings):
        say(f"search: done before ({record_path(run.out_dir, 'search')}), skipped")
        return record
    s = run.settings
    supernet = supernet_of(task, run, state)
    val = batches(task, "validation", False, s.eval_examples, s.batch_size)
    calibration = batches(task, "train", True, s.bn_batches * s.batch_size, s.batch_size)
    fitness = accuracy_fitness(supernet, val, calibration=calibration, bn_steps=s.bn_batches)
    evolution = EvolutionSettings(population=s.population, generations=s.generations, seed=run.seed)
    say(f"search: {run.budget_source}: SRAM <= {run.budget.sram_bytes:,} B, Flash <= {run.budget.flash_bytes:,} B; "
        f"population {s.population}, {s.generations} generations")
    try:
        result = search(supernet, run.budget, fitness=fitness, settings=evolution, space_samples=s.space_samples,
                        log_path=run.out_dir / "search_log.jsonl", plot_dir=run.out_dir, progress=run.progress)
    except SearchError as error:
        raise AppError(f"search: {error}") from None
    summary = dict(search_summary(result), validation_examples=min(s.eval_examples, task.data.num_validation))
    return write_record(run.out_dir, "search", {"settings": settings, "result": summary})


def search_summary(result) -> dict:
    choice = result.space_choice
    spaces = [] if choice is None else [
        {"width": p.width, "resolution": p.resolution, "satisfying": p.satisfying, "score_macs": p.score,
         "eligible": p.eligible} for p in choice.scores]
    return {"config": result.config.to_dict(), "accuracy": result.accuracy, "sram_bytes": result.sram,
            "flash_bytes": result.flash, "macs": result.macs, "instructions": result.cost.instructions,
            "width": result.config.width,
            "resolution": result.config.resolution, "spaces": spaces,
            "evaluated": result.log[-1]["evaluated"], "rejected": result.log[-1]["rejected"],
            "generations": [{"generation": e["generation"], "best": e["best_fitness"], "mean": e["mean_fitness"]}
                            for e in result.log]}


# ---------------------------------------------------------------- export


def export_settings(task: Task, run: RunConfig, search: dict) -> dict:
    s = run.settings
    return {"search": search["result"]["config"], "supernet": search["settings"]["supernet"],
            "budget": dataclasses.asdict(run.budget), "qat_epochs": s.qat_epochs,
            "export_train_examples": s.export_train_examples, "eval_examples": s.eval_examples,
            "verify_samples": s.verify_samples, "compare_repeats": s.compare_repeats, "seed": run.seed}


def export_stage(task: Task, run: RunConfig, state: dict) -> dict:
    """QAT and int8 conversion of the searched subnet, C verified and built, TFLM beside it."""
    from mcunet_tf import export as export_module

    search = _needed(run.out_dir, "search", "export")
    settings, record = export_settings(task, run, search), read_record(run.out_dir, "export")
    if _done(record, settings) and (run.out_dir / f"{task.name}.tflite").is_file():
        say(f"export: done before ({record_path(run.out_dir, 'export')}), skipped")
        return record
    s = run.settings
    config = SubnetConfig.from_dict(search["result"]["config"])
    train = arrays(task.data.dataset("train", True, s.export_train_examples))
    val = arrays(task.data.dataset("validation", False, s.eval_examples))
    method = "qat" if s.qat_epochs > 0 else "ptq"
    say(f"export: {method} ({s.qat_epochs} QAT epochs) on {len(train[0])} examples, int8 conversion, C, verify vs TFLM")
    try:
        result = export_module.export(config, (train, val), run.out_dir, budget=run.budget, method=method,
                                      epochs=s.qat_epochs, supernet=supernet_of(task, run, state), name=task.name,
                                      batch_size=s.batch_size, seed=run.seed, verify_samples=s.verify_samples)
    except export_module.ExportError as error:
        raise AppError(f"export: {error}") from None
    from mcunet_tf.apps import report

    extras = task.finish_export(run.out_dir, result.c_dir, result.tflite_path, val) if task.finish_export else {}
    built = report.build_c_folder(result.c_dir, task.name, run.out_dir / "build")
    comparison = report.compare_with_tflm(result.tflite_path, task.name, val[0][: s.verify_samples],
                                          s.compare_repeats, run.seed)
    report.memory_plot(result.tflite_path, task.name, comparison["tflm_arena_head_bytes"],
                       run.out_dir / "memory.png")
    summary = {"export": result.as_dict(), "comparison": comparison, "built": built, "extras": extras,
               "validation_examples": int(len(val[0])), "train_examples": int(len(train[0]))}
    return write_record(run.out_dir, "export", {"settings": settings, "result": _plain(summary)})


# ---------------------------------------------------------------- the pipeline

_STAGE_FUNCTIONS = {"train": train_stage, "search": search_stage, "export": export_stage}


def run_pipeline(task: Task, run: RunConfig) -> pathlib.Path:
    """Runs the listed stages (resuming as the module docstring says) and writes <out>/report.md.

    Returns:
        The report's path.

    Raises:
        AppError: a stage cannot run (missing results, a budget nothing fits, an export over budget
            or not bit-exact); the message is one line.
    """
    from mcunet_tf.apps import report

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    run.out_dir.mkdir(parents=True, exist_ok=True)
    state: dict = {}
    for stage in run.stages:
        before, start = read_record(run.out_dir, stage), time.perf_counter()
        record = _STAGE_FUNCTIONS[stage](task, run, state)
        if record is not before and record != before:  # the stage ran (a skipped one returns its record)
            write_record(run.out_dir, stage, {**record, "seconds": round(time.perf_counter() - start, 2)})
    path = report.write_report(task, run)
    say(report.summary(run))
    say(f"report: {path}")
    return path

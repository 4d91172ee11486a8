"""A fair TinyNAS comparison: scaled MobileNetV2 vs random search vs TinyNAS under one SRAM/Flash budget.

    python bench/tinynas_accuracy.py [--tasks digits,lfw,kws_synthetic] [--seeds 0,1,2] [--json]
        [--out bench/results/tinynas_fair.json] [--progress]

Per task, three architectures in one search space (MobileNetV2-like MBConv stages), all within the
task's budget by the engine's own figures (`mcunet_tf.estimator`, then the exported C folder):

- `mbv2`: MobileNetV2's block settings (kernel 3, expand 6, stage depths 2,3,3,3,3) at the largest
  width, then the largest resolution, that fits: MCUNet's hand-scaled baseline;
- `random`: the best inherited (supernet) validation accuracy among N random subnets that fit,
  drawn from the whole space (every width and resolution): MCUNet's ablation;
- `tinynas`: `mcunet_tf.search`: search-space optimisation (width, resolution), then evolution;
  N is the number of distinct subnets evolution scored, so both searches score as many.

Both searches use one supernet per task (trained with `train_supernet`, seed 0) and one fitness
(`accuracy_fitness` on the validation split, BatchNorm re-estimated on training batches). Then each
architecture is trained FROM SCRATCH with one recipe (`Recipe`: Adam, learning rate cut on plateau,
early stopping on validation loss with the best weights restored, at most `max_epochs`), per seed,
with the same augmentation, converted to full int8 by post-training quantisation, compiled by the
engine (SRAM/Flash checked against the budget and the estimator), verified bit-exact with TFLM, and
scored on the held-out test split: float by Keras, int8 by the TFLM runtime. Seeds vary the final
training (initialisation, shuffling, augmentation), not the search.

Tasks (offline): `digits` (scikit-learn's 1,797 8x8 digits, 10 classes), `lfw` (scikit-image's
lfw_subset: 100 face crops as person, 100 non-face crops as non-person), both grey, upsampled to
40x40, split 60/20/20 (train/validation/test) stratified with one fixed seed; `kws_synthetic`
(the espeak-ng demo KWS set of mcunet_tf/datasets/demo.py, generated larger here, 12 classes, 32x32
log-mel features of mcunet_tf/apps/kws.py, split by synthetic voice). See `TASKS` for the budgets.
Needs scikit-learn for digits (`pip install -e ".[bench]"`). Results: `{"rows": [...]}` (one row per
task, model and seed), plus `tasks` (budget, configs, search figures, timings) and `settings`; rows of
tasks not run this time are kept.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

MODELS = ("mbv2", "random", "tinynas")
ROW_KEYS = ("task", "model", "seed", "float_accuracy", "int8_accuracy", "epochs", "bit_exact", "sram_bytes",
            "flash_bytes", "budget")
MOBILENETV2_DEPTHS = (2, 3, 3, 3, 3)  # MobileNetV2's (2, 3, 4, 3, 3) within depth choices 1..3
KWS_DEMO = dict(voices=40, clips_per_voice=3, unknown_voices=8)  # DemoKwsConfig: 1,152 / 144 / 144 items


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One task: its data, input resolutions, augmentation and budget (kB = 1024 bytes).

    Attributes:
        name: the row's `task`.
        num_classes: classifier outputs.
        resolutions: the space's input resolutions (the data is loaded at the largest).
        sram_kb, flash_kb: the budget.
        shift: largest random translation in pixels at the largest resolution (image tasks) or frames
            along the time axis (KWS).
        flip: random horizontal flips.
        time_axis_only: shift along the time axis only (KWS features are frames x mel bins).
        why: why this budget binds, for the results file and the README.
    """

    name: str
    num_classes: int
    resolutions: tuple[int, ...]
    sram_kb: int
    flash_kb: int
    shift: int
    flip: bool = False
    time_axis_only: bool = False
    why: str = ""

    @property
    def budget(self):
        from mcunet_tf.search import Budget

        return Budget(sram_bytes=self.sram_kb * 1024, flash_bytes=self.flash_kb * 1024)


_IMAGE_WHY = ("SRAM fixes the resolution, Flash the width: MobileNetV2 fits at width 0.35 (0.5 needs 221 kB of "
              "Flash) and resolution 24 (32 needs 14 kB of SRAM); about half of the space's subnets break each "
              "limit (`binding` in the results)")
TASKS = {
    "digits": TaskSpec("digits", 10, (16, 24, 32, 40), 12, 192, shift=4, why=_IMAGE_WHY),
    "lfw": TaskSpec("lfw", 2, (16, 24, 32, 40), 12, 192, shift=4, flip=True, why=_IMAGE_WHY),
    "kws_synthetic": TaskSpec("kws_synthetic", 12, (32,), 20, 192, shift=3, time_axis_only=True,
                              why="the 32x32 features fix the resolution, so width sets both limits: MobileNetV2 "
                                  "fits at width 0.35 (0.5 needs ~221 kB of Flash; 0.75 needs 28 kB of SRAM)"),
}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The one training recipe every architecture gets (from scratch)."""

    batch_size: int = 64
    learning_rate: float = 3e-3
    max_epochs: int = 200
    # An epoch is one pass over the training split, or this many steps when the pass is shorter (lfw's
    # 120 images are 2 batches): BatchNorm's moving statistics (momentum 0.9) need tens of steps before the
    # validation loss means anything, and early stopping counted in 2-step epochs stopped at chance.
    min_steps_per_epoch: int = 16
    patience: int = 10  # early stopping on validation loss, best weights restored
    lr_patience: int = 4  # learning rate x0.3 after this many epochs without a better validation loss
    min_learning_rate: float = 1e-5
    num_calibration: int = 100  # training images calibrating post-training quantisation
    verify_samples: int = 3  # test images run through the C and TFLM, every tensor compared


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """Supernet training and search sizes (shared by random search and TinyNAS)."""

    supernet_steps: int = 200
    supernet_batch: int = 64
    supernet_learning_rate: float = 0.05
    population: int = 10
    generations: int = 3
    space_samples: int = 300
    bn_steps: int = 4


@dataclasses.dataclass(frozen=True)
class Splits:
    """float32 NHWC images at the task's largest resolution and int32 labels."""

    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]

    def sizes(self) -> dict:
        return {name: len(getattr(self, name)[1]) for name in ("train", "validation", "test")}


# ---------------------------------------------------------------- data


def bench_space(task: TaskSpec):
    """The search space: MBConv stages as MobileNetV2's, at most 96 channels, grey input."""
    from mcunet_tf.config import SearchSpace

    return SearchSpace(kernel_choices=(3, 5, 7), expand_choices=(3, 4, 6), depth_choices=(1, 2, 3),
                       width_choices=(0.35, 0.5, 0.75, 1.0), resolution_choices=task.resolutions,
                       stem_channels=32, first_block_channels=16, stage_channels=(16, 24, 40, 64, 96),
                       stage_strides=(2, 2, 2, 1, 2), num_classes=task.num_classes, input_channels=1)


def _stratified(labels: np.ndarray, seed: int = 1234) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / validation / test indices, 60/20/20 within each class, one fixed seed."""
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for c in np.unique(labels):
        items = rng.permutation(np.flatnonzero(labels == c))
        fifth = int(round(0.2 * len(items)))
        for part, chunk in zip(parts, (items[2 * fifth:], items[:fifth], items[fifth:2 * fifth])):
            part.append(chunk)
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)


def _image_splits(images: np.ndarray, labels: np.ndarray, resolution: int) -> Splits:
    import tensorflow as tf

    images = tf.image.resize(images[..., None].astype(np.float32), (resolution, resolution)).numpy() * 2.0 - 1.0
    labels = labels.astype(np.int32)
    return Splits(*((images[i], labels[i]) for i in _stratified(labels)))


def _kws_splits() -> Splits:
    from mcunet_tf.apps.kws import FEATURES
    from mcunet_tf.datasets import KwsConfig, demo_kws, index_speech_commands, kws_dataset
    from mcunet_tf.datasets.demo import CACHE, DemoKwsConfig

    root = demo_kws(CACHE / "bench_kws", DemoKwsConfig(**KWS_DEMO))
    config = KwsConfig(seed=0)
    index = index_speech_commands(root, config, FEATURES)

    def arrays(split):  # unaugmented features; the bench augments them (time shift) as it does images
        pairs = list(kws_dataset(index, split, config, FEATURES, training=False).batch(256).as_numpy_iterator())
        return np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs]).astype(np.int32)

    return Splits(arrays("train"), arrays("validation"), arrays("test"))


def load_task(task: TaskSpec, limit: int | None = None) -> Splits:
    """The task's splits; `limit` keeps the first items of each split (tests)."""
    if task.name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        splits = _image_splits(digits.images / 16.0, digits.target, task.resolutions[-1])
    elif task.name == "lfw":
        from skimage.data import lfw_subset

        splits = _image_splits(lfw_subset(), np.repeat([1, 0], 100), task.resolutions[-1])  # 100 faces first
    else:
        splits = _kws_splits()
    if limit is not None:
        splits = Splits(*(tuple(a[:limit] for a in split) for split in (splits.train, splits.validation, splits.test)))
    return splits


def augmented(task: TaskSpec, images: np.ndarray, labels: np.ndarray, resolution: int | None = None):
    """Unbatched tf.data of (image, label): random shift (and flip), then resized to `resolution`.

    The same augmentation for every model and the supernet: applied at the data's own resolution,
    so a lower-resolution subnet sees the same shifts in proportion.
    """
    import tensorflow as tf

    size = images.shape[1:]
    pad = [[task.shift] * 2, [0, 0] if task.time_axis_only else [task.shift] * 2, [0, 0]]

    def augment(image, label):
        image = tf.image.random_crop(tf.pad(image, pad, mode="SYMMETRIC"), size)
        if task.flip:
            image = tf.image.random_flip_left_right(image)
        if resolution is not None and resolution != size[0]:
            image = tf.image.resize(image, (resolution, resolution))
        return image, label

    data = tf.data.Dataset.from_tensor_slices((images, labels))
    return data.map(augment, num_parallel_calls=tf.data.AUTOTUNE)


# ---------------------------------------------------------------- the three architectures


def mbv2_config(space, budget):
    """MobileNetV2's blocks at the largest width, then the largest resolution, within `budget`."""
    from mcunet_tf.config import SubnetConfig
    from mcunet_tf.estimator import Estimator

    estimator = Estimator()
    for width in reversed(space.width_choices):
        for resolution in reversed(space.resolution_choices):
            config = SubnetConfig(space, resolution, width, MOBILENETV2_DEPTHS,
                                  tuple((3,) * d for d in MOBILENETV2_DEPTHS),
                                  tuple((6,) * d for d in MOBILENETV2_DEPTHS))
            if budget.fits(estimator.cost(config)):
                return config
    raise SystemExit(f"no MobileNetV2 width/resolution fits {budget}")


def budget_binding(space, budget, samples: int = 1000) -> dict:
    """How hard the budget binds: fractions of random subnets within SRAM, Flash and both."""
    from mcunet_tf.estimator import Estimator

    estimator, rng = Estimator(), np.random.default_rng(0)
    costs = [estimator.cost(space.sample(rng)) for _ in range(samples)]
    largest = estimator.cost(space.largest())
    return {"random_subnets": samples,
            "within_sram": float(np.mean([c.sram_bytes <= budget.sram_bytes for c in costs])),
            "within_flash": float(np.mean([c.flash_bytes <= budget.flash_bytes for c in costs])),
            "within_both": float(np.mean([budget.fits(c) for c in costs])),
            "largest_subnet": {"sram_bytes": largest.sram_bytes, "flash_bytes": largest.flash_bytes}}


def supernet_for(task: TaskSpec, space, splits: Splits, settings: SearchSettings, progress: bool):
    """A supernet of `space` trained on the augmented training split (seed 0)."""
    from mcunet_tf.train import TrainConfig, train_supernet

    x, y = splits.train
    make_dataset = lambda: augmented(task, x, y).shuffle(len(y), seed=0)
    config = TrainConfig(steps=settings.supernet_steps, global_batch_size=settings.supernet_batch,
                         learning_rate=settings.supernet_learning_rate, num_random=1, seed=0, progress=progress)
    return train_supernet(space, make_dataset, config).supernet


def fitness_for(supernet, splits: Splits, settings: SearchSettings):
    """The one fitness both searches use: inherited validation accuracy after BN re-estimation."""
    import tensorflow as tf

    from mcunet_tf.search import accuracy_fitness

    val = tf.data.Dataset.from_tensor_slices(splits.validation).batch(256)
    calibration = tf.data.Dataset.from_tensor_slices(splits.train[0]).shuffle(4096, seed=0).batch(64)
    return accuracy_fitness(supernet, val, calibration=calibration, bn_steps=settings.bn_steps)


def random_search(space, budget, fitness, count: int, seed: int = 0, max_draws: int = 100_000):
    """(best config, its fitness): `count` distinct random subnets within `budget`, each scored."""
    from mcunet_tf.estimator import Estimator

    estimator, rng, scored = Estimator(), np.random.default_rng(seed), {}
    for _ in range(max_draws):
        if len(scored) == count:
            break
        config = space.sample(rng)
        key = config.to_json()
        if key not in scored and budget.fits(estimator.cost(config)):
            scored[key] = (config, float(fitness(config)))
    else:
        raise SystemExit(f"random search: only {len(scored)} of {count} subnets within {budget} in {max_draws} draws")
    return max(scored.values(), key=lambda pair: pair[1])


def architectures(task: TaskSpec, splits: Splits, settings: SearchSettings, progress: bool) -> tuple[dict, dict]:
    """({model: SubnetConfig}, the task's record: budget, search figures, timings)."""
    from mcunet_tf import search
    from mcunet_tf.estimator import estimate

    space, budget = bench_space(task), task.budget
    record = {"budget": dataclasses.asdict(budget), "why": task.why, "binding": budget_binding(space, budget),
              "sizes": splits.sizes(), "seconds": {}}
    start = time.time()
    supernet = supernet_for(task, space, splits, settings, progress)
    record["seconds"]["supernet"] = round(time.time() - start, 1)
    fitness = fitness_for(supernet, splits, settings)
    start = time.time()
    found = search(supernet, budget, fitness=fitness, space_samples=settings.space_samples, progress=progress,
                   settings=search.EvolutionSettings(population=settings.population,
                                                     generations=settings.generations, seed=0))
    record["seconds"]["tinynas_search"] = round(time.time() - start, 1)
    scored = found.log[-1]["evaluated"]
    start = time.time()
    random_config, random_fitness = random_search(space, budget, fitness, scored)
    record["seconds"]["random_search"] = round(time.time() - start, 1)
    configs = {"mbv2": mbv2_config(space, budget), "random": random_config, "tinynas": found.config}
    record.update(scored_candidates=scored, space_choice={"width": found.space_choice.width,
                                                          "resolution": found.space_choice.resolution},
                  inherited_accuracy={"random": random_fitness, "tinynas": found.accuracy,
                                      "mbv2": float(fitness(configs["mbv2"]))},
                  configs={m: _arch(c) | {"macs": estimate(c).macs} for m, c in configs.items()})
    return configs, record


def _arch(config) -> dict:
    data = config.to_dict()
    del data["space"]
    return data


# ---------------------------------------------------------------- training, export, rows


def train(task: TaskSpec, config, splits: Splits, recipe: Recipe, seed: int):
    """(trained float Keras model, epoch of the best validation loss, epochs run): from scratch."""
    import tf_keras as keras

    from mcunet_tf import qat
    from mcunet_tf.supernet import build_subnet

    keras.utils.set_random_seed(seed)
    model = qat.compile_classifier(build_subnet(config), recipe.learning_rate)
    x, y = splits.train
    data = augmented(task, x, y, config.resolution).shuffle(len(y), seed=seed)
    passes = -(-len(y) // recipe.batch_size)
    steps = None if passes >= recipe.min_steps_per_epoch else recipe.min_steps_per_epoch
    data = (data if steps is None else data.repeat()).batch(recipe.batch_size)
    val = (qat.fit_images(splits.validation[0], model.input_shape), splits.validation[1])
    callbacks = [keras.callbacks.EarlyStopping("val_loss", patience=recipe.patience, restore_best_weights=True),
                 keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.3, patience=recipe.lr_patience,
                                                   min_lr=recipe.min_learning_rate)]
    history = model.fit(data, validation_data=val, epochs=recipe.max_epochs, steps_per_epoch=steps,
                        callbacks=callbacks, verbose=0)
    losses = history.history["val_loss"]
    return model, int(np.argmin(losses)) + 1, len(losses)


def train_and_export(task: TaskSpec, label: str, config, splits: Splits, recipe: Recipe, seed: int,
                     out_dir: pathlib.Path) -> dict:
    """One row: `config` trained from scratch with `seed`, PTQ int8, exported, verified, scored on test."""
    from mcunet_tf import export, qat
    from mcunet_tf.estimator import estimate

    start = time.time()
    model, epochs, epochs_run = train(task, config, splits, recipe, seed)
    data = (splits.train, splits.test)
    name = f"{task.name}_{label}_s{seed}"
    try:
        result = export(model, data, out_dir, budget=task.budget, method="ptq", expected=estimate(config),
                        name=name, num_calibration=recipe.num_calibration, verify_samples=recipe.verify_samples)
        figures = dict(float_accuracy=result.float_accuracy, int8_accuracy=result.int8_accuracy,
                       bit_exact=result.bit_exact, sram_bytes=result.sram_bytes, flash_bytes=result.flash_bytes)
    except export.ExportError as error:
        if isinstance(error, (export.BudgetError, export.EstimateMismatch)):
            raise
        # Not bit-exact: record it (the row says so) rather than lose the rest of a long run.
        tflite = (out_dir / f"{name}.tflite").read_bytes()
        _, cost, _ = export.engine_cost(tflite, name)
        figures = dict(float_accuracy=qat.keras_accuracy(model, *splits.test),
                       int8_accuracy=qat.int8_accuracy(tflite, *splits.test), bit_exact=False,
                       sram_bytes=cost.sram_bytes, flash_bytes=cost.flash_bytes, error=str(error)[:500])
    return dict(task=task.name, model=label, seed=seed, **figures, epochs=epochs,
                budget=dataclasses.asdict(task.budget), epochs_run=epochs_run, macs=estimate(config).macs,
                resolution=config.resolution, width=config.width, test_size=len(splits.test[1]),
                validation_size=len(splits.validation[1]), seconds=round(time.time() - start, 1))


def run_task(task: TaskSpec, seeds, settings: SearchSettings, recipe: Recipe, out_dir: pathlib.Path,
             progress: bool = False, limit: int | None = None) -> tuple[list[dict], dict]:
    """Every row of one task (3 models x `seeds`) and the task's record."""
    import tf_keras as keras
    from tqdm.auto import tqdm

    start = time.time()
    splits = load_task(task, limit)
    configs, record = architectures(task, splits, settings, progress)
    rows = []
    jobs = [(seed, label) for seed in seeds for label in MODELS]
    bar = tqdm(jobs, desc=f"{task.name} models", disable=not progress)
    for seed, label in bar:
        bar.set_postfix(model=label, seed=seed)
        keras.backend.clear_session()
        rows.append(train_and_export(task, label, configs[label], splits, recipe, seed, out_dir))
    record["seconds"]["total"] = round(time.time() - start, 1)
    return rows, record


# ---------------------------------------------------------------- summary and output


def check_rows(rows: list[dict]) -> None:
    """Raises ValueError when a row lacks a required key or holds an impossible value."""
    for row in rows:
        missing = [k for k in ROW_KEYS if k not in row]
        if missing or row["model"] not in MODELS:
            raise ValueError(f"row {row.get('task')}/{row.get('model')}/{row.get('seed')}: missing {missing} "
                             f"or model not in {MODELS}")
        if not (0 <= row["float_accuracy"] <= 1 and 0 <= row["int8_accuracy"] <= 1 and row["epochs"] >= 1):
            raise ValueError(f"row {row['task']}/{row['model']}/{row['seed']}: impossible figures {row}")


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and sample std (ddof=1; 0 for one seed) per task and model."""
    out = []
    for task in dict.fromkeys(r["task"] for r in rows):
        for model in MODELS:
            mine = [r for r in rows if (r["task"], r["model"]) == (task, model)]
            if not mine:
                continue
            out.append(dict(task=task, model=model, seeds=len(mine), float=_mean_std(mine, "float_accuracy"),
                            int8=_mean_std(mine, "int8_accuracy"), epochs=_mean_std(mine, "epochs"),
                            sram_bytes=mine[0]["sram_bytes"], flash_bytes=mine[0]["flash_bytes"],
                            macs=mine[0].get("macs"), bit_exact=all(r["bit_exact"] for r in mine)))
    return out


def _mean_std(rows: list[dict], key: str) -> tuple[float, float]:
    values = [r[key] for r in rows]
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def table(summary: list[dict]) -> str:
    lines = [f"{'task':14s} {'model':8s} {'float %':>13s} {'int8 %':>13s} {'epochs':>9s} {'SRAM B':>8s} "
             f"{'Flash B':>9s} {'MACs':>10s} bit-exact"]
    for s in summary:
        pct = lambda pair: f"{100 * pair[0]:5.1f} ± {100 * pair[1]:4.1f}"
        lines.append(f"{s['task']:14s} {s['model']:8s} {pct(s['float']):>13s} {pct(s['int8']):>13s} "
                     f"{s['epochs'][0]:9.1f} {s['sram_bytes']:8,d} {s['flash_bytes']:9,d} {s['macs'] or 0:10,d} "
                     f"{s['bit_exact']}")
    return "\n".join(lines)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_results(path: pathlib.Path, rows: list[dict], records: dict, settings: dict) -> dict:
    """Merges into `path`: rows and records of the tasks run replace theirs, other tasks' are kept."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    rows = [r for r in old.get("rows", []) if r["task"] not in records] + rows
    check_rows(rows)
    result = {"rows": rows, "summary": summarise(rows), "tasks": {**old.get("tasks", {}), **records},
              "settings": settings}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {list(TASKS)}")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", default=str(ROOT / "bench/results/tinynas_fair.json"))
    parser.add_argument("--models_dir", default=None, help="where .tflite and C folders go (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print the results JSON instead of the table")
    parser.add_argument("--progress", action="store_true", help="tqdm bars")
    args = parser.parse_args(argv)
    unknown = [t for t in args.tasks.split(",") if t not in TASKS]
    if unknown:
        parser.error(f"unknown tasks {unknown}; choose from {list(TASKS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    settings, recipe = SearchSettings(), Recipe()
    models_dir = pathlib.Path(args.models_dir or tempfile.mkdtemp(prefix="tinynas_fair_"))
    run = {"search": dataclasses.asdict(settings), "recipe": dataclasses.asdict(recipe), "seeds": seeds,
           "commit": _commit(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "int8": "post-training quantisation (full int8), accuracy by the TFLM runtime", "kws_demo": KWS_DEMO}
    rows, records = [], {}
    for name in args.tasks.split(","):
        task_rows, record = run_task(TASKS[name], seeds, settings, recipe, models_dir, args.progress)
        rows += task_rows
        records[name] = dict(record, run=run)
        result = write_results(pathlib.Path(args.out), rows, records, run)  # after each task: partial results
        print(f"{name}: {record['seconds']['total']:.0f} s", file=sys.stderr, flush=True)
    print(json.dumps(result, indent=1, sort_keys=True) if args.json else table(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

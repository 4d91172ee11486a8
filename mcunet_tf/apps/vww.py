"""`mcunet-vww`: TinyNAS for Visual Wake Words (person / no person) under a microcontroller budget.

    mcunet-vww                                   # offline demo data, demo preset, out/vww
    mcunet-vww --data_dir=/data/vw_coco2014_96 --board=stm32f746 --out_dir=out/vww_f746

The data folder is `person/` + `non_person/` image folders (the standard VWW build; the first 10% of
each class's sorted files is validation) or VWW TFRecords (`train.record-*`, `val.record-*`).
Images are RGB in [0, 1], resized to each candidate's resolution; the int8 model takes them
quantised by its input scale and zero point. Outputs: see common.py and the README.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib

from absl import app

from mcunet_tf.apps import cli, common
from mcunet_tf.config import SearchSpace

SPACES = {
    # Tiny: two widths and resolutions, four narrow stages, so every stage takes seconds (the widths
    # give different channel counts at every stage: make_divisible rounds to multiples of 8).
    "demo": SearchSpace(kernel_choices=(3, 5), expand_choices=(2, 3), depth_choices=(1, 2),
                        width_choices=(0.35, 0.5), resolution_choices=(48, 64), stem_channels=16,
                        first_block_channels=8, stage_channels=(24, 40, 64, 96), stage_strides=(2, 2, 2, 1),
                        num_classes=2),
    # MCUNet's ImageNet-style space (MobileNetV2 stages), two classes.
    "full": SearchSpace(width_choices=(0.35, 0.5, 0.75), resolution_choices=(96, 112, 128, 144, 160),
                        num_classes=2),
}
PRESETS = {
    "demo": common.Settings(epochs=3, batch_size=32, learning_rate=0.05, num_random=1, population=8,
                            generations=2, space_samples=30, bn_batches=2, eval_examples=96, qat_epochs=1,
                            export_train_examples=256, verify_samples=2, compare_repeats=5),
    "full": common.Settings(epochs=30, batch_size=64, learning_rate=0.05, num_random=2, population=100,
                            generations=20, space_samples=1000, bn_batches=10, eval_examples=2000, qat_epochs=3,
                            export_train_examples=10000, verify_samples=10, compare_repeats=20),
}


def subset(index, split: str, limit: int | None, seed: int):
    """`index` with `split` cut to a seeded random `limit` of its images (sorted, so by class)."""
    import numpy as np

    items = index.images.get(split, ())
    if limit is None or not items or limit >= len(items):
        return index
    pick = sorted(np.random.default_rng(seed).choice(len(items), size=limit, replace=False))
    return dataclasses.replace(index, images={**index.images, split: tuple(items[i] for i in pick)})


def dataset(index, config, split: str, augment: bool, limit: int | None):
    """TaskData.dataset: VWW images at `config.resolution` (TFRecords: the first `limit` records)."""
    from mcunet_tf.datasets import vww_dataset

    data = vww_dataset(subset(index, split, limit, config.seed), split, config, training=augment)
    return data.take(limit) if index.records and limit is not None else data


def _count_records(files) -> int:
    import tensorflow as tf

    return sum(1 for _ in tf.data.TFRecordDataset(list(files)))


def make_task(data_dir: str | None, preset: str, seed: int, space: SearchSpace | None = None) -> common.Task:
    """The VWW task on `data_dir` (None: the offline demo data); checks the folder first.

    `space` replaces the preset's search space (e.g. a smaller one); images load at its largest resolution.

    Raises:
        DatasetError: the folder is missing or holds neither layout.
    """
    from mcunet_tf.datasets import VwwConfig, demo_vww, index_vww

    space = space or SPACES[preset]
    demo = data_dir is None
    root = demo_vww() if demo else pathlib.Path(data_dir).expanduser()
    # The demo set is small: a fifth of it for validation, so accuracies are less noisy.
    config = VwwConfig(resolution=max(space.resolution_choices), validation_fraction=0.2 if demo else 0.1, seed=seed)
    index = index_vww(root, config)
    if index.records:
        counts = {split: _count_records(index.records[split]) for split in ("train", "validation")}
        details = {"layout": "TFRecords"}
    else:
        counts = {split: len(index.images[split]) for split in ("train", "validation")}
        details = {"layout": "person/ and non_person/ folders",
                   "classes (train)": ", ".join(f"{k} {v}" for k, v in index.counts("train").items())}
    details["inputs"] = (f"RGB in [0, 1], loaded at {config.resolution}x{config.resolution}, resized to each "
                         "candidate's resolution")
    data = common.TaskData(dataset=functools.partial(dataset, index, config), num_train=counts["train"],
                           num_validation=counts["validation"], source=str(root), demo=demo, details=details)
    return common.Task("vww", "Visual Wake Words (person / no person)", space, data)


def main(argv) -> int:
    del argv  # parse_flags refuses positional arguments
    return cli.run_app("vww", make_task, PRESETS)


def run() -> None:
    """The `mcunet-vww` console script."""
    app.run(main, flags_parser=functools.partial(cli.parse_flags, usage=__doc__))


if __name__ == "__main__":
    run()

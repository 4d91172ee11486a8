"""Visual Wake Words as tf.data: person / no person images at a chosen resolution.

Two on-disk forms are read:

- Image folders, as the standard VWW build from COCO leaves them (and MLPerf's
  train_vww.py reads): `<root>/person/*.jpg|png` and `<root>/non_person/*`. As
  Keras' `validation_split`, the first `validation_fraction` of each class's
  sorted file names is the validation split, the rest training.
- TFRecords as the VWW TFRecord build writes them (`train.record-00000-of-00010`,
  `val.record-...`, or `*.tfrecord`): features `image/encoded` (JPEG/PNG bytes) and
  `image/class/label` (1 = person). The split is the file-name prefix.

Labels follow both: 0 = non_person, 1 = person. Images come out float32 in [0, 1]
(the int8 VWW models take x / 255 with zero point -128), resized with bilinear
antialiasing; training adds a random crop (each side >= min_crop of the image) and
a horizontal flip.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

from mcunet_tf.datasets.errors import DatasetError

CLASSES = ("non_person", "person")
SPLITS = ("train", "validation")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# Leading bytes of the formats tf.io.decode_image reads.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
_RECORD_PREFIX = {"train": "train", "validation": "val"}


@dataclasses.dataclass(frozen=True)
class VwwConfig:
    """Resolution, split and augmentation of the VWW loader."""

    resolution: int = 96
    validation_fraction: float = 0.1
    min_crop: float = 0.8
    seed: int = 0

    def __post_init__(self):
        if self.resolution < 1:
            raise ValueError(f"VwwConfig.resolution must be >= 1, got {self.resolution}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"VwwConfig.validation_fraction must be in [0, 1), got {self.validation_fraction}")
        if not 0 < self.min_crop <= 1:
            raise ValueError(f"VwwConfig.min_crop must be in (0, 1], got {self.min_crop}")


@dataclasses.dataclass(frozen=True)
class VwwIndex:
    """Image files (path, label) per split, or TFRecord files per split."""

    root: str
    images: dict  # split -> tuple[tuple[str, int], ...]; empty for TFRecords
    records: dict  # split -> tuple[str, ...]; empty for image folders

    def counts(self, split: str) -> dict[str, int]:
        """Images per class in an image-folder split."""
        labels = [label for _, label in self.images[split]]
        return {name: labels.count(i) for i, name in enumerate(CLASSES)}


def _check_image(path: pathlib.Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise DatasetError(path, f"unreadable image ({e.strerror})") from None
    if not head.startswith(_MAGIC):
        raise DatasetError(path, f"unreadable image: not JPEG/PNG/GIF/BMP (starts with {head[:4]!r})")


def _class_images(folder: pathlib.Path) -> list[str]:
    if not folder.is_dir():
        raise DatasetError(folder, "missing class folder (expected person/ and non_person/)")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise DatasetError(folder, f"no images ({'/'.join(IMAGE_SUFFIXES)})")
    for path in images:
        _check_image(path)
    return [str(p) for p in images]


def _record_files(root: pathlib.Path) -> dict:
    files = sorted(p for p in root.iterdir() if ".record" in p.name or ".tfrecord" in p.name)
    return {
        split: tuple(str(p) for p in files if p.name.startswith(prefix)) for split, prefix in _RECORD_PREFIX.items()
    }


def index_vww(root: os.PathLike | str, config: VwwConfig = VwwConfig()) -> VwwIndex:
    """Find the images (checking every file's header) or TFRecords of a VWW folder.

    Raises:
        DatasetError: missing folder, a class folder missing or without images, an
            image that is not JPEG/PNG/GIF/BMP, or neither layout present.
    """
    root = pathlib.Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(root, "Visual Wake Words folder not found")
    if not any((root / name).is_dir() for name in CLASSES):
        records = _record_files(root)
        if not any(records.values()):
            raise DatasetError(root, "no person/ and non_person/ folders and no TFRecord files (*.record*, *.tfrecord)")
        return VwwIndex(str(root), {}, records)
    splits = {split: [] for split in SPLITS}
    for label, name in enumerate(CLASSES):
        images = _class_images(root / name)
        num_validation = int(len(images) * config.validation_fraction)
        splits["validation"] += [(p, label) for p in images[:num_validation]]
        splits["train"] += [(p, label) for p in images[num_validation:]]
    return VwwIndex(str(root), {k: tuple(v) for k, v in splits.items()}, {})


def _prepare(image, seed, config: VwwConfig, training: bool):
    """uint8 HxWx3 -> float32 [0, 1] resolution^2 x 3, with crop and flip in training."""
    import tensorflow as tf

    if training:
        crop_seed, flip_seed, size_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
        shape = tf.shape(image)
        fraction = tf.random.stateless_uniform([2], size_seed, config.min_crop, 1.0)
        size = tf.maximum(tf.cast(tf.cast(shape[:2], tf.float32) * fraction, tf.int32), 1)
        image = tf.image.stateless_random_crop(image, tf.concat([size, [3]], 0), crop_seed)
        image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    image = tf.image.resize(tf.cast(image, tf.float32), [config.resolution] * 2, antialias=True)
    return tf.clip_by_value(image / 255.0, 0.0, 1.0)


def _decode(encoded):
    import tensorflow as tf

    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def _parse_record(serialized):
    import tensorflow as tf

    spec = {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "image/class/label": tf.io.FixedLenFeature([], tf.int64),
    }
    example = tf.io.parse_single_example(serialized, spec)
    return example["image/encoded"], tf.cast(example["image/class/label"], tf.int32)


def _encoded_dataset(index: VwwIndex, split: str):
    """(encoded image bytes, label) in a fixed order, and the item count (None for TFRecords)."""
    import tensorflow as tf

    if index.records:
        files = index.records[split]
        if not files:
            raise DatasetError(index.root, f"no {_RECORD_PREFIX[split]}* TFRecord files for the {split} split")
        return tf.data.TFRecordDataset(list(files)).map(_parse_record), None
    items = index.images[split]
    if not items:
        raise DatasetError(index.root, f"the {split} split is empty (validation_fraction too small or too few images)")
    paths = tf.constant([p for p, _ in items])
    labels = tf.constant([label for _, label in items], tf.int32)
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    return ds.map(lambda p, label: (tf.io.read_file(p), label)), len(items)


def vww_dataset(
    source: VwwIndex | os.PathLike | str,
    split: str = "train",
    config: VwwConfig = VwwConfig(),
    training: bool | None = None,
):
    """Unbatched tf.data of (image float32 [resolution, resolution, 3] in [0, 1], label int32).

    Args:
        source: a VWW folder (image folders or TFRecords) or its VwwIndex.
        split: "train" or "validation".
        config: resolution, split and augmentation.
        training: augment and shuffle; defaults to split == "train".

    Raises:
        DatasetError: the folder is missing or malformed, or the split is empty.
    """
    import tensorflow as tf

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    index = source if isinstance(source, VwwIndex) else index_vww(source, config)
    training = split == "train" if training is None else training
    ds, count = _encoded_dataset(index, split)
    if training:
        ds = ds.shuffle(count or 4096, seed=config.seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True).batch(2)
    else:
        seeds = tf.data.Dataset.from_tensors(tf.constant([0, 0], tf.int64)).repeat()
    ds = tf.data.Dataset.zip((ds, seeds))
    return ds.map(
        lambda item, seed: (_prepare(_decode(item[0]), seed, config, training), item[1]),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )

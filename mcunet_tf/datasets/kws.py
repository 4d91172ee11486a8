"""Speech Commands (v1/v2 layout) as tf.data: 12-class keyword spotting with augmentation.

Layout read: `<root>/<word>/*.wav` (16 kHz PCM), `<root>/_background_noise_/*.wav`,
`<root>/validation_list.txt` and `<root>/testing_list.txt` (paths relative to root,
one per line); every other clip is training data.

Classes, in the order of the MLPerf Tiny KWS model (so its indices mean the same
here: class 5 is "on", 11 is unknown): down, go, left, no, off, on, right, stop, up,
yes, _silence_, _unknown_. As in TensorFlow's speech_commands example, each split
gets `silence_share` and `unknown_share` times its keyword-clip count of silence
and unknown items; unknown clips are a seeded sample of the other word folders,
silence is background noise (or zeros when the dataset has none).

Training adds a random time shift (+-time_shift_ms, zero fill) and, with
probability `background_frequency`, background noise at volume U(0, background_volume),
then rounds back to 16-bit PCM (saturating). Evaluation clips are not augmented (their features are
exactly what the C front end computes from the same PCM); evaluation silence is
noise fixed per item (seeded), so every pass over a split is identical.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib

import numpy as np

from mcunet_tf.datasets import features, wav
from mcunet_tf.datasets.errors import DatasetError

WORDS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes")
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
BACKGROUND_DIR = "_background_noise_"
SPLITS = ("train", "validation", "test")
DEFAULT_FEATURES = features.FeatureConfig()  # frozen: safe as a shared default
_LIST_FILES = {"validation": "validation_list.txt", "test": "testing_list.txt"}


@dataclasses.dataclass(frozen=True)
class KwsConfig:
    """Class set, split composition and augmentation of the KWS loader.

    Attributes:
        words: keywords, in class order; then _silence_ and _unknown_.
        silence_share: silence items per keyword clip, in each split.
        unknown_share: unknown items per keyword clip, in each split.
        time_shift_ms: largest random shift in training.
        background_frequency: probability of mixing noise into a training clip.
        background_volume: largest noise volume for keyword/unknown training clips.
        silence_volume: largest noise volume of silence items.
        seed: seeds the unknown sample, silence noise and augmentation.
    """

    words: tuple[str, ...] = WORDS
    silence_share: float = 0.1
    unknown_share: float = 0.1
    time_shift_ms: int = 100
    background_frequency: float = 0.8
    background_volume: float = 0.1
    silence_volume: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if not self.words or len(set(self.words)) != len(self.words):
            raise ValueError(f"KwsConfig.words must be distinct and non-empty, got {self.words}")
        for name in ("silence_share", "unknown_share", "background_volume", "silence_volume"):
            if getattr(self, name) < 0:
                raise ValueError(f"KwsConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.background_frequency <= 1:
            raise ValueError(f"KwsConfig.background_frequency must be in [0, 1], got {self.background_frequency}")

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.words, SILENCE, UNKNOWN)


@dataclasses.dataclass(frozen=True)
class KwsIndex:
    """The clips of each split as (relative path or "" for silence, label) pairs, plus noise files."""

    root: str
    labels: tuple[str, ...]
    splits: dict  # split name -> tuple[tuple[str, int], ...]
    background: tuple[str, ...]  # absolute paths of the noise WAVs

    def counts(self, split: str) -> dict[str, int]:
        """Items per class name in `split`."""
        labels = [label for _, label in self.splits[split]]
        return {name: labels.count(i) for i, name in enumerate(self.labels)}


def _word_folders(root: pathlib.Path) -> dict[str, list[str]]:
    folders = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        clips = sorted(f"{folder.name}/{f.name}" for f in folder.glob("*.wav"))
        if clips:
            folders[folder.name] = clips
    if not folders:
        raise DatasetError(root, "no word folders with .wav files (expected e.g. yes/*.wav)")
    return folders


def _read_list(root: pathlib.Path, split: str, existing: set[str]) -> set[str]:
    path = root / _LIST_FILES[split]
    if not path.is_file():
        raise DatasetError(path, f"missing {split} list (Speech Commands layout)")
    names = set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        name = line.strip()
        if name and name not in existing:
            raise DatasetError(path, f"line {number} names {name!r}, which is not a .wav under {root}")
        if name:
            names.add(name)
    return names


def _split_of(clips: dict[str, list[str]], validation: set[str], test: set[str]) -> dict[str, dict[str, list]]:
    """split -> word -> clips."""
    out = {split: {} for split in SPLITS}
    for word, names in clips.items():
        for name in names:
            split = "validation" if name in validation else "test" if name in test else "train"
            out[split].setdefault(word, []).append(name)
    return out


def _compose(by_word: dict[str, list[str]], config: KwsConfig, rng: np.random.Generator) -> tuple:
    """One split in a fixed order: keyword clips by class, the seeded unknown sample, then silence items."""
    items = [(name, i) for i, word in enumerate(config.words) for name in by_word.get(word, [])]
    num_known = len(items)
    others = sorted(name for word, names in by_word.items() if word not in config.words for name in names)
    num_unknown = min(len(others), math.ceil(num_known * config.unknown_share))
    picked = rng.choice(len(others), size=num_unknown, replace=False) if num_unknown else []
    items += [(others[j], len(config.words) + 1) for j in sorted(picked)]
    items += [("", len(config.words))] * math.ceil(num_known * config.silence_share)
    return tuple(items)


def _background_files(root: pathlib.Path, sample_rate: int, clip_samples: int) -> tuple[str, ...]:
    folder = root / BACKGROUND_DIR
    if not folder.is_dir():
        return ()
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise DatasetError(folder, "background noise folder has no .wav files")
    for path in files:
        if wav.check_wav(path, sample_rate).num_frames < clip_samples:
            raise DatasetError(path, f"background noise shorter than one clip ({clip_samples} samples)")
    return tuple(str(p) for p in files)


def index_speech_commands(
    root: os.PathLike | str, config: KwsConfig = KwsConfig(), feature_config: features.FeatureConfig = DEFAULT_FEATURES
) -> KwsIndex:
    """Check a Speech Commands folder (every WAV header) and list each split's items.

    Index once and pass the KwsIndex to kws_dataset for each split: on the full
    dataset the header check reads ~100k files.

    Raises:
        DatasetError: missing folder or list, no clips, a keyword without clips, a WAV
            that is unreadable, not 16-bit or not at feature_config.sample_rate.
    """
    root = pathlib.Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(root, "Speech Commands folder not found")
    clips = _word_folders(root)
    for word in config.words:
        if word not in clips:
            raise DatasetError(root / word, f"no clips for keyword {word!r}")
    for name in (n for names in clips.values() for n in names):
        wav.check_wav(root / name, feature_config.sample_rate)
    existing = {n for names in clips.values() for n in names}
    by_split = _split_of(clips, _read_list(root, "validation", existing), _read_list(root, "test", existing))
    rng = np.random.default_rng(config.seed)
    splits = {split: _compose(by_split[split], config, rng) for split in SPLITS}
    background = _background_files(root, feature_config.sample_rate, feature_config.clip_samples)
    return KwsIndex(str(root), config.labels, splits, background)


# ---------------------------------------------------------------- tf.data


def _background_tensors(index: KwsIndex, feature_config: features.FeatureConfig):
    """All noise files concatenated (float32 in [-1, 1)), with each file's start and length."""
    clips = [features.pcm16_to_float(wav.read_pcm16(p, feature_config.sample_rate)) for p in index.background]
    lengths = np.array([c.size for c in clips], np.int32)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
    return np.concatenate(clips), starts, lengths


def _decode(path, is_silence, clip_samples: int):
    import tensorflow as tf

    def read():
        audio, _ = tf.audio.decode_wav(tf.io.read_file(path), desired_channels=1)
        audio = audio[:clip_samples, 0]
        return tf.pad(audio, [[0, clip_samples - tf.shape(audio)[0]]])

    return tf.cond(is_silence, lambda: tf.zeros([clip_samples], tf.float32), read)


def _shift(audio, seed, max_shift: int):
    """Move the clip by U{-max_shift..max_shift} samples, filling with zeros."""
    import tensorflow as tf

    shift = tf.random.stateless_uniform([], seed, -max_shift, max_shift + 1, dtype=tf.int32)
    padded = tf.pad(audio, [[max_shift, max_shift]])
    return padded[max_shift - shift : max_shift - shift + tf.shape(audio)[0]]


def _mix_noise(audio, is_silence, seeds, noise, config: KwsConfig, training: bool):
    """Add a random crop of a random noise file at a random volume (0 for evaluation keyword clips)."""
    import tensorflow as tf

    samples, starts, lengths = noise
    n = tf.shape(audio)[0]
    file = tf.random.stateless_uniform([], seeds[0], 0, len(starts), dtype=tf.int32)
    offset = tf.random.stateless_uniform([], seeds[1], 0, tf.gather(lengths, file) - n + 1, dtype=tf.int32)
    crop = tf.slice(samples, [tf.gather(starts, file) + offset], [n])
    silence_volume = tf.random.stateless_uniform([], seeds[2]) * config.silence_volume
    mixed = tf.random.stateless_uniform([], seeds[3]) < config.background_frequency
    clip_volume = tf.where(mixed, tf.random.stateless_uniform([], seeds[4]) * config.background_volume, 0.0)
    volume = tf.where(is_silence, silence_volume, clip_volume if training else 0.0)
    # Back onto the 16-bit PCM grid a microphone delivers, so every clip is exactly int16 audio
    # (an unmixed clip is unchanged: it already is).
    pcm = tf.clip_by_value(tf.round((audio + volume * crop) * 32768.0), -32768.0, 32767.0)
    return pcm / 32768.0


def _seeds(num_items: int, seed: int, training: bool):
    """One stateless seed pair per element: fresh every epoch in training, fixed per item otherwise."""
    import tensorflow as tf

    if training:
        return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2, drop_remainder=True)
    return tf.data.Dataset.range(num_items).map(lambda i: tf.stack([tf.constant(seed, tf.int64), i]))


def kws_audio_dataset(
    source: KwsIndex | os.PathLike | str,
    split: str = "train",
    config: KwsConfig = KwsConfig(),
    feature_config: features.FeatureConfig = DEFAULT_FEATURES,
    training: bool | None = None,
):
    """(audio float32 [clip_samples], label int32) before features; see kws_dataset.

    Every clip is on the int16 grid (pcm / 32768; noise mixes are rounded back to
    it), so `audio * 32768` is its exact int16 PCM for the C front end; evaluation
    keyword clips are exactly the decoded files.
    """
    import tensorflow as tf

    index = source if isinstance(source, KwsIndex) else index_speech_commands(source, config, feature_config)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    items = index.splits[split]
    if not items:
        raise DatasetError(index.root, f"the {split} split is empty (see {_LIST_FILES.get(split, 'the lists')})")
    training = split == "train" if training is None else training
    silence_id = len(config.words)
    paths = [os.path.join(index.root, p) if p else "" for p, _ in items]
    ds = tf.data.Dataset.from_tensor_slices((paths, np.array([label for _, label in items], np.int32)))
    if training:
        ds = ds.shuffle(len(items), seed=config.seed, reshuffle_each_iteration=True)
    noise = _background_tensors(index, feature_config) if index.background else None
    clip, max_shift = feature_config.clip_samples, feature_config.sample_rate * config.time_shift_ms // 1000

    def load(item, seed):
        path, label = item
        is_silence = tf.equal(label, silence_id)
        audio = _decode(path, is_silence, clip)
        seeds = tf.random.experimental.stateless_split(seed, 6)
        if training and max_shift > 0:
            audio = _shift(audio, seeds[0], max_shift)
        if noise is not None:
            audio = _mix_noise(audio, is_silence, seeds[1:], noise, config, training)
        return audio, label

    ds = tf.data.Dataset.zip((ds, _seeds(len(items), config.seed, training)))
    return ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def kws_dataset(
    source: KwsIndex | os.PathLike | str,
    split: str = "train",
    config: KwsConfig = KwsConfig(),
    feature_config: features.FeatureConfig = DEFAULT_FEATURES,
    training: bool | None = None,
):
    """Unbatched tf.data of (features float32 feature_config.shape, label int32).

    Args:
        source: a Speech Commands folder or its KwsIndex (index once, load every split).
        split: "train", "validation" or "test".
        config: classes, split composition and augmentation.
        feature_config: the feature pipeline (save it with the model).
        training: augment and shuffle; defaults to split == "train".

    Raises:
        DatasetError: the folder is missing or malformed, or the split is empty.
    """
    import tensorflow as tf

    audio = kws_audio_dataset(source, split, config, feature_config, training)
    return audio.map(
        lambda a, label: (features.tf_features(a, feature_config), label),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )

"""Offline demo datasets, so the apps run with no download: written once into a cache, read by the real loaders.

- KWS: the 10 keywords and some other words spoken by espeak-ng (several
  voices/variants, speeds and pitches), resampled to 16 kHz, placed at random in a
  1 s clip with random gain and a little noise; generated noise files as
  `_background_noise_` (the loader makes silence from them). Split by voice, as
  Speech Commands splits by speaker. Written in the Speech Commands layout.
- VWW: scikit-image's `lfw_subset` (100 LFW face crops -> person, 100 background
  crops -> non_person) and scikit-image sample photos (astronaut and cameraman ->
  person; cat, coffee, rocket, coins, ... -> non_person), with random crops and
  flips. Written as person/ and non_person/ folders.

Generation is seeded and deterministic; a `DEMO.json` marker (config + DEMO_NOTE)
is written last, so an interrupted run is redone rather than half-used.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import zlib

import numpy as np

from mcunet_tf.datasets import kws, wav
from mcunet_tf.datasets.errors import DatasetError

DEMO_NOTE = (
    "DEMO DATA, not a benchmark: keyword clips are synthetic espeak-ng speech (a few voices, no real "
    "speakers or rooms) and person images are scikit-image's lfw_subset faces and sample photos. "
    "Accuracies on it only show that the pipeline runs end to end; they say nothing about accuracy "
    "on Speech Commands or Visual Wake Words."
)
CACHE = pathlib.Path("~/.cache/mcunet_tf").expanduser()
MARKER = "DEMO.json"
RATE = 16000
ESPEAK_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = ("", "+m1", "+m3", "+m7", "+f1", "+f2", "+f4", "+klatt", "+klatt3")
UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow")


@dataclasses.dataclass(frozen=True)
class DemoKwsConfig:
    """Size and variety of the demo KWS set.

    Attributes:
        voices: espeak-ng "voice+variant" speakers drawn per word (each also gets a speed and pitch).
        clips_per_voice: augmented clips cut from each spoken word.
        unknown_voices: speakers per non-keyword word.
        noise_seconds: length of each generated background-noise file.
        seed: everything random derives from it.
    """

    voices: int = 20
    clips_per_voice: int = 2
    unknown_voices: int = 4
    noise_seconds: int = 5
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class DemoVwwConfig:
    """Size of the demo VWW set: crops per LFW image, per person photo and per other photo."""

    lfw_crops: int = 2
    person_photo_crops: int = 20
    other_photo_crops: int = 4
    size: int = 128
    seed: int = 0


def _cached(folder: pathlib.Path, config, build) -> pathlib.Path:
    """Return `folder` if its marker matches `config`; else build it in a private temp folder and swap it in.

    Concurrent first uses (two apps, pytest -n) each build privately; the first swap wins.
    """
    want = {"config": dataclasses.asdict(config), "note": DEMO_NOTE}

    def ready() -> bool:
        marker = folder / MARKER
        return marker.is_file() and json.loads(marker.read_text()) == want

    if ready():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"{folder.name}.partial-", dir=folder.parent))
    try:
        build(tmp, config)
        (tmp / MARKER).write_text(json.dumps(want, indent=2, sort_keys=True) + "\n")
        if not ready():
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
    except OSError:
        if not ready():  # not a lost race: a real failure
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


# ---------------------------------------------------------------- KWS


@dataclasses.dataclass(frozen=True)
class Speaker:
    """One espeak-ng rendering setup; `split` plays the role of a Speech Commands speaker's split."""

    number: int
    voice: str
    speed: int
    pitch: int
    split: str

    @property
    def id(self) -> str:
        """Stable 8-hex-digit name (crc32, not hash(): that is salted per process)."""
        return f"{zlib.crc32(f'{self.number}:{self.voice}:{self.speed}:{self.pitch}'.encode()):08x}"


def speakers(count: int, seed: int) -> list[Speaker]:
    """Seeded speakers; every tenth is validation and the next one test (10% each, disjoint by voice setup)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        voice = ESPEAK_VOICES[rng.integers(len(ESPEAK_VOICES))] + ESPEAK_VARIANTS[rng.integers(len(ESPEAK_VARIANTS))]
        split = "validation" if i % 10 == 3 else "test" if i % 10 == 7 else "train"
        out.append(Speaker(i, voice, int(rng.integers(120, 200)), int(rng.integers(20, 80)), split))
    return out


def espeak(word: str, speaker: Speaker) -> np.ndarray:
    """float32 16 kHz samples of `word` spoken by espeak-ng (22.05 kHz output, band-limited resampling)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DatasetError("espeak-ng", "not installed (apt-get install espeak-ng; scripts/setup.sh does it)")
    cmd = [exe, "-v", speaker.voice, "-s", str(speaker.speed), "-p", str(speaker.pitch), "--stdout", word]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    data = raw.find(b"data")  # espeak streams a canonical header with placeholder sizes
    rate = int.from_bytes(raw[24:28], "little")
    pcm = np.frombuffer(raw[data + 8 :], "<i2").astype(np.float64) / 32768.0
    return _trim(_resample(pcm, rate, RATE))


def _resample(signal: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited resampling by truncating/zero-extending the spectrum (exact for periodic signals)."""
    n = round(signal.size * target / rate)
    spectrum = np.fft.rfft(signal)[: n // 2 + 1]
    return np.fft.irfft(spectrum, n) * (n / signal.size)


def _trim(signal: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    loud = np.flatnonzero(np.abs(signal) > threshold * np.abs(signal).max())
    return signal[loud[0] : loud[-1] + 1] if loud.size else signal


def noises(seconds: int, seed: int) -> dict[str, np.ndarray]:
    """Generated background noise: white, pink (1/f), brown (1/f^2) and mains hum with hiss."""
    rng = np.random.default_rng(seed)
    n = seconds * RATE
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    out = {"white_noise": rng.normal(size=n)}
    for name, power in (("pink_noise", 1.0), ("brown_noise", 2.0)):
        spectrum = np.fft.rfft(rng.normal(size=n)) / np.maximum(freqs, 20.0) ** (power / 2)
        out[name] = np.fft.irfft(spectrum, n)
    t = np.arange(n) / RATE
    out["hum"] = sum(np.sin(2 * np.pi * 50 * h * t) / h for h in (1, 2, 3, 5)) + 0.2 * rng.normal(size=n)
    return {name: 0.5 * x / np.abs(x).max() for name, x in out.items()}


def _clip(utterance: np.ndarray, noise: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One 1 s clip: the word at a random place and gain, plus a random crop of noise at a low level."""
    utterance = utterance[:RATE]
    clip = np.zeros(RATE)
    start = rng.integers(0, RATE - utterance.size + 1)
    clip[start : start + utterance.size] = utterance * rng.uniform(0.3, 0.9) / np.abs(utterance).max()
    offset = rng.integers(0, noise.size - RATE + 1)
    return clip + rng.uniform(0.0, 0.03) * noise[offset : offset + RATE]


def _kws_jobs(config: DemoKwsConfig) -> list[tuple[str, str, Speaker]]:
    """(folder, word, speaker) for every espeak call: all speakers for keywords, a few per other word."""
    voices = speakers(config.voices, config.seed)
    jobs = [(word, word, s) for word in kws.WORDS for s in voices]
    for i, word in enumerate(UNKNOWN_WORDS):
        jobs += [
            (word, word, voices[(i * config.unknown_voices + j) % len(voices)]) for j in range(config.unknown_voices)
        ]
    return jobs


def _build_kws(root: pathlib.Path, config: DemoKwsConfig) -> None:
    background = noises(config.noise_seconds, config.seed)
    (root / kws.BACKGROUND_DIR).mkdir()
    for name, x in background.items():
        wav.write_pcm16(root / kws.BACKGROUND_DIR / f"{name}.wav", x, RATE)
    jobs = _kws_jobs(config)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        utterances = list(pool.map(lambda job: espeak(job[1], job[2]), jobs))
    lists = {"validation": [], "test": []}
    noise_list = list(background.values())
    for n, ((folder, _, speaker), utterance) in enumerate(zip(jobs, utterances)):
        (root / folder).mkdir(exist_ok=True)
        rng = np.random.default_rng([config.seed, n])
        for k in range(config.clips_per_voice):
            name = f"{folder}/{speaker.id}_nohash_{k}.wav"
            wav.write_pcm16(root / name, _clip(utterance, noise_list[rng.integers(len(noise_list))], rng), RATE)
            if speaker.split in lists:
                lists[speaker.split].append(name)
    (root / "validation_list.txt").write_text("".join(f"{x}\n" for x in lists["validation"]))
    (root / "testing_list.txt").write_text("".join(f"{x}\n" for x in lists["test"]))


def demo_kws(folder: os.PathLike | str | None = None, config: DemoKwsConfig = DemoKwsConfig()) -> pathlib.Path:
    """The demo Speech Commands folder (built on first use); read it with kws.index_speech_commands."""
    return _cached(pathlib.Path(folder or CACHE / "demo_kws").expanduser(), config, _build_kws)


# ---------------------------------------------------------------- VWW

PERSON_PHOTOS = ("astronaut", "camera")
OTHER_PHOTOS = (
    "coffee",
    "chelsea",
    "rocket",
    "coins",
    "moon",
    "page",
    "text",
    "horse",
    "clock",
    "hubble_deep_field",
    "immunohistochemistry",
    "stereo_motorcycle",
    "grass",
    "gravel",
    "brick",
    "colorwheel",
    "cell",
)


def _skimage_data():
    try:
        import skimage.data
    except ImportError:
        raise DatasetError("scikit-image", "not installed (pip install scikit-image)") from None
    return skimage.data


def _rgb_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == bool or image.dtype.kind == "f":
        image = np.round(image.astype(np.float64) * 255.0)
    image = image.astype(np.uint8)
    if image.ndim == 2:
        image = np.stack([image] * 3, -1)
    return image[..., :3]


def _random_crop(image: np.ndarray, rng: np.random.Generator, min_side: float) -> np.ndarray:
    """A crop whose sides are each >= min_side of the image's, flipped with probability 1/2."""
    h, w = image.shape[:2]
    ch, cw = (round(s * rng.uniform(min_side, 1.0)) for s in (h, w))
    top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    crop = image[top : top + ch, left : left + cw]
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def _save(image: np.ndarray, path: pathlib.Path, size: int | None) -> None:
    """Write an image; a crc32 prefix mixes the sources in sorted order (the loader's split takes the first 10%)."""
    from PIL import Image

    path = path.with_name(f"{zlib.crc32(path.name.encode()):08x}_{path.name}")
    picture = Image.fromarray(np.ascontiguousarray(image))
    if size:
        picture = picture.resize((size, size), Image.BILINEAR)
    picture.save(path, quality=90) if path.suffix == ".jpg" else picture.save(path)


def _photo(data, name: str) -> np.ndarray:
    image = getattr(data, name)()
    return _rgb_uint8(image[0] if isinstance(image, tuple) else image)


def _build_vww(root: pathlib.Path, config: DemoVwwConfig) -> None:
    data = _skimage_data()
    rng = np.random.default_rng(config.seed)
    for name in ("person", "non_person"):
        (root / name).mkdir()
    # lfw_subset: the first 100 images are faces, the next 100 non-faces (its docstring), 25x25 grey.
    lfw = _rgb_uint8(data.lfw_subset())
    for i, image in enumerate(lfw):
        folder = root / ("person" if i < 100 else "non_person")
        _save(image, folder / f"lfw_{i:03d}_0.png", None)
        for k in range(1, config.lfw_crops):
            _save(_random_crop(image, rng, 0.8), folder / f"lfw_{i:03d}_{k}.png", 25)
    for names, folder, crops in (
        (PERSON_PHOTOS, "person", config.person_photo_crops),
        (OTHER_PHOTOS, "non_person", config.other_photo_crops),
    ):
        for name in names:
            # Person photos keep >= 70% of each side, so the person stays in frame.
            image = _photo(data, name)
            for k in range(crops):
                _save(_random_crop(image, rng, 0.7), root / folder / f"{name}_{k:02d}.jpg", config.size)


def demo_vww(folder: os.PathLike | str | None = None, config: DemoVwwConfig = DemoVwwConfig()) -> pathlib.Path:
    """The demo VWW folder (person/, non_person/; built on first use); read it with vww.index_vww."""
    return _cached(pathlib.Path(folder or CACHE / "demo_vww").expanduser(), config, _build_vww)

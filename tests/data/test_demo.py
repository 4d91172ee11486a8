"""Offline demo data: generated deterministically, cached, and loadable by the real loaders (small settings)."""

import shutil

import numpy as np
import pytest

from mcunet_tf.datasets import demo, kws, vww

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed (scripts/setup.sh)"
)
SMALL_KWS = demo.DemoKwsConfig(voices=10, clips_per_voice=1, unknown_voices=1, noise_seconds=2)
SMALL_VWW = demo.DemoVwwConfig(lfw_crops=1, person_photo_crops=2, other_photo_crops=1, size=32)


def tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@needs_espeak
def test_demo_kws_is_a_loadable_speech_commands_folder(tmp_path):
    root = demo.demo_kws(tmp_path / "demo_kws", SMALL_KWS)
    index = kws.index_speech_commands(root)
    # 10 speakers: #3 validation, #7 test, the rest training; one clip per keyword each.
    for split, per_word in (("train", 8), ("validation", 1), ("test", 1)):
        counts = index.counts(split)
        assert all(counts[w] == per_word for w in kws.WORDS), (split, counts)
        assert counts[kws.SILENCE] == per_word  # ceil(0.1 * 10 * per_word)
        assert counts[kws.UNKNOWN] == per_word
    assert len(index.background) == 4
    x, label = next(kws.kws_dataset(index, "test").as_numpy_iterator())
    assert x.shape == (49, 10, 1) and np.isfinite(x).all() and 0 <= label < 12
    assert demo.DEMO_NOTE in (root / demo.MARKER).read_text()
    # Cached: a second call reuses the folder as it is.
    stamp = (root / "yes").stat().st_mtime_ns
    assert demo.demo_kws(tmp_path / "demo_kws", SMALL_KWS) == root
    assert (root / "yes").stat().st_mtime_ns == stamp


@needs_espeak
def test_espeak_and_clip_generation_are_deterministic():
    speaker = demo.speakers(3, seed=5)[2]
    assert speaker == demo.speakers(3, seed=5)[2] and speaker.id == demo.speakers(3, seed=5)[2].id
    one, two = demo.espeak("left", speaker), demo.espeak("left", speaker)
    np.testing.assert_array_equal(one, two)
    assert 0.1 * 16000 < one.size < 16000
    noise = demo.noises(1, seed=0)["pink_noise"]
    np.testing.assert_array_equal(
        demo._clip(one, noise, np.random.default_rng(1)), demo._clip(one, noise, np.random.default_rng(1))
    )


def test_demo_vww_is_deterministic_and_loadable(tmp_path):
    root = demo.demo_vww(tmp_path / "a", SMALL_VWW)
    assert tree(root) == tree(demo.demo_vww(tmp_path / "b", SMALL_VWW))
    index = vww.index_vww(root)
    total = {name: index.counts("train")[name] + index.counts("validation")[name] for name in vww.CLASSES}
    # 100 LFW faces + 2 photos x 2 crops; 100 LFW non-faces + 17 photos x 1 crop.
    assert total == {"person": 104, "non_person": 117}
    x, label = next(vww.vww_dataset(index, "validation", vww.VwwConfig(resolution=32)).as_numpy_iterator())
    assert x.shape == (32, 32, 3) and label in (0, 1)


def test_cache_rebuilds_when_the_config_changes(tmp_path):
    root = demo.demo_vww(tmp_path / "v", SMALL_VWW)
    before = len(list(root.rglob("*.jpg")))
    bigger = demo.DemoVwwConfig(lfw_crops=1, person_photo_crops=3, other_photo_crops=1, size=32)
    assert len(list(demo.demo_vww(tmp_path / "v", bigger).rglob("*.jpg"))) == before + 2

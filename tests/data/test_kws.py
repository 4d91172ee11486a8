"""Speech Commands loader on tiny fixtures in the real layout: labels, shapes, splits, augmentation, errors."""

import numpy as np
import pytest

from mcunet_tf.datasets import DatasetError, features, kws, wav
from tests.data import fixtures
from tests.data.test_features import FLOAT_TOLERANCE

LABELS = kws.KwsConfig().labels


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return fixtures.speech_commands(tmp_path_factory.mktemp("kws") / "speech_commands")


@pytest.fixture(scope="module")
def index(root):
    return kws.index_speech_commands(root)


def test_labels_follow_the_mlperf_model():
    assert LABELS[5] == "on" and LABELS[10] == kws.SILENCE and LABELS[11] == kws.UNKNOWN
    assert len(LABELS) == 12


def test_splits_follow_the_lists(root, index):
    validation = set((root / "validation_list.txt").read_text().split())
    test = set((root / "testing_list.txt").read_text().split())
    for split, listed in (("validation", validation), ("test", test)):
        names = {name for name, _ in index.splits[split] if name}
        keywords = {name for name in listed if name.split("/")[0] in kws.WORDS}
        assert keywords <= names <= listed
    train = {name for name, _ in index.splits["train"] if name}
    assert not train & (validation | test)
    # Folder = label for keywords; other words are unknown.
    for split in kws.SPLITS:
        for name, label in index.splits[split]:
            word = name.split("/")[0] if name else kws.SILENCE
            assert LABELS[label] == (word if word in kws.WORDS or word == kws.SILENCE else kws.UNKNOWN)


def test_unknown_and_silence_shares(root):
    config = kws.KwsConfig(unknown_share=0.2, silence_share=0.3)
    counts = kws.index_speech_commands(root, config).counts("train")
    assert counts[kws.SILENCE] == 3  # ceil(0.3 * 10 keyword clips)
    assert counts[kws.UNKNOWN] == 2  # ceil(0.2 * 10), from the 2 unknown training clips
    assert all(counts[w] == 1 for w in kws.WORDS)
    none = kws.index_speech_commands(root, kws.KwsConfig(unknown_share=0, silence_share=0)).counts("train")
    assert none[kws.SILENCE] == none[kws.UNKNOWN] == 0


def test_evaluation_items_load_unaugmented_with_labels_and_shapes(root, index):
    items = list(kws.kws_dataset(index, "validation").as_numpy_iterator())
    audio = list(kws.kws_audio_dataset(index, "validation").as_numpy_iterator())
    assert [int(label) for _, label in items] == [label for _, label in index.splits["validation"]]
    config = features.FeatureConfig()
    for (x, _), (a, _), (name, _) in zip(items, audio, index.splits["validation"]):
        assert x.shape == (49, 10, 1) and x.dtype == np.float32 and np.isfinite(x).all()
        if name:  # keyword/unknown clips: exactly the file as decoded, zero-padded
            expected = features.fit_clip(features.pcm16_to_float(wav.read_pcm16(root / name, 16000)), config)
            np.testing.assert_array_equal(a, expected)
        # Inside tf.data (graph mode) TF may sum in another order than eagerly: float32 rounding only.
        np.testing.assert_allclose(x, features.tf_features(a, config).numpy(), rtol=0, atol=FLOAT_TOLERANCE)


def test_evaluation_is_repeatable_and_silence_is_noise(index):
    first = list(kws.kws_audio_dataset(index, "test").as_numpy_iterator())
    second = list(kws.kws_audio_dataset(index, "test").as_numpy_iterator())
    for (a, _), (b, _) in zip(first, second):
        np.testing.assert_array_equal(a, b)
    silence = [a for a, label in first if LABELS[label] == kws.SILENCE]
    assert silence and all(np.abs(a).max() > 0 for a in silence)
    for a, _ in first:  # every clip is int16 PCM / 32768
        np.testing.assert_array_equal(a * 32768, np.round(a * 32768))


def test_training_augments_differently_each_epoch_but_reproducibly(index):
    ds = kws.kws_audio_dataset(index, "train")
    epoch1 = sorted((int(label), a.tobytes()) for a, label in ds.as_numpy_iterator())
    epoch2 = sorted((int(label), a.tobytes()) for a, label in ds.as_numpy_iterator())
    assert epoch1 != epoch2
    again = sorted((int(label), a.tobytes()) for a, label in kws.kws_audio_dataset(index, "train").as_numpy_iterator())
    assert again == epoch1
    assert sorted(label for label, _ in epoch1) == sorted(label for _, label in index.splits["train"])


def test_no_background_folder_means_zero_silence(tmp_path):
    index = kws.index_speech_commands(fixtures.speech_commands(tmp_path / "sc", background=False))
    assert index.background == ()
    silence = [a for a, label in kws.kws_audio_dataset(index, "test").as_numpy_iterator() if label == 10]
    assert silence and all(not a.any() for a in silence)


def test_log_mel_features_shape(index):
    config = features.FeatureConfig(num_coefficients=0)
    x, _ = next(kws.kws_dataset(index, "test", feature_config=config).as_numpy_iterator())
    assert x.shape == (49, 40, 1)


# ---------------------------------------------------------------- errors


def expect_error(root, match, **kwargs):
    with pytest.raises(DatasetError, match=match) as info:
        kws.index_speech_commands(root, **kwargs)
    assert "\n" not in str(info.value)
    return info.value


def test_missing_folder(tmp_path):
    error = expect_error(tmp_path / "nope", "Speech Commands folder not found")
    assert error.path == str(tmp_path / "nope")


def test_no_wavs(tmp_path):
    (tmp_path / "yes").mkdir()
    (tmp_path / "yes" / "readme.txt").write_text("x")
    expect_error(tmp_path, "no word folders with .wav files")


def test_missing_keyword(tmp_path):
    root = fixtures.speech_commands(tmp_path / "sc", words=kws.WORDS[:-1])
    expect_error(root, "no clips for keyword 'yes'")


def test_wrong_sample_rate(tmp_path):
    root = fixtures.speech_commands(tmp_path / "sc")
    wav.write_pcm16(root / "go" / "bad_nohash_0.wav", fixtures.tone(300, 0.5, 8000), 8000)
    error = expect_error(root, "sample rate 8000 Hz, expected 16000 Hz")
    assert error.path.endswith("go/bad_nohash_0.wav")


def test_unreadable_wav(tmp_path):
    root = fixtures.speech_commands(tmp_path / "sc")
    (root / "up" / "broken.wav").write_bytes(b"not a wav at all")
    expect_error(root, "broken.wav: unreadable WAV file")


def test_list_naming_a_missing_file(tmp_path):
    root = fixtures.speech_commands(tmp_path / "sc")
    with open(root / "testing_list.txt", "a") as f:
        f.write("yes/ghost_nohash_0.wav\n")
    expect_error(root, "testing_list.txt: line 13 names 'yes/ghost_nohash_0.wav'")


def test_missing_list(tmp_path):
    root = fixtures.speech_commands(tmp_path / "sc")
    (root / "validation_list.txt").unlink()
    expect_error(root, "missing validation list")


def test_empty_background_folder(tmp_path):
    root = fixtures.speech_commands(tmp_path / "sc")
    (root / kws.BACKGROUND_DIR / "white_noise.wav").unlink()
    expect_error(root, "background noise folder has no .wav files")


def test_empty_split(tmp_path):
    root = fixtures.speech_commands(tmp_path / "sc")
    (root / "testing_list.txt").write_text("")
    index = kws.index_speech_commands(root, kws.KwsConfig(words=("bed",), unknown_share=0, silence_share=0))
    # bed's test clip is training data now; cat is unknown but its share is 0
    assert index.counts("train")["bed"] == 2
    with pytest.raises(DatasetError, match="the test split is empty"):
        kws.kws_dataset(index, "test")

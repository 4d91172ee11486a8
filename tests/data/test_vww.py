"""VWW loader on tiny image folders and TFRecords in the real layouts: labels, shapes, splits, errors."""

import numpy as np
import pytest

from mcunet_tf.datasets import DatasetError, vww
from tests.data import fixtures


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return fixtures.vww_folders(tmp_path_factory.mktemp("vww") / "vw_coco", per_class=5)


def test_folder_split_and_labels(root):
    index = vww.index_vww(root, vww.VwwConfig(validation_fraction=0.4))
    # The first 40% of each class's sorted names is validation (Keras validation_split).
    assert index.counts("validation") == {"non_person": 2, "person": 2}
    assert index.counts("train") == {"non_person": 3, "person": 3}
    validation = [p.rsplit("/", 2)[-2:] for p, _ in index.images["validation"]]
    assert validation == [
        ["non_person", "img_00.jpg"],
        ["non_person", "img_01.jpg"],
        ["person", "img_00.png"],
        ["person", "img_01.png"],
    ]


def test_evaluation_images_are_resized_unit_range(root):
    config = vww.VwwConfig(resolution=24, validation_fraction=0.4)
    items = list(vww.vww_dataset(root, "validation", config).as_numpy_iterator())
    assert [int(label) for _, label in items] == [0, 0, 1, 1]
    for x, _ in items:
        assert x.shape == (24, 24, 3) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
    again = list(vww.vww_dataset(root, "validation", config).as_numpy_iterator())
    for (a, _), (b, _) in zip(items, again):
        np.testing.assert_array_equal(a, b)


def test_png_pixels_survive_an_identity_resize(root):
    """img_02.png is 40x40: at resolution 40 the loader returns exactly its pixels / 255."""
    config = vww.VwwConfig(resolution=40, validation_fraction=0.0)
    index = vww.index_vww(root, config)
    labelled = dict(index.images["train"])
    x = [x for x, _ in vww.vww_dataset(index, "train", config, training=False).as_numpy_iterator()]
    position = list(labelled).index(str(root / "person" / "img_02.png"))
    np.testing.assert_allclose(x[position] * 255.0, fixtures.image(12, 40, 40), atol=1e-3)


def test_training_augments(root):
    config = vww.VwwConfig(resolution=16, validation_fraction=0.4)
    ds = vww.vww_dataset(root, "train", config)
    epoch1 = sorted((int(label), x.tobytes()) for x, label in ds.as_numpy_iterator())
    epoch2 = sorted((int(label), x.tobytes()) for x, label in ds.as_numpy_iterator())
    assert [label for label, _ in epoch1] == [0, 0, 0, 1, 1, 1]
    assert epoch1 != epoch2


def test_tfrecords(tmp_path):
    root = fixtures.vww_records(tmp_path / "records", {"train": [1, 0, 1], "val": [0, 1]})
    index = vww.index_vww(root)
    assert index.images == {} and len(index.records["train"]) == 1
    config = vww.VwwConfig(resolution=20)
    train = list(vww.vww_dataset(index, "train", config, training=False).as_numpy_iterator())
    assert [int(label) for _, label in train] == [1, 0, 1]
    assert train[0][0].shape == (20, 20, 3)
    validation = list(vww.vww_dataset(index, "validation", config).as_numpy_iterator())
    assert [int(label) for _, label in validation] == [0, 1]


def test_tfrecords_missing_split(tmp_path):
    root = fixtures.vww_records(tmp_path / "records", {"train": [1]})
    with pytest.raises(DatasetError, match="no val\\* TFRecord files for the validation split"):
        vww.vww_dataset(root, "validation")


# ---------------------------------------------------------------- errors


def expect_error(root, match):
    with pytest.raises(DatasetError, match=match) as info:
        vww.index_vww(root)
    assert "\n" not in str(info.value)
    return info.value


def test_missing_folder(tmp_path):
    assert expect_error(tmp_path / "absent", "Visual Wake Words folder not found").path == str(tmp_path / "absent")


def test_neither_layout(tmp_path):
    (tmp_path / "cats").mkdir()
    expect_error(tmp_path, "no person/ and non_person/ folders and no TFRecord files")


def test_missing_class(tmp_path):
    root = fixtures.vww_folders(tmp_path / "v", per_class=2)
    for f in (root / "non_person").iterdir():
        f.unlink()
    (root / "non_person").rmdir()
    assert expect_error(root, "missing class folder").path.endswith("non_person")


def test_class_without_images(tmp_path):
    root = fixtures.vww_folders(tmp_path / "v", per_class=2)
    for f in (root / "person").iterdir():
        f.unlink()
    expect_error(root, "person: no images")


def test_unreadable_image(tmp_path):
    root = fixtures.vww_folders(tmp_path / "v", per_class=2)
    (root / "person" / "zz.jpg").write_text("<html>404</html>")
    assert expect_error(root, "unreadable image: not JPEG/PNG/GIF/BMP").path.endswith("zz.jpg")

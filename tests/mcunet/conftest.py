"""Shared fixtures: a tiny search space so the supernet tests run in seconds on shared CPUs."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest  # noqa: E402

from mcunet_tf.config import SearchSpace  # noqa: E402


def tiny_space(**overrides) -> SearchSpace:
    """Four stages (strides 2,2,2,1), widths 0.25/0.35, resolutions 32/48, 4 classes."""
    fields = dict(width_choices=(0.25, 0.35), resolution_choices=(32, 48), num_classes=4,
                  stage_channels=(24, 40, 80, 96), stage_strides=(2, 2, 2, 1), depth_choices=(2, 3))
    fields.update(overrides)
    return SearchSpace(**fields)


@pytest.fixture
def space() -> SearchSpace:
    return tiny_space()

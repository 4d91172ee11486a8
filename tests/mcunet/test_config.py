"""SearchSpace / SubnetConfig: JSON round trip, validation errors, and the per-block walk."""

import dataclasses

import numpy as np
import pytest

from mcunet_tf.config import ConfigError, SearchSpace, SubnetConfig, make_divisible
from tests.mcunet.conftest import tiny_space


@pytest.mark.parametrize("seed", range(5))
def test_json_round_trip_of_sampled_configs(space, seed):
    config = space.sample(np.random.default_rng(seed))
    assert SubnetConfig.from_json(config.to_json()) == config
    assert SubnetConfig.from_json(config.to_json()).to_json() == config.to_json()


def test_json_round_trip_of_default_space_extremes():
    space = SearchSpace()
    for config in (space.largest(), space.smallest()):
        assert SubnetConfig.from_json(config.to_json()) == config


def test_largest_and_smallest_use_the_extreme_choices(space):
    big, small = space.largest(), space.smallest()
    assert (big.resolution, big.width, set(big.depths)) == (48, 0.35, {3})
    assert {k for stage in big.kernels for k in stage} == {7} and {e for s in big.expands for e in s} == {6}
    assert (small.resolution, small.width, set(small.depths)) == (32, 0.25, {2})
    assert {k for stage in small.kernels for k in stage} == {3} and {e for s in small.expands for e in s} == {3}


def test_sample_is_deterministic_and_covers_choices(space):
    first = [space.sample(np.random.default_rng(7)) for _ in range(2)]
    assert first[0] == first[1]
    rng = np.random.default_rng(0)
    kernels = {k for _ in range(30) for stage in space.sample(rng).kernels for k in stage}
    assert kernels == set(space.kernel_choices)


def _with(config, **changes):
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    fields.update(changes)
    return SubnetConfig(**fields)


@pytest.mark.parametrize("changes, message", [
    (dict(resolution=40), "SubnetConfig.resolution = 40 is not one of (32, 48)"),
    (dict(width=0.5), "SubnetConfig.width = 0.5 is not one of (0.25, 0.35)"),
    (dict(depths=(2, 2, 2)), "depths has 3 stages (2, 2, 2)"),
    (dict(depths=(2, 2, 2, 4)), "SubnetConfig.depths[3] = 4 is not one of (2, 3)"),
    (dict(kernels=((3, 4),) + ((3, 3),) * 3), "SubnetConfig.kernels[0][1] = 4 is not one of (3, 5, 7)"),
    (dict(expands=((3, 3, 3),) + ((3, 3),) * 3), "SubnetConfig.expands[0] must list 2 blocks"),
])
def test_invalid_subnet_configs_name_the_value(space, changes, message):
    with pytest.raises(ConfigError) as error:
        _with(space.smallest(), **changes)
    assert message in str(error.value)


@pytest.mark.parametrize("changes, message", [
    (dict(kernel_choices=(3, 4)), "kernel_choices must be odd"),
    (dict(expand_choices=(6, 3)), "expand_choices must be strictly increasing, got (6, 3)"),
    (dict(depth_choices=()), "depth_choices must not be empty"),
    (dict(stage_strides=(2, 2, 3, 1)), "stage_strides must be 1 or 2, got (2, 2, 3, 1)"),
    (dict(stage_strides=(2, 2)), "must be non-empty and of equal length"),
    (dict(num_classes=0), "num_classes must be a positive int, got 0"),
])
def test_invalid_search_spaces_name_the_value(changes, message):
    with pytest.raises(ConfigError) as error:
        tiny_space(**changes)
    assert message in str(error.value)


def test_from_json_rejects_bad_documents(space):
    with pytest.raises(ConfigError, match="not JSON"):
        SubnetConfig.from_json("{nope")
    text = space.smallest().to_json().replace('"width"', '"widht"')
    with pytest.raises(ConfigError, match="expected keys"):
        SubnetConfig.from_json(text)


def test_blocks_chain_channels_and_resolutions(space):
    config = space.sample(np.random.default_rng(3))
    blocks = config.blocks()
    stem, first, stages = config.channels()
    assert len(blocks) == 1 + sum(config.depths)
    assert (blocks[0].in_channels, blocks[0].out_channels, blocks[0].expand) == (stem, first, 1)
    assert blocks[0].resolution == config.resolution // 2
    for before, after in zip(blocks, blocks[1:], strict=False):
        assert after.in_channels == before.out_channels
        assert after.resolution == before.out_resolution
    for block in blocks[1:]:
        assert block.out_channels == stages[block.stage]
        assert block.kernel == config.kernels[block.stage][block.index]
        assert block.mid_channels == make_divisible(block.in_channels * block.expand)
        assert block.residual == (block.index > 0)
        if block.residual:
            assert block.stride == 1 and block.in_channels == block.out_channels
    assert blocks[-1].out_resolution == config.resolution // 16  # strides 2 (stem), 2, 2, 2, 1
    assert config.feature_channels == blocks[-1].out_channels


def test_make_divisible_matches_mobilenet_rounding():
    assert [make_divisible(v) for v in (4, 8, 11.9, 12, 20, 35, 0.35 * 320)] == [8, 8, 16, 16, 24, 32, 112]

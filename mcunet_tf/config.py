"""TinyNAS search space and subnet configurations (MCUNet / ProxylessNAS style).

A network in this space is: a 3x3 stride-2 stem convolution, a fixed first MBConv block (expand 1,
3x3 depthwise), then stages of MBConv blocks (1x1 expand, kxk depthwise, 1x1 linear projection, ReLU6),
then global average pooling and a classifier. A `SubnetConfig` picks, for one `SearchSpace`, the input
resolution, the width multiplier, the depth of each stage and the kernel size and expand ratio of each
block. It is plain data: JSON round trip, validated on construction, and `blocks()` lists the concrete
per-block shapes that the supernet, `extract` and the cost estimator all walk.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import numpy as np


class ConfigError(ValueError):
    """A search space or subnet configuration is invalid."""


# How supernets train and candidates are scored: "compiled" (one traced graph, the default) or
# "eager" (the former Python-driven step, kept for comparison). Here, free of TensorFlow, so the
# apps can check the environment before importing it.
STEP_KINDS = ("compiled", "eager")


def step_kind_from_env() -> str:
    """MCUNET_TF_STEP ("compiled" when unset or empty, or "eager"); raises ConfigError on other values."""
    kind = os.environ.get("MCUNET_TF_STEP", "") or "compiled"
    if kind not in STEP_KINDS:
        raise ConfigError(f"MCUNET_TF_STEP must be one of {STEP_KINDS}, got {kind!r}")
    return kind


def make_divisible(value: float, divisor: int = 8) -> int:
    """Rounds a channel count to a multiple of `divisor` as MobileNetV2 does (never below -10%).

    Monotone in `value`, so a narrower width never needs more channels than the supernet holds.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _sorted_unique(name: str, values: Any, kind: type) -> tuple:
    values = tuple(values)
    if not values:
        raise ConfigError(f"SearchSpace.{name} must not be empty, got {values!r}")
    if any(not isinstance(v, kind) or isinstance(v, bool) for v in values):
        raise ConfigError(f"SearchSpace.{name} must hold {kind.__name__} values, got {values!r}")
    if tuple(sorted(set(values))) != values:
        raise ConfigError(f"SearchSpace.{name} must be strictly increasing, got {values!r}")
    return values


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The choices a subnet may take and the fixed macro-architecture around them.

    Attributes:
        kernel_choices: depthwise kernel sizes (odd), per block.
        expand_choices: MBConv expand ratios, per block.
        depth_choices: number of blocks, per stage (the first d blocks of the stage run).
        width_choices: width multipliers applied to every channel count, per network.
        resolution_choices: square input resolutions, per network.
        stem_channels: stem output channels at width 1.0.
        first_block_channels: output channels of the fixed first block at width 1.0.
        stage_channels: output channels of each stage at width 1.0.
        stage_strides: stride of the first block of each stage.
        num_classes: classifier outputs.
        input_channels: image channels.
    """

    kernel_choices: tuple[int, ...] = (3, 5, 7)
    expand_choices: tuple[int, ...] = (3, 4, 6)
    depth_choices: tuple[int, ...] = (2, 3, 4)
    width_choices: tuple[float, ...] = (0.5, 0.75, 1.0)
    resolution_choices: tuple[int, ...] = (96, 112, 128, 144, 160, 176)
    stem_channels: int = 32
    first_block_channels: int = 16
    stage_channels: tuple[int, ...] = (24, 40, 80, 96, 192, 320)
    stage_strides: tuple[int, ...] = (2, 2, 2, 1, 2, 1)
    num_classes: int = 1000
    input_channels: int = 3

    def __post_init__(self):
        for name, kind in (("kernel_choices", int), ("expand_choices", int), ("depth_choices", int),
                           ("width_choices", float), ("resolution_choices", int),
                           ("stage_channels", int), ("stage_strides", int)):
            values = tuple(getattr(self, name))
            if name == "width_choices":
                values = tuple(float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                               for v in values)
            if name in ("stage_channels", "stage_strides"):
                values = tuple(values)
            else:
                values = _sorted_unique(name, values, kind)
            object.__setattr__(self, name, values)
        self._check_values()

    def _check_values(self):
        if any(k % 2 == 0 or k < 1 for k in self.kernel_choices):
            raise ConfigError(f"SearchSpace.kernel_choices must be odd and positive, got {self.kernel_choices}")
        if self.expand_choices[0] < 1 or self.depth_choices[0] < 1 or self.width_choices[0] <= 0:
            raise ConfigError(
                f"SearchSpace choices must be positive: expand {self.expand_choices}, "
                f"depth {self.depth_choices}, width {self.width_choices}")
        if len(self.stage_channels) != len(self.stage_strides) or not self.stage_channels:
            raise ConfigError(f"SearchSpace.stage_channels {self.stage_channels} and stage_strides "
                              f"{self.stage_strides} must be non-empty and of equal length")
        if any(s not in (1, 2) for s in self.stage_strides):
            raise ConfigError(f"SearchSpace.stage_strides must be 1 or 2, got {self.stage_strides}")
        for name in ("stem_channels", "first_block_channels", "num_classes", "input_channels"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"SearchSpace.{name} must be a positive int, got {getattr(self, name)!r}")

    @property
    def num_stages(self) -> int:
        return len(self.stage_channels)

    def channels(self, width: float) -> tuple[int, int, tuple[int, ...]]:
        """Returns (stem, first block, per-stage) channel counts at width multiplier `width`."""
        stages = tuple(make_divisible(c * width) for c in self.stage_channels)
        return make_divisible(self.stem_channels * width), make_divisible(self.first_block_channels * width), stages

    def largest(self) -> SubnetConfig:
        """The subnet using the largest choice everywhere (it touches every supernet weight)."""
        return self._uniform(-1)

    def smallest(self) -> SubnetConfig:
        """The subnet using the smallest choice everywhere."""
        return self._uniform(0)

    def _uniform(self, pick: int) -> SubnetConfig:
        depth = self.depth_choices[pick]
        return SubnetConfig(
            space=self, resolution=self.resolution_choices[pick], width=self.width_choices[pick],
            depths=(depth,) * self.num_stages,
            kernels=((self.kernel_choices[pick],) * depth,) * self.num_stages,
            expands=((self.expand_choices[pick],) * depth,) * self.num_stages)

    def sample(self, rng: np.random.Generator) -> SubnetConfig:
        """Draws a subnet uniformly per choice (numpy Generator, so workers seeded alike agree)."""
        def pick(choices):
            return choices[int(rng.integers(len(choices)))]

        depths = tuple(pick(self.depth_choices) for _ in range(self.num_stages))
        return SubnetConfig(
            space=self, resolution=pick(self.resolution_choices), width=pick(self.width_choices),
            depths=depths,
            kernels=tuple(tuple(pick(self.kernel_choices) for _ in range(d)) for d in depths),
            expands=tuple(tuple(pick(self.expand_choices) for _ in range(d)) for d in depths))

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> SearchSpace:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"SearchSpace: unknown keys {unknown}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclasses.dataclass(frozen=True)
class BlockSpec:
    """One MBConv block of a concrete subnet, as the supernet, `extract` and cost models see it.

    Attributes:
        name: stable layer-name prefix ("first" or "s{stage}b{index}").
        stage: stage index, -1 for the fixed first block.
        index: block index inside the stage.
        in_channels, mid_channels, out_channels: channel counts (mid == in when expand == 1).
        expand: expand ratio (1 means there is no 1x1 expand convolution).
        kernel: depthwise kernel size.
        stride: depthwise stride.
        resolution: input height == width of the block.
        out_resolution: output height == width (TFLite SAME padding: ceil(resolution / stride)).
        residual: whether the block adds its input to its output.
    """

    name: str
    stage: int
    index: int
    in_channels: int
    mid_channels: int
    out_channels: int
    expand: int
    kernel: int
    stride: int
    resolution: int
    out_resolution: int
    residual: bool


@dataclasses.dataclass(frozen=True)
class SubnetConfig:
    """One architecture in a `SearchSpace`.

    Attributes:
        space: the search space this subnet belongs to (kept so the config is self-contained).
        resolution: input height == width.
        width: width multiplier.
        depths: blocks per stage.
        kernels: per stage, the depthwise kernel of each of its `depths[i]` blocks.
        expands: per stage, the expand ratio of each of its `depths[i]` blocks.
    """

    space: SearchSpace
    resolution: int
    width: float
    depths: tuple[int, ...]
    kernels: tuple[tuple[int, ...], ...]
    expands: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        object.__setattr__(self, "depths", tuple(self.depths))
        object.__setattr__(self, "kernels", tuple(tuple(k) for k in self.kernels))
        object.__setattr__(self, "expands", tuple(tuple(e) for e in self.expands))
        self._validate()

    def _validate(self):
        space = self.space
        _check_choice("resolution", self.resolution, space.resolution_choices)
        _check_choice("width", self.width, space.width_choices)
        if len(self.depths) != space.num_stages:
            raise ConfigError(f"SubnetConfig.depths has {len(self.depths)} stages {self.depths}, "
                              f"the search space has {space.num_stages}")
        for stage, depth in enumerate(self.depths):
            _check_choice(f"depths[{stage}]", depth, space.depth_choices)
            for name, per_block, choices in (("kernels", self.kernels, space.kernel_choices),
                                             ("expands", self.expands, space.expand_choices)):
                if len(per_block) != space.num_stages or len(per_block[stage]) != depth:
                    raise ConfigError(f"SubnetConfig.{name}[{stage}] must list {depth} blocks "
                                      f"(depths[{stage}] = {depth}), got {per_block[stage:stage + 1]}")
                for index, value in enumerate(per_block[stage]):
                    _check_choice(f"{name}[{stage}][{index}]", value, choices)

    def channels(self) -> tuple[int, int, tuple[int, ...]]:
        """Returns (stem, first block, per-stage) channel counts at this subnet's width."""
        return self.space.channels(self.width)

    @property
    def stem_resolution(self) -> int:
        """Output resolution of the stride-2 stem (SAME padding)."""
        return -(-self.resolution // 2)

    @property
    def feature_channels(self) -> int:
        """Channels entering global average pooling and the classifier."""
        return self.channels()[2][-1]

    def blocks(self) -> tuple[BlockSpec, ...]:
        """The concrete MBConv blocks in execution order, the fixed first block included."""
        stem, first, stage_channels = self.channels()
        resolution = self.stem_resolution
        specs = [BlockSpec("first", -1, 0, stem, stem, first, 1, 3, 1, resolution, resolution, False)]
        in_channels = first
        for stage, depth in enumerate(self.depths):
            for index in range(depth):
                stride = self.space.stage_strides[stage] if index == 0 else 1
                expand, out_res = self.expands[stage][index], -(-resolution // stride)
                specs.append(BlockSpec(
                    f"s{stage}b{index}", stage, index, in_channels, make_divisible(in_channels * expand),
                    stage_channels[stage], expand, self.kernels[stage][index], stride, resolution, out_res,
                    residual=index > 0))
                in_channels, resolution = stage_channels[stage], out_res
        return tuple(specs)

    def to_dict(self) -> dict:
        return {"space": self.space.to_dict(), "resolution": self.resolution, "width": self.width,
                "depths": list(self.depths), "kernels": _plain(self.kernels), "expands": _plain(self.expands)}

    def to_json(self) -> str:
        """Serialises the config (search space included) as JSON."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> SubnetConfig:
        expected = {f.name for f in dataclasses.fields(cls)}
        if set(data) != expected:
            raise ConfigError(f"SubnetConfig: expected keys {sorted(expected)}, got {sorted(data)}")
        fields = dict(data, space=SearchSpace.from_dict(data["space"]))
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str) -> SubnetConfig:
        """Parses `to_json` output; raises ConfigError for anything invalid."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"SubnetConfig.from_json: not JSON ({error}): {text[:80]!r}") from error
        if not isinstance(data, dict):
            raise ConfigError(f"SubnetConfig.from_json: expected an object, got {text[:80]!r}")
        return cls.from_dict(data)


def _check_choice(name: str, value, choices: tuple):
    if isinstance(value, bool) or value not in choices:
        raise ConfigError(f"SubnetConfig.{name} = {value!r} is not one of {choices}")


def _plain(value):
    """Tuples (nested) to lists for JSON."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value

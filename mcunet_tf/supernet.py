"""The TinyNAS supernet (shared weights for every subnet), subnet extraction and BN recalibration.

`Supernet(space)` holds weights at the largest choice; `set_active(config)` (or `config=` in the call)
picks the subnet it computes. `extract(supernet, config)` returns a plain Keras model built from
standard layers (Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Add, GlobalAveragePooling2D,
Dense) holding the inherited weights, ready for tfmot QAT and the TFLite converter.
`recalibrate_bn(model, dataset, steps)` then re-estimates its BatchNorm statistics. All three walk
`SubnetConfig.blocks()`, so they agree on the structure by construction.
"""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from mcunet_tf.config import BlockSpec, ConfigError, SearchSpace, SubnetConfig, make_divisible  # noqa: E402
from mcunet_tf.elastic import (  # noqa: E402
    ElasticBatchNormalization,
    ElasticConv2D,
    ElasticDense,
    ElasticDepthwiseConv2D,
)


class ElasticMBConv(keras.layers.Layer):
    """MBConv: [1x1 expand, BN, ReLU6], kxk depthwise, BN, ReLU6, 1x1 project, BN, [+ input].

    The expand convolution runs only when the active expand ratio is above 1 (the fixed first block).
    `residual` is structural (every block but the first of a stage), as in `BlockSpec`.
    """

    def __init__(self, max_in_channels: int, max_out_channels: int, max_expand: int, kernel_choices,
                 strides: int, residual: bool, kernel_transform: bool = False, bn_momentum: float = 0.9,
                 bn_epsilon: float = 1e-3, min_expand: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if residual and strides != 1:
            raise ValueError(f"{self.name}: a residual block needs stride 1, got strides={strides}")
        self.max_in_channels, self.max_out_channels, self.max_expand = max_in_channels, max_out_channels, max_expand
        self.min_expand = int(min_expand or max_expand)
        self.kernel_choices, self.strides, self.residual = tuple(kernel_choices), strides, bool(residual)
        self.kernel_transform, self.bn_momentum, self.bn_epsilon = kernel_transform, bn_momentum, bn_epsilon
        max_mid = make_divisible(max_in_channels * max_expand) if max_expand > 1 else max_in_channels
        bn = dict(momentum=bn_momentum, epsilon=bn_epsilon)
        if max_expand > 1:
            self.expand_conv = ElasticConv2D(max_in_channels, max_mid, name="expand_conv")
            self.expand_bn = ElasticBatchNormalization(max_mid, name="expand_bn", **bn)
        self.dw_conv = ElasticDepthwiseConv2D(max_mid, kernel_choices, strides, kernel_transform, name="dw_conv")
        self.dw_bn = ElasticBatchNormalization(max_mid, name="dw_bn", **bn)
        self.project_conv = ElasticConv2D(max_mid, max_out_channels, name="project_conv")
        self.project_bn = ElasticBatchNormalization(max_out_channels, name="project_bn", **bn)

    def call(self, inputs, spec: BlockSpec | None = None, training=None):
        """Runs the block as `spec` describes (the largest block when None)."""
        spec = spec or self._largest_spec(inputs)
        x = inputs
        if spec.expand > 1:
            x = self.expand_conv(x, filters=spec.mid_channels)
            x = tf.nn.relu6(self.expand_bn(x, training=training))
        x = self.dw_conv(x, kernel_size=spec.kernel)
        x = tf.nn.relu6(self.dw_bn(x, training=training))
        x = self.project_bn(self.project_conv(x, filters=spec.out_channels), training=training)
        return x + inputs if self.residual else x

    def dynamic_call(self, inputs, row, mode: str, stats=None, optional: bool = True):
        """The block as the arch row `row` (see `Supernet.encode`) says, inside one traced graph.

        Returns (output, collected BN statistics: a list, empty unless mode is "collect"). A block
        past its stage's depth is skipped by `tf.cond` (it is residual: its output is its input), so
        an inactive block costs nothing; `stats` ("given" mode) lists this block's BNs' statistics.
        """
        stats = list(stats or [None] * len(self.batch_norms()))
        _, mid, out, kernel_index, expanded = (row[i] for i in range(5))
        collect = mode == "collect"

        def expand(x):
            y, s = self.expand_bn.dynamic_call(self.expand_conv.dynamic_call(x, mid), mode, stats[0])
            return tf.nn.relu6(y), s

        def run(x):
            collected = []
            if self.max_expand > 1:
                if self.min_expand > 1:
                    x, s = expand(x)
                else:  # expand ratio 1 is a choice: the 1x1 expansion runs only when asked for
                    zeros = self._zero_stats(self.expand_bn) if collect else None
                    x, s = tf.cond(expanded > 0, lambda: expand(x), lambda: (x, zeros))
                collected.append(s)
            first = 1 if self.max_expand > 1 else 0
            y, s = self.dw_bn.dynamic_call(self.dw_conv.dynamic_call(x, kernel_index), mode, stats[first])
            collected.append(s)
            y, s = self.project_bn.dynamic_call(self.project_conv.dynamic_call(tf.nn.relu6(y), out), mode,
                                                stats[first + 1])
            collected.append(s)
            y = y + x_in if self.residual else y
            return y, collected if collect else []

        x_in = inputs
        if not (self.residual and optional):
            return run(inputs)
        skipped = [self._zero_stats(bn) for bn in self.batch_norms()] if collect else []
        return tf.cond(row[0] > 0, lambda: run(inputs), lambda: (inputs, skipped))

    def batch_norms(self) -> list[ElasticBatchNormalization]:
        """This block's BatchNorm layers in execution order."""
        head = [self.expand_bn] if self.max_expand > 1 else []
        return head + [self.dw_bn, self.project_bn]

    @staticmethod
    def _zero_stats(bn: ElasticBatchNormalization) -> tf.Tensor:
        return tf.zeros((2, bn.max_channels), tf.float32)

    def _largest_spec(self, inputs) -> BlockSpec:
        in_channels, resolution = int(inputs.shape[-1]), inputs.shape[1]
        mid = make_divisible(in_channels * self.max_expand) if self.max_expand > 1 else in_channels
        out_resolution = None if resolution is None else -(-resolution // self.strides)
        return BlockSpec(self.name, 0, 0, in_channels, mid, self.max_out_channels, self.max_expand,
                         self.kernel_choices[-1], self.strides, resolution, out_resolution, self.residual)

    def compute_output_shape(self, input_shape):
        return self.dw_conv.compute_output_shape(input_shape)[:-1].concatenate([self.max_out_channels])

    def get_config(self):
        return dict(super().get_config(), max_in_channels=self.max_in_channels,
                    max_out_channels=self.max_out_channels, max_expand=self.max_expand,
                    kernel_choices=list(self.kernel_choices), strides=self.strides, residual=self.residual,
                    kernel_transform=self.kernel_transform, bn_momentum=self.bn_momentum,
                    bn_epsilon=self.bn_epsilon, min_expand=self.min_expand)


class Supernet(keras.Model):
    """All subnets of a `SearchSpace` with shared weights; runs the active `SubnetConfig`.

    Example:
        net = build_supernet(space)
        net.set_active(space.smallest())
        logits = net(images_at_that_resolution, training=False)
    """

    def __init__(self, space: SearchSpace, kernel_transform: bool = False, bn_momentum: float = 0.9,
                 bn_epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.space, self.kernel_transform = space, bool(kernel_transform)
        self.bn_momentum, self.bn_epsilon = bn_momentum, bn_epsilon
        self.active = space.largest()
        stem, first, stages = space.channels(space.width_choices[-1])
        bn = dict(momentum=bn_momentum, epsilon=bn_epsilon)
        self.stem_conv = ElasticConv2D(space.input_channels, stem, kernel_size=3, strides=2, name="stem_conv")
        self.stem_bn = ElasticBatchNormalization(stem, name="stem_bn", **bn)
        self.mbconvs = self._make_blocks(stem, first, stages)
        self._block_index = {block.name: i for i, block in enumerate(self.mbconvs)}
        self.classifier = ElasticDense(stages[-1], space.num_classes, name="classifier")

    def _make_blocks(self, stem: int, first: int, stages: tuple[int, ...]) -> list[ElasticMBConv]:
        common = dict(kernel_transform=self.kernel_transform, bn_momentum=self.bn_momentum,
                      bn_epsilon=self.bn_epsilon)
        blocks = [ElasticMBConv(stem, first, 1, (3,), 1, False, name="first", **common)]
        in_channels = first
        for stage, out_channels in enumerate(stages):
            for index in range(self.space.depth_choices[-1]):
                stride = self.space.stage_strides[stage] if index == 0 else 1
                blocks.append(ElasticMBConv(
                    in_channels, out_channels, self.space.expand_choices[-1], self.space.kernel_choices,
                    stride, index > 0, name=f"s{stage}b{index}", min_expand=self.space.expand_choices[0],
                    **common))
                in_channels = out_channels
        return blocks

    def set_active(self, config: SubnetConfig):
        """Makes `config` the subnet that calls without `config=` compute."""
        self.active = self._checked(config)

    def _checked(self, config: SubnetConfig) -> SubnetConfig:
        if not isinstance(config, SubnetConfig) or config.space != self.space:
            raise ConfigError(f"Supernet: config {config!r:.120} does not belong to this supernet's search space")
        return config

    def call(self, inputs, training=None, config: SubnetConfig | None = None):
        """Runs `config` (default: the active subnet) on images already at its resolution."""
        config = self._checked(config) if config is not None else self.active
        if inputs.shape[1] is not None and inputs.shape[1:3] != (config.resolution, config.resolution):
            raise ValueError(f"Supernet: input {tuple(inputs.shape)} does not match the subnet "
                             f"resolution {config.resolution}; resize it first")
        stem = config.channels()[0]
        x = tf.nn.relu6(self.stem_bn(self.stem_conv(inputs, filters=stem), training=training))
        for spec in config.blocks():
            x = self.mbconvs[self._block_index[spec.name]](x, spec=spec, training=training)
        return self.classifier(tf.reduce_mean(x, axis=[1, 2]))

    # ------------------------------------------------------------ the traced (architecture as tensor) path

    ARCH_HEAD = 2  # resolution, stem channels
    ARCH_BLOCK = 5  # active, mid channels, out channels, kernel index, expanded

    @property
    def arch_length(self) -> int:
        """Length of the int32 vector `encode` returns."""
        return self.ARCH_HEAD + self.ARCH_BLOCK * len(self.mbconvs)

    def encode(self, config: SubnetConfig) -> np.ndarray:
        """`config` as a fixed-length int32 vector: what `forward` takes instead of Python values.

        Layout: [resolution, stem channels], then per supernet block (in `mbconvs` order) [active,
        mid channels, out channels, index of the kernel in the space's kernel choices, expanded];
        input channels come from the tensors themselves. Every config of the space has the same
        length, so a new architecture never retraces a `tf.function` over `forward`.
        """
        config = self._checked(config)
        rows = np.zeros((len(self.mbconvs), self.ARCH_BLOCK), np.int32)
        for spec in config.blocks():
            kernel_choices = self.mbconvs[self._block_index[spec.name]].kernel_choices
            rows[self._block_index[spec.name]] = (1, spec.mid_channels, spec.out_channels,
                                                  kernel_choices.index(spec.kernel), int(spec.expand > 1))
        return np.concatenate([[config.resolution, config.channels()[0]], rows.ravel()]).astype(np.int32)

    def batch_norms(self) -> list[ElasticBatchNormalization]:
        """Every BatchNorm layer in execution order (the order of `forward`'s collected statistics)."""
        return [self.stem_bn] + [bn for block in self.mbconvs for bn in block.batch_norms()]

    def forward(self, images, arch, mode: str = "train", stats=None, compute_dtype=tf.float32):
        """Runs the subnet `arch` (from `encode`) on `images`, for use inside a `tf.function`.

        Images at any resolution are resized to the arch's one first (as `recalibrate_bn` and the
        eager step do with `tf.image.resize`). Channel counts and kernel choices are read from `arch`
        at run time and the weights sliced to them, so each subnet costs what its own size costs, and
        a block past its stage's depth is skipped by `tf.cond`.

        Args:
            images: float batch [n, h, w, c].
            arch: int32 vector from `encode`.
            mode: "train" (batch statistics; running statistics move), "infer" (running statistics),
                "collect" (batch statistics, returned) or "given" (normalise with `stats`).
            stats: for "given", one (2, max_channels) tensor per `batch_norms()` entry.
            compute_dtype: float32, or float16/bfloat16 for mixed precision (weights stay float32).

        Returns:
            float32 logits, or (logits, statistics list) in "collect" mode.
        """
        arch = tf.convert_to_tensor(arch, tf.int32)
        resolution = arch[0]
        size = tf.shape(images)[1]
        x = tf.cond(tf.logical_and(size == resolution, tf.shape(images)[2] == resolution),
                    lambda: tf.cast(images, tf.float32),
                    lambda: tf.image.resize(images, tf.stack([resolution, resolution])))
        x = tf.cast(x, compute_dtype)
        norms = self.batch_norms()
        given = list(stats) if stats is not None else [None] * len(norms)
        x, stem_stats = self.stem_bn.dynamic_call(self.stem_conv.dynamic_call(x, arch[1]), mode, given[0])
        x, collected, used = tf.nn.relu6(x), [stem_stats], 1
        min_depth = self.space.depth_choices[0]
        for index, block in enumerate(self.mbconvs):
            count = len(block.batch_norms())
            row = arch[self.ARCH_HEAD + self.ARCH_BLOCK * index:self.ARCH_HEAD + self.ARCH_BLOCK * (index + 1)]
            optional = block.name != "first" and int(block.name.split("b")[-1]) >= min_depth
            x, block_stats = block.dynamic_call(x, row, mode, given[used:used + count], optional=optional)
            collected += block_stats
            used += count
        logits = self.classifier.dynamic_call(tf.reduce_mean(x, axis=[1, 2]))
        return (logits, collected) if mode == "collect" else logits

    def get_config(self):
        return {"space": self.space.to_dict(), "kernel_transform": self.kernel_transform,
                "bn_momentum": self.bn_momentum, "bn_epsilon": self.bn_epsilon, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**dict(config, space=SearchSpace.from_dict(config["space"])))


def build_supernet(space: SearchSpace, **kwargs) -> Supernet:
    """Creates a supernet and all its weights (one call of the largest subnet on zeros)."""
    supernet = Supernet(space, **kwargs)
    # Every weight at the smallest resolution: cheapest call that touches all of them.
    largest = dataclasses.replace(space.largest(), resolution=space.resolution_choices[0])
    resolution = largest.resolution
    supernet(tf.zeros((1, resolution, resolution, space.input_channels)), training=False, config=largest)
    return supernet


def subnet_weights(supernet: Supernet, config: SubnetConfig) -> dict[str, list[np.ndarray]]:
    """The inherited weights of `config`, by `extract` layer name, in Keras `set_weights` order."""
    config = supernet._checked(config)
    stem, _, _ = config.channels()
    weights = {"stem_conv": supernet.stem_conv.sliced_weights(config.space.input_channels, stem),
               "stem_bn": supernet.stem_bn.sliced_weights(stem)}
    for spec in config.blocks():
        block = supernet.mbconvs[supernet._block_index[spec.name]]
        if spec.expand > 1:
            weights[f"{spec.name}_expand_conv"] = block.expand_conv.sliced_weights(spec.in_channels,
                                                                                   spec.mid_channels)
            weights[f"{spec.name}_expand_bn"] = block.expand_bn.sliced_weights(spec.mid_channels)
        weights[f"{spec.name}_dw_conv"] = block.dw_conv.sliced_weights(spec.mid_channels, spec.kernel)
        weights[f"{spec.name}_dw_bn"] = block.dw_bn.sliced_weights(spec.mid_channels)
        weights[f"{spec.name}_project_conv"] = block.project_conv.sliced_weights(spec.mid_channels,
                                                                                 spec.out_channels)
        weights[f"{spec.name}_project_bn"] = block.project_bn.sliced_weights(spec.out_channels)
    weights["classifier"] = supernet.classifier.sliced_weights(config.feature_channels)
    return {name: [np.asarray(w) for w in ws] for name, ws in weights.items()}


def build_subnet(config: SubnetConfig, bn_epsilon: float = 1e-3, bn_momentum: float = 0.9) -> keras.Model:
    """A freshly initialised plain Keras model of `config` (standard layers only)."""
    bn = dict(epsilon=bn_epsilon, momentum=bn_momentum, fused=False)
    inputs = keras.Input((config.resolution, config.resolution, config.space.input_channels), name="image")
    x = keras.layers.Conv2D(config.channels()[0], 3, strides=2, padding="same", use_bias=False,
                            name="stem_conv")(inputs)
    x = keras.layers.ReLU(6.0, name="stem_relu")(keras.layers.BatchNormalization(name="stem_bn", **bn)(x))
    for spec in config.blocks():
        x = _plain_block(x, spec, bn)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(config.space.num_classes, name="classifier")(x)
    return keras.Model(inputs, outputs, name="subnet")


def _plain_block(inputs, spec: BlockSpec, bn: dict):
    layers, name = keras.layers, spec.name
    x = inputs
    if spec.expand > 1:
        x = layers.Conv2D(spec.mid_channels, 1, use_bias=False, name=f"{name}_expand_conv")(x)
        x = layers.ReLU(6.0, name=f"{name}_expand_relu")(layers.BatchNormalization(name=f"{name}_expand_bn", **bn)(x))
    x = layers.DepthwiseConv2D(spec.kernel, strides=spec.stride, padding="same", use_bias=False,
                               name=f"{name}_dw_conv")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu")(layers.BatchNormalization(name=f"{name}_dw_bn", **bn)(x))
    x = layers.Conv2D(spec.out_channels, 1, use_bias=False, name=f"{name}_project_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_project_bn", **bn)(x)
    return layers.Add(name=f"{name}_add")([x, inputs]) if spec.residual else x


def extract(supernet: Supernet, config: SubnetConfig) -> keras.Model:
    """A standalone plain Keras model of `config` holding the supernet's (sliced, cropped) weights."""
    model = build_subnet(config, bn_epsilon=supernet.bn_epsilon, bn_momentum=supernet.bn_momentum)
    for name, weights in subnet_weights(supernet, config).items():
        model.get_layer(name).set_weights(weights)
    return model


def recalibrate_bn(model: keras.Model, dataset: tf.data.Dataset, steps: int) -> keras.Model:
    """Re-estimates every BatchNormalization's statistics of `model` on `steps` batches, in place.

    As Once-for-All does: each BN layer's moving mean and variance become the average over the batches
    of its input's batch mean and (biased) variance, with upstream BNs normalising by batch statistics
    (training-mode forward). Images are resized to the model's input resolution.

    Args:
        model: a plain Keras model (e.g. from `extract`).
        dataset: yields images or (images, labels) batches.
        steps: number of batches to use (must be >= 1).
    """
    if steps < 1:
        raise ValueError(f"recalibrate_bn: steps must be >= 1, got {steps}")
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    probe = keras.Model(model.inputs, [bn.input for bn in bns])
    size = tuple(model.input_shape[1:3])
    sums = [np.zeros((2, bn.moving_mean.shape[0])) for bn in bns]
    seen = 0
    for batch in dataset.take(steps):
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        if tuple(images.shape[1:3]) != size:
            images = tf.image.resize(images, size)
        for total, x in zip(sums, probe(images, training=True), strict=True):
            mean, variance = tf.nn.moments(x, axes=[0, 1, 2])
            total += np.stack([mean.numpy(), variance.numpy()])
        seen += 1
    if seen == 0:
        raise ValueError("recalibrate_bn: the dataset yielded no batches")
    for bn, total in zip(bns, sums, strict=True):
        bn.moving_mean.assign(total[0] / seen)
        bn.moving_variance.assign(total[1] / seen)
    return model

"""Elastic layers, the supernet, `extract` and `recalibrate_bn`."""

import dataclasses
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from mcunet_tf.config import ConfigError, SubnetConfig  # noqa: E402
from mcunet_tf.elastic import (  # noqa: E402
    ElasticBatchNormalization,
    ElasticConv2D,
    ElasticDense,
    ElasticDepthwiseConv2D,
)
from mcunet_tf.supernet import Supernet, build_supernet, extract, recalibrate_bn  # noqa: E402
from tests.mcunet.conftest import tiny_space  # noqa: E402


def _randomise(net, seed: int):
    """Non-trivial BN statistics and kernel transforms, so that slicing mistakes show in the output."""
    rng = np.random.default_rng(seed)
    for variable in net.variables:
        if "moving" in variable.name or "gamma" in variable.name:
            variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype(np.float32))
        elif "beta" in variable.name or "transform" in variable.name:
            variable.assign(variable + rng.normal(0.0, 0.1, variable.shape).astype(np.float32))


@pytest.fixture(scope="module")
def supernet():
    net = build_supernet(tiny_space(), kernel_transform=False)
    _randomise(net, 0)
    return net


def _mixed_config(space) -> SubnetConfig:
    """Smallest width / resolution but every kernel and expand choice used somewhere."""
    kernels = ((3, 5), (7, 3), (5, 7), (3, 3))
    expands = ((3, 4), (6, 3), (4, 6), (3, 3))
    return SubnetConfig(space, 32, 0.25, (2, 2, 2, 2), kernels, expands)


def test_extracted_weights_are_exact_slices_of_the_supernet(supernet):
    config = _mixed_config(supernet.space)
    model = extract(supernet, config)
    stem = config.channels()[0]
    np.testing.assert_array_equal(model.get_layer("stem_conv").get_weights()[0],
                                  supernet.stem_conv.kernel.numpy()[:, :, :, :stem])
    for spec in config.blocks():
        block = supernet.mbconvs[supernet._block_index[spec.name]]
        crop = (7 - spec.kernel) // 2 if spec.stage >= 0 else 0
        full_dw = block.dw_conv.depthwise_kernel.numpy()
        dw = full_dw[crop:crop + spec.kernel, crop:crop + spec.kernel, :spec.mid_channels]
        np.testing.assert_array_equal(model.get_layer(f"{spec.name}_dw_conv").get_weights()[0], dw)
        project = block.project_conv.kernel.numpy()[:, :, :spec.mid_channels, :spec.out_channels]
        np.testing.assert_array_equal(model.get_layer(f"{spec.name}_project_conv").get_weights()[0], project)
        bn = [w.numpy()[:spec.out_channels] for w in (block.project_bn.gamma, block.project_bn.beta,
                                                      block.project_bn.moving_mean, block.project_bn.moving_variance)]
        for got, want in zip(model.get_layer(f"{spec.name}_project_bn").get_weights(), bn, strict=True):
            np.testing.assert_array_equal(got, want)
        if spec.expand > 1:
            expand = block.expand_conv.kernel.numpy()[:, :, :spec.in_channels, :spec.mid_channels]
            np.testing.assert_array_equal(model.get_layer(f"{spec.name}_expand_conv").get_weights()[0], expand)
    kernel, bias = model.get_layer("classifier").get_weights()
    np.testing.assert_array_equal(kernel, supernet.classifier.kernel.numpy()[:config.feature_channels])
    np.testing.assert_array_equal(bias, supernet.classifier.bias.numpy())


def _assert_extract_matches(net, config, seed):
    images = tf.random.stateless_normal((2, config.resolution, config.resolution, 3), seed=(seed, 0))
    want = net(images, training=False, config=config).numpy()
    got = extract(net, config)(images, training=False).numpy()
    # Zero tolerance: both run the same TF ops (Conv2D, DepthwiseConv2D, tf.nn.batch_normalization with
    # fused=False, relu6, add, mean, matmul + bias_add) on bit-identical weights in the same order.
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("pick", ["smallest", "largest", "mixed", "sampled"])
def test_extract_equals_supernet_forward(supernet, pick):
    space = supernet.space
    config = {"smallest": space.smallest, "largest": space.largest, "mixed": lambda: _mixed_config(space),
              "sampled": lambda: space.sample(np.random.default_rng(5))}[pick]()
    _assert_extract_matches(supernet, config, seed=1)


def test_extract_equals_supernet_forward_with_kernel_transforms():
    net = build_supernet(tiny_space(resolution_choices=(32,)), kernel_transform=True)
    _randomise(net, 1)  # transforms away from identity: the 3x3 kernel is no longer a plain crop
    _assert_extract_matches(net, _mixed_config(net.space), seed=2)


def test_set_active_selects_the_subnet(supernet):
    config = supernet.space.smallest()
    images = tf.random.stateless_normal((1, 32, 32, 3), seed=(3, 0))
    supernet.set_active(config)
    try:
        np.testing.assert_array_equal(supernet(images, training=False).numpy(),
                                      supernet(images, training=False, config=config).numpy())
    finally:
        supernet.set_active(supernet.space.largest())


def test_supernet_config_round_trip_rebuilds_the_same_architecture(supernet):
    clone = Supernet.from_config(supernet.get_config())
    assert clone.space == supernet.space and clone.get_config() == supernet.get_config()
    block = supernet.mbconvs[3]
    assert type(block).from_config(block.get_config()).get_config() == block.get_config()
    config = supernet.space.smallest()
    clone(tf.zeros((1, 32, 32, 3)), config=dataclasses.replace(supernet.space.largest(), resolution=32))
    assert [v.shape for v in clone.variables] == [v.shape for v in supernet.variables]
    assert clone(tf.zeros((1, 32, 32, 3)), config=config).shape == (1, supernet.space.num_classes)


def test_supernet_rejects_foreign_configs_and_wrong_resolution(supernet):
    with pytest.raises(ConfigError, match="does not belong"):
        supernet.set_active(tiny_space(num_classes=5).smallest())
    with pytest.raises(ValueError, match="does not match the subnet resolution 32"):
        supernet(tf.zeros((1, 48, 48, 3)), config=supernet.space.smallest())


def test_training_moves_only_the_active_bn_statistics():
    bn = ElasticBatchNormalization(8, momentum=0.5)
    bn.build((None, 4, 4, 8))
    x = tf.random.stateless_normal((2, 4, 4, 3), seed=(4, 0)) + 3.0
    bn(x, training=True)
    mean = bn.moving_mean.numpy()
    np.testing.assert_allclose(mean[:3], 0.5 * tf.reduce_mean(x, axis=[0, 1, 2]).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(mean[3:], 0.0)  # channels the subnet does not use keep their values
    np.testing.assert_array_equal(bn.moving_variance.numpy()[3:], 1.0)


@pytest.mark.parametrize("layer, shape", [
    (ElasticConv2D(4, 16, kernel_size=3, strides=2, name="c"), (1, 9, 9, 4)),
    (ElasticDepthwiseConv2D(8, (3, 5), strides=2, kernel_transform=True, name="d"), (1, 9, 9, 8)),
    (ElasticBatchNormalization(8, momentum=0.8, epsilon=1e-4, name="b"), (1, 3, 3, 8)),
    (ElasticDense(8, 5, name="f"), (2, 8)),
])
def test_elastic_layers_follow_the_keras_contract(layer, shape):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert layer.compute_output_shape(shape) == layer(tf.zeros(shape)).shape
    assert len(clone.weights) == 0 and len(layer.weights) > 0  # weights are created in build


@pytest.mark.parametrize("make, message", [
    (lambda: ElasticConv2D(0, 8), "max_in_channels must be a positive int, got 0"),
    (lambda: ElasticDepthwiseConv2D(8, (3, 4)), "kernel_choices must be increasing odd sizes, got (3, 4)"),
    (lambda: ElasticBatchNormalization(8, momentum=1.0), "need 0 <= momentum < 1"),
    (lambda: ElasticDense(8, 0), "units must be a positive int, got 0"),
])
def test_elastic_layers_check_arguments(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value)


def test_elastic_layers_reject_oversized_inputs_and_unknown_kernels():
    conv = ElasticDepthwiseConv2D(8, (3, 5), name="dw")
    conv(tf.zeros((1, 5, 5, 8)))
    with pytest.raises(ValueError, match="dw: kernel size 7 is not one of"):
        conv(tf.zeros((1, 5, 5, 8)), kernel_size=7)
    with pytest.raises(ValueError, match="dw: active channels 9 is outside 1..8"):
        conv(tf.zeros((1, 5, 5, 9)))


def test_recalibrate_bn_sets_statistics_to_batch_statistics(supernet):
    config = supernet.space.smallest()
    model = extract(supernet, config)
    images = tf.random.stateless_normal((4, 48, 48, 3), seed=(6, 0))  # resized to 32 inside
    recalibrate_bn(model, tf.data.Dataset.from_tensors((images, tf.zeros(4))), steps=1)
    resized = tf.image.resize(images, (32, 32))
    stem = keras.Model(model.inputs, model.get_layer("stem_conv").output)(resized)
    mean, variance = tf.nn.moments(stem, axes=[0, 1, 2])
    np.testing.assert_array_equal(model.get_layer("stem_bn").moving_mean.numpy(), mean.numpy())
    np.testing.assert_array_equal(model.get_layer("stem_bn").moving_variance.numpy(), variance.numpy())
    # With one batch the running statistics are that batch's moments, computed by the same
    # tf.nn.moments as Keras' training path, so inference equals the training-mode output exactly.
    np.testing.assert_array_equal(model(resized, training=False).numpy(), model(resized, training=True).numpy())
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        recalibrate_bn(model, tf.data.Dataset.from_tensors(images), steps=0)

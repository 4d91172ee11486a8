"""The compiled supernet: one traced graph per resolution equals `extract()` for every subnet.

`Supernet.forward` takes the architecture as an int32 tensor (`Supernet.encode`); these tests hold
it to the plain Keras model `extract(config)` builds (outputs and BatchNorm statistics within 1e-5,
in training and inference mode), count traces, and check that the compiled sandwich step and the
compiled candidate scoring compute what the eager ones do.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from mcunet_tf.data import synthetic_dataset  # noqa: E402
from mcunet_tf.search import accuracy_fitness  # noqa: E402
from mcunet_tf.supernet import build_supernet, extract, subnet_weights  # noqa: E402
from mcunet_tf.train import SandwichStep, TrainConfig, replica_step, sandwich_configs, train_supernet  # noqa: E402
from tests.mcunet.conftest import tiny_space  # noqa: E402
from tests.mcunet.test_supernet import _randomise  # noqa: E402

TOLERANCE = 1e-5


def _space():
    # Expand ratio 1 is a choice (the 1x1 expansion is skipped at run time), depth 1..3.
    return tiny_space(expand_choices=(1, 3, 6), depth_choices=(1, 2, 3))


@pytest.fixture(scope="module")
def supernet():
    net = build_supernet(_space(), kernel_transform=True)
    _randomise(net, 3)
    return net


def _images(seed: int, resolution: int = 48, batch: int = 4):
    return tf.random.stateless_uniform((batch, resolution, resolution, 3), seed=(seed, 1))


def _at(images, config):
    size = (config.resolution, config.resolution)
    return images if tuple(images.shape[1:3]) == size else tf.image.resize(images, size)


def _configs(space, count: int, seed: int):
    rng = np.random.default_rng(seed)
    return [space.largest(), space.smallest()] + [space.sample(rng) for _ in range(count - 2)]


def test_inference_forward_equals_extract_for_20_subnets_in_one_trace(supernet):
    forward = tf.function(lambda images, arch: supernet.forward(images, arch, mode="infer"))
    images = _images(0)
    for config in _configs(supernet.space, 20, seed=1):
        want = extract(supernet, config)(_at(images, config), training=False).numpy()
        got = forward(images, supernet.encode(config)).numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE, err_msg=config.to_json())
    assert forward.experimental_get_tracing_count() == 1


def _bn_statistics(net, config) -> dict:
    return {name: weights[2:] for name, weights in subnet_weights(net, config).items() if name.endswith("_bn")}


def test_training_forward_and_batchnorm_statistics_equal_extract_for_20_subnets(supernet):
    forward = tf.function(lambda images, arch: supernet.forward(images, arch, mode="train"))
    images = _images(1)
    for config in _configs(supernet.space, 20, seed=2):
        model = extract(supernet, config)
        want = model(_at(images, config), training=True).numpy()  # moves the plain model's statistics
        got = forward(images, supernet.encode(config)).numpy()  # moves the supernet's
        np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE, err_msg=config.to_json())
        for name, (mean, variance) in _bn_statistics(supernet, config).items():
            want_mean, want_variance = model.get_layer(name).get_weights()[2:]
            np.testing.assert_allclose(mean, want_mean, rtol=0, atol=TOLERANCE, err_msg=name)
            np.testing.assert_allclose(variance, want_variance, rtol=0, atol=TOLERANCE, err_msg=name)
    assert forward.experimental_get_tracing_count() == 1


def test_inactive_blocks_keep_their_batchnorm_statistics(supernet):
    config = supernet.space.smallest()  # depth 1: blocks 1 and 2 of every stage are skipped
    skipped = [bn for block in supernet.mbconvs if block.name.endswith(("b1", "b2")) for bn in block.batch_norms()]
    before = [bn.moving_mean.numpy().copy() for bn in skipped]
    supernet.forward(_images(2), supernet.encode(config), mode="train")
    for bn, old in zip(skipped, before, strict=True):
        np.testing.assert_array_equal(bn.moving_mean.numpy(), old, err_msg=bn.name)


def _step_parts(space, seed=0, batch=8):
    keras.utils.set_random_seed(seed)
    net = build_supernet(space)
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
    optimizer.build(net.trainable_variables)
    return net, optimizer


def test_compiled_sandwich_step_equals_the_eager_step():
    space = tiny_space(resolution_choices=(32, 48))
    cfg = TrainConfig(steps=1, global_batch_size=8, num_random=2, distill=True, progress=False)
    images, labels = _images(3, resolution=48, batch=8), tf.constant([0, 1, 2, 3, 0, 1, 2, 3])
    eager_net, eager_opt = _step_parts(space)
    compiled_net, compiled_opt = _step_parts(space)
    step = SandwichStep(compiled_net, compiled_opt, cfg, tf.distribute.get_strategy())
    start = [v.numpy() for v in compiled_net.variables]
    configs = sandwich_configs(space, 0, seed=0, num_random=2)
    want = replica_step(eager_net, eager_opt, images, labels, configs, True, 8).numpy()
    got = step((images, labels), configs)
    # Same forward numbers (the 1e-5 tests above); the graph and eager differ only in float
    # summation order, ~1e-7 on losses of ~1.
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # One update: same subnets, same distillation, same summed gradients, same BN statistics (updates
    # reach 2.0 here; the graph orders float sums differently from eager: ~1e-6 apart).
    for before, got, want in zip(start, compiled_net.variables, eager_net.variables, strict=True):
        np.testing.assert_allclose(got.numpy() - before, want.numpy() - before, rtol=0, atol=1e-5, err_msg=got.name)


def test_the_sandwich_step_traces_once_per_input_resolution():
    space = tiny_space(resolution_choices=(32, 48))
    net, optimizer = _step_parts(space)
    cfg = TrainConfig(steps=1, global_batch_size=4, num_random=1, progress=False)
    step = SandwichStep(net, optimizer, cfg, tf.distribute.get_strategy())
    labels = tf.constant([0, 1, 2, 3])
    for index in range(4):  # new subnets (resolutions 32 and 48 among them) every step
        step((_images(index, resolution=48), labels), sandwich_configs(space, index, 0, 1))
    assert step.traces == 1
    step((_images(9, resolution=32), labels), sandwich_configs(space, 9, 0, 1))  # another batch shape
    assert step.traces == 2


def test_compiled_scoring_equals_the_eager_fitness(supernet):
    space = supernet.space
    data = synthetic_dataset(40, 48, space.num_classes, seed=5).batch(8)
    eager = accuracy_fitness(supernet, data, bn_steps=3, step="eager")
    compiled = accuracy_fitness(supernet, data, bn_steps=3, step="compiled")
    configs = _configs(space, 6, seed=4)
    scores = compiled.score_many(configs)
    assert scores == [eager(config) for config in configs]
    assert compiled(configs[2]) == scores[2] and compiled.traces == 1


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_training_runs_and_learns(precision):
    space = tiny_space(resolution_choices=(32,), depth_choices=(1, 2), stage_channels=(24, 40, 80),
                       stage_strides=(2, 2, 2))
    cfg = TrainConfig(steps=6, global_batch_size=16, num_random=1, distill=False, progress=False,
                      precision=precision)
    result = train_supernet(space, lambda: synthetic_dataset(16, 32, space.num_classes, seed=1), cfg)
    assert np.isfinite(result.losses).all(), result.losses
    assert result.losses[-1][0] < result.losses[0][0], result.losses
    assert all(v.dtype == tf.float32 for v in result.supernet.variables)  # weights stay float32


def test_step_and_precision_errors(monkeypatch):
    with pytest.raises(ValueError, match="TrainConfig.step must be one of"):
        TrainConfig(steps=1, global_batch_size=8, step="graph")
    with pytest.raises(ValueError, match="TrainConfig.precision must be one of"):
        TrainConfig(steps=1, global_batch_size=8, precision="float16")
    with pytest.raises(ValueError, match="needs the compiled step"):
        TrainConfig(steps=1, global_batch_size=8, step="eager", precision="mixed_bfloat16")
    monkeypatch.setenv("MCUNET_TF_STEP", "jit")
    with pytest.raises(ValueError, match="MCUNET_TF_STEP must be one of"):
        TrainConfig(steps=1, global_batch_size=8).step_kind  # noqa: B018


def test_a_population_is_scored_across_the_strategys_replicas(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "scores.json"
    env = dict(os.environ, PYTHONPATH=str(repo), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "tests.mcunet.replicas_worker", str(out)], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["replicas"] == 2 and result["traces"] == 1
    assert result["spread"] == result["alone"]  # each replica scored its own candidates, same numbers

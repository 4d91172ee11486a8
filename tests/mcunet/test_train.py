"""Supernet training: the sandwich step lowers the loss; checkpoints resume where they stopped."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from mcunet_tf.data import synthetic_dataset  # noqa: E402
from mcunet_tf.train import (  # noqa: E402
    TrainConfig,
    make_strategy,
    sandwich_configs,
    subnet_loss,
    train_supernet,
)
from tests.mcunet.conftest import tiny_space  # noqa: E402


def _space():
    return tiny_space(resolution_choices=(32,), depth_choices=(1, 2), stage_channels=(24, 40, 80),
                      stage_strides=(2, 2, 2))


def _data(space, examples=16):
    return lambda: synthetic_dataset(examples, 32, space.num_classes, seed=1)


def test_sandwich_configs_are_largest_smallest_then_reproducible_samples():
    space = _space()
    configs = sandwich_configs(space, step=3, seed=0, num_random=2)
    assert configs[:2] == [space.largest(), space.smallest()] and len(configs) == 4
    assert configs == sandwich_configs(space, step=3, seed=0, num_random=2)
    assert configs[2:] != sandwich_configs(space, step=4, seed=0, num_random=2)[2:]


def test_distillation_loss_is_cross_entropy_on_the_teacher_softmax():
    logits = tf.constant([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    teacher = tf.constant([[2.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    soft = tf.nn.softmax(teacher).numpy()
    want = -(soft * tf.nn.log_softmax(logits).numpy()).sum(axis=1).sum() / 4  # global batch of 4
    np.testing.assert_allclose(subnet_loss(None, logits, teacher, 4).numpy(), want, rtol=1e-6)


def test_a_few_sandwich_steps_reduce_the_loss_under_mirrored_strategy():
    space = _space()
    cfg = TrainConfig(steps=6, global_batch_size=16, num_random=1, distill=False, progress=False)
    # One batch repeated: every step sees the same 16 examples, so each subnet's loss must fall.
    result = train_supernet(space, _data(space), cfg, make_strategy("mirrored"))
    assert result.losses.shape == (6, 3)
    first, last = result.losses[0], result.losses[-1]
    assert last[0] < 0.5 * first[0], result.losses  # largest
    assert last[1] < first[1], result.losses  # smallest


def test_distilled_training_runs_and_reports_finite_losses():
    space = _space()
    cfg = TrainConfig(steps=2, global_batch_size=8, num_random=1, distill=True, kernel_transform=True,
                      progress=False)
    result = train_supernet(space, _data(space), cfg)
    assert np.isfinite(result.losses).all() and result.losses.shape == (2, 3)


def _weights(result):
    return [v.numpy() for v in result.supernet.variables]


def test_resume_continues_from_the_saved_step(tmp_path):
    space = _space()
    run = dict(global_batch_size=8, num_random=1, progress=False)
    straight = train_supernet(space, _data(space, 32), TrainConfig(steps=4, **run))
    saved = str(tmp_path / "ckpt")
    first = train_supernet(space, _data(space, 32), TrainConfig(steps=2, checkpoint_dir=saved, **run))
    assert first.start_step == 0 and tf.train.latest_checkpoint(saved).endswith("ckpt-2")
    resumed = train_supernet(space, _data(space, 32), TrainConfig(steps=4, checkpoint_dir=saved, **run))
    assert resumed.start_step == 2 and resumed.losses.shape == (2, 3)
    # Zero tolerance: same subnets (seeded per step), same batches (skipped on resume), restored
    # momentum, deterministic CPU kernels: the resumed run is the uninterrupted one.
    np.testing.assert_array_equal(resumed.losses, straight.losses[2:])
    for got, want in zip(_weights(resumed), _weights(straight), strict=True):
        np.testing.assert_array_equal(got, want)
    again = train_supernet(space, _data(space, 32), TrainConfig(steps=4, checkpoint_dir=saved, **run))
    assert again.start_step == 4 and again.losses.shape == (0, 3)  # nothing left to do


def test_train_config_and_strategy_errors():
    with pytest.raises(ValueError, match="TrainConfig.steps must be >= 1, got 0"):
        TrainConfig(steps=0, global_batch_size=8)
    with pytest.raises(ValueError, match="unknown kind 'tpu'"):
        make_strategy("tpu")

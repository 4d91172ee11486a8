"""The cost estimator equals the engine: on its own IR, and on real TFLite conversions of subnets.

The real-conversion test converts 20 random subnets of a small space (resolution 32/48, width
0.25/0.35) with the TF converter (full-int8 post-training quantisation) and caches the .tflite files
in tests/.model_cache/estimator, so only the first run pays the conversions (5-15 s each on 2
shared cores: ~270 s cold under load, ~1 s cached).
"""

import hashlib
import os
import shutil

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import pytest

from engine.compile import compile_graph
from mcunet_tf.config import SearchSpace
from mcunet_tf.estimator import (
    Estimator,
    estimate,
    kernel_code_tables,
    measure_kernel_code_bytes,
    program_cost,
    subnet_graph,
)
from tests.mcunet.conftest import tiny_space
from tests.oneop import CACHE
from tflite_bridge import read
from tflite_bridge.ir import verify

REAL_SUBNETS = 20


def _converted(config, seed: int) -> bytes:
    """Full-int8 .tflite of `build_subnet(config)` with random weights (cached on disk)."""
    key = hashlib.sha1(f"{config.to_json()}|{seed}|v1".encode()).hexdigest()[:16]
    path = CACHE / "estimator" / f"{key}.tflite"
    if path.exists():
        return path.read_bytes()
    import tensorflow as tf

    from mcunet_tf.supernet import build_subnet

    model = build_subnet(config)
    rng = np.random.default_rng(seed)
    # Random weights, BN statistics and classifier bias: a trained model's structure (the converter
    # drops an all-zero FULLY_CONNECTED bias, which a trained classifier never has).
    model.set_weights([rng.uniform(0.5, 1.5, w.shape) if "variance" in v.name or "gamma" in v.name
                       else rng.normal(0.0, 0.2, w.shape) for v, w in zip(model.weights, model.get_weights())])
    shape = (1, config.resolution, config.resolution, config.space.input_channels)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(4))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    data = converter.convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def _configs(space: SearchSpace, count: int, seed: int):
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(count)]


def test_estimator_equals_the_engine_on_real_conversions():
    estimator = Estimator()
    for i, config in enumerate(_configs(tiny_space(), REAL_SUBNETS, seed=6)):
        graph = read(_converted(config, seed=i))
        kinds = [op.kind for op in graph.ops]
        ours = subnet_graph(config)
        assert kinds == [op.kind for op in ours.ops], f"subnet {i}: op sequence differs"
        assert [graph.tensors[t].shape for op in graph.ops for t in op.inputs + op.outputs if t >= 0] == \
               [ours.tensors[t].shape for op in ours.ops for t in op.inputs + op.outputs if t >= 0]
        real = program_cost(compile_graph(graph))
        assert estimator.cost(config) == real, f"subnet {i} {config.to_json()}"


def test_fast_path_equals_compile_graph_on_the_ir():
    """Default (MCUNet-sized) space: the cached fast path gives compile_graph's figures exactly."""
    estimator = Estimator()
    for config in _configs(SearchSpace(resolution_choices=(96, 128, 160)), 12, seed=1):
        graph = subnet_graph(config)
        verify(graph)
        assert estimator.cost(config) == program_cost(compile_graph(graph))
    assert estimate(config) == estimator.cost(config)


def test_figures_grow_with_the_network():
    space = tiny_space()
    small, large = estimate(space.smallest()), estimate(space.largest())
    assert small.sram_bytes < large.sram_bytes
    assert small.flash_bytes < large.flash_bytes and small.macs < large.macs
    assert small.weight_bytes <= small.const_bytes  # filters, folded biases and multipliers


def test_flash_is_constants_plus_kernel_code():
    cost = estimate(tiny_space().smallest())
    # Subnets call kernels from all four sources (conv, depthwise, elementwise, reduce).
    functions, helpers = kernel_code_tables()
    sources = ("te_conv", "te_depthwise", "te_elementwise", "te_reduce")
    expected_code = sum(functions[k] for k in cost.kernels) + sum(helpers.get(s, 0) for s in sources)
    assert cost.code_bytes == expected_code
    assert cost.flash_bytes == cost.const_bytes + cost.code_bytes


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_kernel_code_table_covers_every_subnet_kernel():
    functions, _ = measure_kernel_code_bytes("cortex-m4")
    kernels = estimate(tiny_space().largest()).kernels
    assert kernels and all(functions[k] > 0 for k in kernels)


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs arm-none-eabi-gcc and qemu-system-arm")
def test_latency_matches_qemu_on_real_conversions():
    """Trained-like weights and real scales, not the estimator's zeros: Cortex-M7 instructions within 5%."""
    from engine.compile import CompileOptions
    from engine.target.on_target import profile_program

    estimator = Estimator()
    for i, config in list(enumerate(_configs(tiny_space(), REAL_SUBNETS, seed=6)))[:3]:
        program = compile_graph(read(_converted(config, seed=i)), CompileOptions(target="cortex-m7"))
        measured = sum(p.instructions for p in profile_program(program))
        assert estimator.cost(config).instructions == pytest.approx(measured, rel=0.05), f"subnet {i}"

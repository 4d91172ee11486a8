"""Patch-based inference against TFLM on small CNNs: kernels 1/3/5/7, strides 1/2.

Each model runs its first ops per patch (split and grid forced, recompute
unlimited) and must match TFLM in every output and in the split layer's full
feature map (assembled from the patches), bit for bit.
"""

import pytest

from engine.check.bitexact import check_bit_exact, first_lines
from engine.compile import CompileOptions, compile_graph
from engine.patch.analysis import PatchOptions
from tests.oneop import int8_model
from tflite_bridge import read


def residual_cnn(k: int, s: int, padding: str, shape=(23, 21, 3)) -> bytes:
    """conv(k, s) -> dw 3x3 -> 1x1 -> ADD(residual) | conv 3x3: a residual branch inside the prefix."""

    def build(x):
        import tf_keras as keras

        L = keras.layers
        a = L.Conv2D(8, k, strides=s, padding=padding, activation="relu")(x)
        b = L.DepthwiseConv2D(3, padding="same", activation="relu")(a)
        b = L.Conv2D(8, 1)(b)
        c = L.Add()([a, b])
        return L.Conv2D(4, 3, padding="same")(c)

    return int8_model(build, [shape], key=f"patch-residual-{k}-{s}-{padding}-{shape}")


def pooled_cnn(pool: str) -> bytes:
    """conv 3x3 s1 -> {avg,max}pool 3x3 s2 SAME -> dw 5x5 s2 | conv 1x1."""

    def build(x):
        import tf_keras as keras

        L = keras.layers
        a = L.Conv2D(8, 3, padding="same", activation="relu6")(x)
        Pool = L.AveragePooling2D if pool == "avg" else L.MaxPooling2D
        a = Pool(3, strides=2, padding="same")(a)
        a = L.DepthwiseConv2D(5, strides=2, padding="same")(a)
        return L.Conv2D(6, 1)(a)

    return int8_model(build, [(26, 26, 4)], key=f"patch-pooled-{pool}")


def _check(model: bytes, split: int, grid: int, input_in_arena: bool) -> None:
    options = CompileOptions(name="m", patch=PatchOptions(max_extra_macs=100.0, split=split, grid=grid,
                                                          input_in_arena=input_in_arena))
    program = compile_graph(read(model), options)
    assert (program.patch.split, program.patch.analysis.grid) == (split, grid)
    report = check_bit_exact(model, samples=2, seed=split, options=options)
    assert report.bit_exact, first_lines(report)
    assert report.tensors_compared == 2 * (len(program.graph.ops) - split + 1)


@pytest.mark.parametrize("k", [1, 3, 5, 7])
@pytest.mark.parametrize("s", [1, 2])
def test_residual_prefix_matches_tflm(k, s):
    _check(residual_cnn(k, s, "same"), split=4, grid=3, input_in_arena=(k + s) % 2 == 0)


@pytest.mark.parametrize("k,s", [(3, 2), (5, 1)])
def test_valid_padding_matches_tflm(k, s):
    _check(residual_cnn(k, s, "valid"), split=4, grid=2, input_in_arena=False)


@pytest.mark.parametrize("pool", ["avg", "max"])
def test_pooling_prefix_matches_tflm(pool):
    _check(pooled_cnn(pool), split=3, grid=3, input_in_arena=False)


def test_patch_stage_is_clean_under_sanitizers_and_deterministic():
    """ASan/UBSan: no patch reads outside the caller's frame; the same model gives the same C."""
    from engine import codegen

    model = residual_cnn(7, 2, "same")
    options = CompileOptions(name="m", patch=PatchOptions(max_extra_macs=100.0, split=4, grid=3))
    report = check_bit_exact(model, samples=1, options=options, sanitize=True)
    assert report.bit_exact, first_lines(report)
    assert codegen.render(compile_graph(read(model), options)) == codegen.render(compile_graph(read(model), options))


def test_reordering_and_patches_together():
    """A wide stem (its peak: patches cut it), then branches run wide-first (their peak: reordering cuts it)."""
    from tests.reorder.test_reorder import branches, breadth_first
    from tflite_bridge import write

    def build(x):
        import tf_keras as keras

        L = keras.layers
        a = L.Conv2D(32, 3, padding="same", activation="relu")(x)
        a = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(a)
        return branches(L.Conv2D(8, 1)(a))

    model = write(breadth_first(read(int8_model(build, [(32, 32, 3)], key="patch-reorder-branches-32"))))
    patch = PatchOptions(max_extra_macs=100.0, split=3, grid=2, input_in_arena=True)
    arenas = {}
    for name, options in {"plain": CompileOptions(name="m"), "patch": CompileOptions(name="m", patch=patch),
                          "reorder": CompileOptions(name="m", reorder=True),
                          "both": CompileOptions(name="m", reorder=True, patch=patch)}.items():
        arenas[name] = compile_graph(read(model), options).arena_bytes
    report = check_bit_exact(model, samples=2, options=CompileOptions(name="m", reorder=True, patch=patch))
    assert report.bit_exact, first_lines(report)
    assert report.arena_bytes == arenas["both"]
    # Stem 3,072 + 32,768 B, whatever the order; patched, the wide-first branches (2,048 + 24,576 B)
    # set the peak, which branch-by-branch order cuts: the order is chosen again after the split.
    assert (arenas["plain"], arenas["reorder"], arenas["patch"]) == (35840, 35840, 26624), arenas
    assert arenas["both"] == 16384, arenas

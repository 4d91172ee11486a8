"""`mcunet-kws`: TinyNAS for keyword spotting (Speech Commands, 12 classes) under a microcontroller budget.

    mcunet-kws                                   # offline demo data, demo preset, out/kws
    mcunet-kws --data_dir=/data/speech_commands_v0.02 --board=nrf52840 --out_dir=out/kws_nrf

Features: 32 x 32 log-mel (`FEATURES`: 30 ms windows every 31 ms over 1 s, 32 mel bins 20-4000 Hz),
square so the square-resolution supernet takes them unchanged (a fixed resolution: the search
chooses width, depths, kernels and expand ratios). The export puts the matching C front end
(engine/frontend sources + tables generated for `FEATURES`) into `<out>/kws/frontend/` and the
config into `<out>/features.json`; see `finish_export`.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib

from absl import app

from mcunet_tf.apps import cli, common
from mcunet_tf.config import SearchSpace
from mcunet_tf.datasets.features import FeatureConfig

FEATURES = FeatureConfig(window_ms=30, stride_ms=31, num_mel_bins=32, num_coefficients=0)
RESOLUTION = FEATURES.num_frames  # == FEATURES.num_features == 32
SPACES = {
    "demo": SearchSpace(kernel_choices=(3, 5), expand_choices=(2, 3), depth_choices=(1, 2),
                        width_choices=(0.35, 0.5), resolution_choices=(RESOLUTION,), stem_channels=16,
                        first_block_channels=8, stage_channels=(24, 40, 64, 96), stage_strides=(1, 2, 2, 1),
                        num_classes=12, input_channels=1),
    "full": SearchSpace(width_choices=(0.5, 0.75, 1.0), resolution_choices=(RESOLUTION,),
                        stage_channels=(24, 40, 80, 96, 192), stage_strides=(1, 2, 2, 1, 2), num_classes=12,
                        input_channels=1),
}
PRESETS = {
    "demo": common.Settings(epochs=4, batch_size=32, learning_rate=0.05, num_random=1, population=8,
                            generations=2, space_samples=30, bn_batches=2, eval_examples=96, qat_epochs=1,
                            export_train_examples=256, verify_samples=2, compare_repeats=5),
    "full": common.Settings(epochs=30, batch_size=100, learning_rate=0.05, num_random=2, population=100,
                            generations=20, space_samples=1000, bn_batches=10, eval_examples=2000, qat_epochs=3,
                            export_train_examples=10000, verify_samples=10, compare_repeats=20),
}
FRONTEND_CHECK_CLIPS = 8


def subset(index, split: str, limit: int | None, seed: int):
    """`index` with `split` cut to a seeded random `limit` of its items (in the split's order)."""
    import numpy as np

    items = index.splits[split]
    if limit is None or limit >= len(items):
        return index
    pick = sorted(np.random.default_rng(seed).choice(len(items), size=limit, replace=False))
    return dataclasses.replace(index, splits={**index.splits, split: tuple(items[i] for i in pick)})


def dataset(index, config, split: str, augment: bool, limit: int | None):
    """TaskData.dataset: (log-mel features [32, 32, 1], label) of Speech Commands clips."""
    from mcunet_tf.datasets import kws_dataset

    return kws_dataset(subset(index, split, limit, config.seed), split, config, FEATURES, training=augment)


def make_task(data_dir: str | None, preset: str, seed: int, space: SearchSpace | None = None) -> common.Task:
    """The KWS task on `data_dir` (None: the offline demo data); checks every WAV header first.

    `space` replaces the preset's search space; its only resolution must be the features' (32).

    Raises:
        DatasetError: missing folder or lists, a keyword without clips, an unreadable WAV.
        AppError: `space` has another resolution or input channel count than the features.
    """
    space = space or SPACES[preset]
    if space.resolution_choices != (RESOLUTION,) or space.input_channels != 1:
        raise common.AppError(f"KWS features are {FEATURES.shape}: the search space needs resolution_choices="
                              f"({RESOLUTION},) and input_channels=1, got {space.resolution_choices}, "
                              f"{space.input_channels}")
    from mcunet_tf.datasets import KwsConfig, demo_kws, index_speech_commands

    demo = data_dir is None
    root = demo_kws() if demo else pathlib.Path(data_dir).expanduser()
    config = KwsConfig(seed=seed)
    index = index_speech_commands(root, config, FEATURES)
    details = {"classes": ", ".join(index.labels),
               "features": f"{RESOLUTION}x{RESOLUTION} log-mel, FeatureConfig {FEATURES.to_dict()} "
                           "(saved as features.json)"}
    data = common.TaskData(dataset=functools.partial(dataset, index, config), num_train=len(index.splits["train"]),
                           num_validation=len(index.splits["validation"]), source=str(root), demo=demo,
                           details=details)
    return common.Task("kws", "keyword spotting (Speech Commands, 12 classes)", space, data,
                       finish_export=functools.partial(finish_export, index, config))


def input_quant(tflite: pathlib.Path) -> tuple[float, int]:
    """(scale, zero point) of the int8 model's input."""
    from tflite_bridge import read

    graph = read(pathlib.Path(tflite).read_bytes())
    quant = graph.tensors[graph.inputs[0]].quant
    return float(quant.scale[0]), int(quant.zero_point[0])


def write_frontend(c_dir: pathlib.Path, tflite: pathlib.Path) -> list[pathlib.Path]:
    """engine/frontend sources, tables for FEATURES and kws_model_input.h into <c_dir>/frontend/."""
    from mcunet_tf.datasets import frontend_c

    folder = c_dir / "frontend"
    files = frontend_c.write_frontend(FEATURES, folder)
    scale, zero_point = input_quant(tflite)
    header = folder / "kws_model_input.h"
    header.write_text("/* Generated by mcunet-kws: the int8 model input's quantisation (kws_features_int8). */\n"
                      "#ifndef KWS_MODEL_INPUT_H\n#define KWS_MODEL_INPUT_H\n"
                      f"#define KWS_INPUT_SCALE {scale:.9e}f\n#define KWS_INPUT_ZERO_POINT {zero_point}\n"
                      "#endif\n")
    return files + [header]


def check_frontend(index, config, tflite: pathlib.Path, clips: int = FRONTEND_CHECK_CLIPS) -> dict:
    """The C front end on validation clips: its int8 features vs tf.signal's, and the model on them.

    Returns:
        clips, values, differing (int8 values that differ), max_diff (LSB), bit_exact (the generated
        C model vs TFLM on the C front end's inputs, every tensor), same_top_class (clips whose top
        class is the same from both feature paths, TFLM).
    """
    import numpy as np

    from engine.check.bitexact import check_bit_exact
    from engine.check.tflm import Tflm
    from mcunet_tf.datasets import features, frontend_c, kws_audio_dataset

    audio = np.stack([a.numpy() for a, _ in kws_audio_dataset(index, "validation", config, FEATURES,
                                                              training=False).take(clips)])
    scale, zero_point = input_quant(tflite)
    pcm = np.round(audio * 32768.0).astype(np.int16)  # exact: evaluation clips are on the int16 grid
    host = frontend_c.HostFrontend(FEATURES)
    from_c = np.stack([host.features_int8(p, scale, zero_point) for p in pcm])
    from_tf = features.quantize(features.tf_features(audio, FEATURES).numpy(), scale, zero_point)
    diff = np.abs(from_c.astype(np.int32) - from_tf.astype(np.int32))
    data = pathlib.Path(tflite).read_bytes()
    verified = check_bit_exact(data, samples=0, inputs=[[x[None]] for x in from_c])
    runtime = Tflm(data)
    top = [[int(np.argmax(runtime.run([x[None]], 1)[0])) for x in xs] for xs in (from_c, from_tf)]
    return {"clips": len(pcm), "values": int(diff.size), "differing": int(np.count_nonzero(diff)),
            "max_diff": int(diff.max()), "bit_exact": verified.bit_exact,
            "tensors_compared": verified.tensors_compared,
            "same_top_class": int(sum(a == b for a, b in zip(*top, strict=True)))}


def finish_export(index, config, out_dir: pathlib.Path, c_dir: pathlib.Path, tflite: pathlib.Path, val) -> dict:
    """Task.finish_export: features.json, the C front end in the C folder, and its check."""
    del val  # the check needs audio, not features
    FEATURES.save(out_dir / "features.json")
    files = write_frontend(c_dir, tflite)
    check = check_frontend(index, config, tflite)
    scale, zero_point = input_quant(tflite)
    text = (f"`kws/frontend/` holds the feature front end: `kws_features.c/.h` (engine/frontend) and "
            f"`kws_tables.c/.h` generated for `features.json`, plus `kws_model_input.h` (input scale "
            f"{scale:.6g}, zero point {zero_point}). On the device:\n\n```c\n"
            "kws_features_int8(&kws_frontend_config, pcm, 16000, KWS_INPUT_SCALE, KWS_INPUT_ZERO_POINT,\n"
            "                  (int8_t *)kws_input(0), scratch);  /* scratch: kws_features_scratch_bytes() */\n"
            "kws_invoke();\n```\n\n"
            f"Checked on {check['clips']} validation clips: the C front end's int8 features differ from "
            f"tf.signal's (what training used) in {check['differing']} of {check['values']:,} values "
            f"(max {check['max_diff']} LSB); the generated C model on the C front end's features is "
            f"{'bit-exact' if check['bit_exact'] else 'NOT bit-exact'} with TFLM ({check['tensors_compared']} "
            f"tensors); top class equal from both feature paths on {check['same_top_class']} of "
            f"{check['clips']} clips.")
    return {"features": FEATURES.to_dict(), "frontend_files": [str(f) for f in files], "frontend_check": check,
            "report": [("KWS feature front end (C)", text)]}


def main(argv) -> int:
    del argv  # parse_flags refuses positional arguments
    return cli.run_app("kws", make_task, PRESETS)


def run() -> None:
    """The `mcunet-kws` console script."""
    app.run(main, flags_parser=functools.partial(cli.parse_flags, usage=__doc__))


if __name__ == "__main__":
    run()

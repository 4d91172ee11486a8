"""A refactoring guard: the SHA-256 of every generated file and figure, for a fixed set of models.

    python bench/codegen_snapshot.py --out snapshot.json          # write the snapshot
    python bench/codegen_snapshot.py --check snapshot.json        # compare with a stored one

Models: the four MLPerf Tiny int8 models (`mcunet_tf.mlperf`: `$MCUNET_MODELS`, else the
repository's models/mlperf_tiny) and a test zoo (the reorder and patch test graphs, the fuse-pad
graphs and MobileNetV2-0.35@144 of tests/patch, built through tests/oneop.py's cache). Each model is
compiled for every target (host, cortex-m4, cortex-m7) with every option set (default, --reorder,
--patch) and rendered as `tinyengine convert` writes it; every file is hashed. Figures are recorded
too: arena, lower bound and weight bytes per compile, the TFLM offline plan, the per-op memory report.

This proves that a restructuring changes no byte; it does not prove the output right (that is what
the bit-exact tests do).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TARGETS = ("host", "cortex-m4", "cortex-m7")
MLPERF = ("mlperf_kws_ref_model", "mlperf_vww_96_int8", "mlperf_ic_pretrainedResnet_quant", "mlperf_ad01_int8")


def zoo() -> dict[str, bytes]:
    """The test-zoo models: name -> .tflite bytes (converted once, then read from the test cache)."""
    from tests.engine.test_passes import _padded_conv
    from tests.patch.models import mobilenet_v2
    from tests.patch.test_small_models import pooled_cnn, residual_cnn
    from tests.reorder.test_reorder import branching_model_bytes

    models = {
        "reorder_branches": branching_model_bytes(),
        "patch_residual_7_2_same": residual_cnn(7, 2, "same"),
        "patch_residual_3_2_valid": residual_cnn(3, 2, "valid"),
        "patch_pooled_avg": pooled_cnn("avg"),
        "patch_pooled_max": pooled_cnn("max"),
        "fuse_pad_conv": _padded_conv("conv", ((1, 2), (0, 1)), 1, "valid"),
        "fuse_pad_depthwise": _padded_conv("depthwise", ((1, 1), (2, 0)), 1, "same"),
        "mobilenet_v2_0.35_144": mobilenet_v2(),
    }
    return models


def option_sets() -> dict[str, dict]:
    from engine.patch.analysis import PatchOptions

    return {"default": {}, "reorder": {"reorder": True}, "patch": {"patch": PatchOptions()},
            "patch_in_arena": {"patch": PatchOptions(input_in_arena=True)},
            "reorder_patch": {"reorder": True, "patch": PatchOptions()},
            "no_inplace": {"inplace": False}}


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def snapshot_model(name: str, data: bytes) -> dict:
    """Hashes and figures of one model over every target and option set."""
    from engine.compile import CompileOptions, EngineError, compile_graph
    from engine.target import cortexm
    from tflite_bridge import read

    graph = read(data)
    result: dict = {"model_sha256": _sha(data), "compiles": {}}
    for options_name, extra in option_sets().items():
        for target in TARGETS:
            key = f"{options_name}/{target}"
            options = CompileOptions(name="model", target=target, **extra)
            try:
                program = compile_graph(graph, options)
            except EngineError as e:
                result["compiles"][key] = {"error": str(e)}
                continue
            files = cortexm.render(program)
            result["compiles"][key] = {
                "arena_bytes": program.arena_bytes,
                "lower_bound": program.plan.lower_bound,
                "weight_bytes": program.weight_bytes,
                "files": {f: _sha(text) for f, text in sorted(files.items())},
            }
    result["figures"] = _figures(graph)
    return result


def _figures(graph) -> dict:
    """The memory figures other paths compute: the TFLM offline plan and the memory report."""
    from engine.check.memory_report import as_dict, memory_report
    from engine.memory.tflm_plan import plan_for_tflm

    tflm = plan_for_tflm(graph)
    return {
        "tflm_plan": dataclasses.asdict(tflm),
        "memory_report": as_dict(memory_report(graph)),
    }


def snapshot(only: list[str] | None = None) -> dict:
    from mcunet_tf import mlperf

    directory = mlperf.models_dir()
    models = {m: (directory / f"{m}.tflite").read_bytes() for m in MLPERF}
    models.update(zoo())
    out = {}
    for name, data in models.items():
        if only and name not in only:
            continue
        print(f"{name} ...", file=sys.stderr, flush=True)
        out[name] = snapshot_model(name, data)
    return out


def differences(old: dict, new: dict, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        lines = []
        for k in sorted(set(old) | set(new)):
            if k not in old or k not in new:
                lines.append(f"{path}/{k}: only in {'new' if k not in old else 'old'}")
            else:
                lines += differences(old[k], new[k], f"{path}/{k}")
        return lines
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="write the snapshot (JSON) here")
    parser.add_argument("--check", help="compare with this stored snapshot; exit 1 on a difference")
    parser.add_argument("--only", action="append", help="only this model (repeatable)")
    args = parser.parse_args()
    result = json.loads(json.dumps(snapshot(args.only)))  # tuples as lists, as stored
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    if args.check:
        stored = json.loads(pathlib.Path(args.check).read_text())
        if args.only:
            stored = {k: v for k, v in stored.items() if k in args.only}
        diff = differences(stored, result)
        for line in diff[:200]:
            print(line)
        print(f"{len(diff)} difference(s)")
        raise SystemExit(1 if diff else 0)


if __name__ == "__main__":
    main()

"""What the apps measure after export, and `report.md`, written from the stage records alone.

`build_c_folder` compiles the shipped C folder (host runner, and Cortex-M4 objects when
arm-none-eabi-gcc is installed), `compare_with_tflm` runs engine.compare on real validation inputs,
`memory_plot` draws engine.memory_report's per-op plot, and `write_report` turns the records of
common.py into markdown with the figures (so a resumed run rewrites the same report).
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import tempfile

from mcunet_tf.apps.common import KB, STAGES, RunConfig, Task, read_record

M4_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2", "-std=c99", "-Wall",
            "-Wextra", "-Werror")


def build_c_folder(c_dir: pathlib.Path, name: str, build_dir: pathlib.Path) -> dict:
    """Compiles the C folder as shipped: a host runner (-Werror) and, if the toolchain is there, Cortex-M4 objects.

    Returns:
        {"host_runner": path, "cortex_m4": {"text", "rodata", "data", "bss"} or None, ...} where the
        Cortex-M4 sizes are summed over the model's objects (and "frontend_m4" over the front end's).
    """
    from engine.check import build

    build_dir.mkdir(parents=True, exist_ok=True)
    runner = build.build_runner(c_dir, name, build_dir / f"{name}_runner")
    out = {"host_runner": str(runner), "cortex_m4": None, "frontend_m4": None}
    if shutil.which("arm-none-eabi-gcc"):
        out["cortex_m4"] = m4_sizes(c_dir)
        if (c_dir / "frontend").is_dir():
            out["frontend_m4"] = m4_sizes(c_dir / "frontend")
    return out


def m4_sizes(folder: pathlib.Path) -> dict[str, int]:
    """Section sizes of every .c in `folder` compiled for Cortex-M4F (arm-none-eabi-gcc -O2 -Werror)."""
    from engine.check.build import BuildError, add_section_sizes

    sizes = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    with tempfile.TemporaryDirectory(prefix="m4_") as tmp:
        for source in sorted(folder.glob("*.c")):
            obj = pathlib.Path(tmp) / f"{source.stem}.o"
            proc = subprocess.run(["arm-none-eabi-gcc", *M4_FLAGS, f"-I{folder}", "-c", str(source), "-o", str(obj)],
                                  capture_output=True, text=True)
            if proc.returncode:
                raise BuildError(f"arm-none-eabi-gcc {source}: {proc.stderr.strip()[:400]}")
            listing = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True,
                                     check=True).stdout
            add_section_sizes(sizes, listing)
    return sizes


def compare_with_tflm(tflite: pathlib.Path, name: str, images, repeats: int, seed: int) -> dict:
    """engine.compare on the validation `images` (int8-quantised as the model's input) plus one random input."""
    from engine.check.compare import compare
    from engine.compile import CompileOptions
    from mcunet_tf import qat

    data = pathlib.Path(tflite).read_bytes()
    inputs = [[x[None]] for x in qat.quantize_input(data, images)]
    comparison = compare(data, samples=1, seed=seed, repeats=repeats, options=CompileOptions(name=name),
                         inputs=inputs)
    return dict(comparison.as_dict(), tflite_bytes=len(data))


def memory_plot(tflite: pathlib.Path, name: str, tflm_head: int, path: pathlib.Path) -> pathlib.Path:
    """The per-op live-memory plot (ours beside TFLM's plan) of the exported model."""
    from engine.check import memory_report
    from engine.compile import CompileOptions
    from tflite_bridge import read

    report = memory_report.memory_report(read(pathlib.Path(tflite).read_bytes()), CompileOptions(name=name),
                                         tflm_measured=tflm_head or None)
    return memory_report.plot(report, path, title=f"{name}: activation memory live at each op")


def loss_plot(train: dict, path: pathlib.Path) -> pathlib.Path | None:
    """Sandwich losses per step (largest and smallest subnet); None when this run trained no steps."""
    result = train.get("result") or {}
    if not result.get("losses_largest"):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    start = result.get("resumed_from", 0)
    for key, label in (("losses_largest", "largest subnet"), ("losses_smallest", "smallest subnet")):
        ax.plot(range(start + 1, start + 1 + len(result[key])), result[key], label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (largest: labels; smallest: distilled)")
    ax.set_title("Supernet training (sandwich rule)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- report.md


def _kb(n: int | None) -> str:
    return "-" if n is None else f"{n:,} B ({n / KB:.1f} kB)"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _header(task: Task, run: RunConfig) -> list[str]:
    from mcunet_tf.datasets import DEMO_NOTE

    lines = [f"# mcunet-{task.name}: {task.title}", ""]
    if task.data.demo:
        lines += [f"> **{DEMO_NOTE}**", ""]
    b = run.budget
    lines += [
        "## Run", "",
        f"- data: `{task.data.source}` ({'offline demo data' if task.data.demo else 'user data'}): "
        f"{task.data.num_train:,} training, {task.data.num_validation:,} validation items",
        f"- budget ({run.budget_source}), for the model only: SRAM <= {_kb(b.sram_bytes)} for the engine's arena "
        f"(activations + scratch); Flash <= {_kb(b.flash_bytes)} for weights + constants + kernel code",
        f"- preset `{run.preset}`, seed {run.seed}, stages run this time: {', '.join(run.stages)}",
    ]
    lines += [f"- {key}: {value}" for key, value in task.data.details.items()]
    return lines + [""]


def _train_section(train: dict | None, out: pathlib.Path) -> list[str]:
    if not train or not train.get("result"):
        return ["## 1. Supernet training", "", "not run yet", ""]
    s, r = train["settings"], train["result"]
    lines = ["## 1. Supernet training", "",
             f"{r['steps']} steps of {s['batch_size']} ({s['epochs']} epochs), sandwich rule with "
             f"{s['num_random']} random subnets, in-place distillation; checkpoints in `supernet/`."]
    if r.get("final_loss_largest") is not None:
        lines.append(f"Final losses (mean of the last fifth of this run's steps): largest subnet "
                     f"{r['final_loss_largest']:.3f}, smallest {r['final_loss_smallest']:.3f}.")
    if loss_plot(train, out / "training_loss.png"):
        lines += ["", "![training loss](training_loss.png)"]
    return lines + [""]


def _search_section(search: dict | None) -> list[str]:
    if not search or not search.get("result"):
        return ["## 2. Search", "", "not run yet", ""]
    r, s = search["result"], search["settings"]
    c = r["config"]
    lines = ["## 2. Search (TinyNAS)", "",
             f"Search-space optimisation over {len(r['spaces'])} (width, resolution) pairs, "
             f"{s['space_samples']} subnets each; chosen: width {r['width']:g}, resolution {r['resolution']}.",
             f"Evolution: population {s['population']}, {s['generations']} generations, {r['evaluated']} subnets "
             f"scored, {r['rejected']} over-budget children rejected. Fitness: top-1 of the inherited subnet "
             f"(BatchNorm re-estimated) on {r.get('validation_examples', s['eval_examples'])} validation items.", "",
             "| best subnet | value |", "|---|---|",
             f"| depths | {c['depths']} |", f"| kernels | {c['kernels']} |", f"| expands | {c['expands']} |",
             f"| validation accuracy (float, inherited weights) | {_pct(r['accuracy'])} |",
             f"| SRAM (engine arena) | {_kb(r['sram_bytes'])} of {_kb(s['budget']['sram_bytes'])} |",
             f"| Flash (constants + kernel code) | {_kb(r['flash_bytes'])} of {_kb(s['budget']['flash_bytes'])} |",
             f"| MACs | {r['macs']:,} |", *_latency_row(r, s['budget']), "",
             "![search-space CDF](space_cdf.png)", "", "![evolution](population.png)",
             "", "Log: `search_log.jsonl` (one line per generation)."]
    return lines + [""]


def _latency_row(result: dict, budget: dict) -> list[str]:
    if "instructions" not in result:  # a search record written before the latency model
        return []
    bound = budget.get("max_instructions")
    limit = f" (bound {bound:,})" if bound else ""
    ms = result["instructions"] / 216e3
    return [f"| latency: predicted Cortex-M7 instructions | {result['instructions']:,}{limit}, "
            f"~{ms:,.1f} ms at 216 MHz, 1 per cycle |"]


def _comparison_table(c: dict) -> list[str]:
    return ["| | ours (generated C) | TFLM |", "|---|---|---|",
            f"| bit-exact | {'yes' if c['bit_exact'] else 'NO'}: {c['tensors_compared']} tensors, "
            f"{c['samples']} inputs | (oracle) |",
            f"| SRAM: arena | {c['arena_bytes']:,} B | {c['tflm_arena_bytes']:,} B "
            f"(head {c['tflm_arena_head_bytes']:,} B) |",
            f"| activation lower bound | {c['lower_bound_bytes']:,} B | |",
            f"| Flash: weights | {c['weight_bytes']:,} B | .tflite file {c['tflite_bytes']:,} B |",
            f"| host code / constants (-O2) | {c['code_bytes']:,} B / {c['const_bytes']:,} B | |",
            f"| host latency (median) | {c['host_latency_us']:,.1f} us | {c['tflm_latency_us']:,.1f} us |",
            f"| MACs | {c['macs']:,} | |"]


def _export_section(task: Task, export: dict | None) -> list[str]:
    if not export or not export.get("result"):
        return ["## 3. Export", "", "not run yet", ""]
    r = export["result"]
    e, c, built = r["export"], r["comparison"], r["built"]
    lines = ["## 3. Export", "",
             (f"QAT ({export['settings']['qat_epochs']} epochs on {r['train_examples']} examples), "
              "full-int8 conversion."
              if e["method"] == "qat" else
              f"Post-training quantisation (calibrated on {r['train_examples']} examples), full-int8 conversion."),
             "", "| | value |", "|---|---|",
             f"| float accuracy (validation, {r['validation_examples']}) | {_pct(e['float_accuracy'])} |",
             f"| int8 accuracy (TFLM = generated C) | {_pct(e['int8_accuracy'])} |",
             f"| SRAM (arena) | {_kb(e['sram_bytes'])} |", f"| Flash (constants + Cortex-M4 kernel code) | "
             f"{_kb(e['flash_bytes'])} |",
             f"| bit-exact with TFLM (export check) | {'yes' if e['bit_exact'] else 'NO'} |"]
    if built.get("cortex_m4"):
        m4 = built["cortex_m4"]
        lines.append(f"| Cortex-M4 build of the C folder (-O2) | .text {m4['text']:,} B, .rodata {m4['rodata']:,} B, "
                     f".bss {m4['bss']:,} B |")
    if built.get("frontend_m4"):
        fe = built["frontend_m4"]
        lines.append(f"| Cortex-M4 build of the feature front end (-O2) | .text {fe['text']:,} B, "
                     f".rodata {fe['rodata']:,} B (not in the model budget) |")
    lines += ["", f"Files: `{task.name}.tflite`, the C folder `{task.name}/` (built: `build/{task.name}_runner`), "
              f"`{task.name}.json`.", "", "### Beside TFLM (engine.compare)", ""] + _comparison_table(c)
    lines += ["", "![memory per op](memory.png)", ""]
    for title, text in r.get("extras", {}).get("report", []):
        lines += [f"### {title}", "", text, ""]
    return lines


def summary(run: RunConfig) -> str:
    """The end of a run on the terminal: accuracies and the side-by-side table, from the export record."""
    export = read_record(run.out_dir, "export")
    if not export or not export.get("result"):
        return "no export yet: the side-by-side table comes with the export stage"
    e, c = export["result"]["export"], export["result"]["comparison"]
    lines = [f"int8 model {e['tflite_path']}: validation accuracy float {_pct(e['float_accuracy'])}, "
             f"int8 (TFLM = C) {_pct(e['int8_accuracy'])}; C folder {e['c_dir']}", ""]
    return "\n".join(lines + _comparison_table(c))


def write_report(task: Task, run: RunConfig) -> pathlib.Path:
    """Writes <out>/report.md from the stage records (and the figures next to it)."""
    records = {stage: read_record(run.out_dir, stage) for stage in STAGES}
    lines = _header(task, run) + _train_section(records["train"], run.out_dir)
    lines += _search_section(records["search"]) + _export_section(task, records["export"])
    path = run.out_dir / "report.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path

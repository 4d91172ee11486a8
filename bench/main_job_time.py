"""The main job's own time, compiled vs eager supernet step and scoring, side by side in one run.

    python bench/main_job_time.py [--rounds 1] [--json] [-- extra mcunet-vww flags]

Runs the README's main job (`mcunet-vww --preset=demo --sram_kb=24 --flash_kb=48`, after set-up)
into a fresh --out_dir, once with `MCUNET_TF_STEP=eager` (the former eager sandwich step and the
extract-per-candidate fitness) and once with the default compiled step and scoring, alternating
for --rounds rounds. Same settings, steps, population, generations, epochs, report and checks;
the stage times come from each stage record's `seconds`, the total is the command's wall time.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMAND = ["mcunet-vww", "--preset=demo", "--sram_kb=24", "--flash_kb=48", "--noprogress"]
STAGES = ("train", "search", "export")

_ROUNDS = flags.DEFINE_integer("rounds", 1, "eager/compiled pairs run, alternating")
_JSON = flags.DEFINE_bool("json", False, "print JSON instead of a table")


def run_once(kind: str, out_dir: pathlib.Path, extra: list[str]) -> dict:
    env = dict(os.environ, MCUNET_TF_STEP=kind, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    done = subprocess.run([*COMMAND, f"--out_dir={out_dir}", *extra], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"error: {kind} run failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    records = {stage: json.loads((out_dir / f"{stage}.json").read_text()) for stage in STAGES}
    export = records["export"]["result"]
    return {"step": kind, "wall_s": wall, **{f"{stage}_s": records[stage].get("seconds") for stage in STAGES},
            "bit_exact": bool(export["export"]["bit_exact"] and export["comparison"]["bit_exact"]),
            "int8_accuracy": export["export"]["int8_accuracy"],
            "searched": records["search"]["result"].get("config")}


def main(argv) -> int:
    extra = argv[1:]
    rows = []
    with tempfile.TemporaryDirectory(prefix="main_job_") as tmp:
        for index in range(_ROUNDS.value):
            for kind in ("eager", "compiled"):
                out_dir = pathlib.Path(tmp) / f"{kind}{index}"
                rows.append(run_once(kind, out_dir, extra))
                shutil.rmtree(out_dir, ignore_errors=True)
    summary = {}
    for kind in ("eager", "compiled"):
        mine = [r for r in rows if r["step"] == kind]
        summary[kind] = {key: statistics.median(r[key] for r in mine)
                         for key in ("wall_s", "train_s", "search_s", "export_s")}
    summary["ratio_wall"] = summary["compiled"]["wall_s"] / summary["eager"]["wall_s"]
    if _JSON.value:
        print(json.dumps({"runs": rows, "median": summary}, indent=2))
        return 0
    print("| step | wall s | train s | search s | export s |\n|---|---|---|---|---|")
    for kind in ("eager", "compiled"):
        s = summary[kind]
        print(f"| {kind} | {s['wall_s']:.1f} | {s['train_s']:.1f} | {s['search_s']:.1f} | {s['export_s']:.1f} |")
    print(f"compiled / eager wall time: {summary['ratio_wall']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(app.run(main))

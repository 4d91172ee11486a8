"""Executes the notebooks in place, so the committed copies show their outputs (tables, plots).

    python colab/execute.py                       # all three, at their own (demo-data) settings
    python colab/execute.py tinynas_vww           # one

Each runs top to bottom in a fresh kernel from colab/, with the notebooks' defaults: the repository's
MLPerf Tiny VWW model for convert_tflite, the offline demo data for the TinyNAS ones, outputs under
out/notebooks/ (finished stages there are resumed: delete that folder for a run from scratch). The
test suite executes them separately, small (tests/apps/test_notebooks.py). A notebook that fails is
not written; the exit code is 1.

Streams are coalesced as a notebook front end shows them (a progress bar is its last state, not every
redraw), and the streams lose lines that describe this machine or run rather than the notebook:
TensorFlow's C++ start-up log (oneDNN, CUDA probing; printed whatever TF_CPP_MIN_LOG_LEVEL says),
tqdm's note that ipywidgets is not installed, and the SavedModel writer's temporary folder.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import sys
import time

import nbclient
import nbformat

COLAB = pathlib.Path(__file__).resolve().parent
NOTEBOOKS = ("convert_tflite", "tinynas_vww", "kws_end_to_end")
# Variables the test suite sets to shrink the notebooks; a regeneration must not inherit them.
TEST_OVERRIDES = ("MCUNET_NOTEBOOK_SMALL", "MCUNET_NOTEBOOK_OUT", "MCUNET_MODEL", "MCUNET_REPEATS")
MACHINE_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\).*"  # TensorFlow's C++ start-up log
    r"|[IWE]\d{4} \S+ +\d+ \S+:\d+\] .*"
    r"|.*TqdmWarning: IProgress not found.*|  from \.autonotebook import tqdm as notebook_tqdm"
    r"|INFO:tensorflow:Assets written to: /tmp/.*)\n?", re.M)  # the last: a temporary folder of the run


def drop_machine_noise(notebook: nbformat.NotebookNode) -> None:
    """Removes MACHINE_NOISE lines from stream outputs, and outputs left empty."""
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = MACHINE_NOISE.sub("", output["text"])
                if not output["text"].strip():
                    continue
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept


def execute(name: str, timeout: int) -> float:
    """Runs colab/<name>.ipynb and writes it back with its outputs; returns the seconds it took."""
    path = COLAB / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    start = time.monotonic()
    # record_timing off: no per-cell timestamps, so a rerun changes only what the outputs say.
    nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                            coalesce_streams=True, resources={"metadata": {"path": str(COLAB)}}).execute()
    drop_machine_noise(notebook)
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"notebooks among {', '.join(NOTEBOOKS)} (default: all)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(NOTEBOOKS))
    if unknown:
        parser.error(f"unknown notebooks {unknown}; choose among {', '.join(NOTEBOOKS)}")
    for var in TEST_OVERRIDES:
        os.environ.pop(var, None)
    failed = []
    for name in args.names or NOTEBOOKS:
        try:
            seconds = execute(name, args.timeout)
        except nbclient.exceptions.CellExecutionError as error:
            print(f"{name}: FAILED, not written\n{str(error)[-2000:]}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        print(f"{name}: executed in {seconds:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

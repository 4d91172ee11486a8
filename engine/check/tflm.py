"""The TFLM baseline: the PyPI `tflite-micro` runtime as oracle and yardstick.

Outputs and every intermediate tensor (kPreserveAllTensors) for verification;
its arena figures (read from `print_allocations`, which writes to the C-level
stderr) and its host latency for the side-by-side comparison.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import tempfile
import time

import numpy as np

ORACLE_ARENA = 16 << 20  # generous: tensors are all preserved in verify mode


def _runtime():
    from tflite_micro import runtime

    return runtime


class Tflm:
    """One TFLM interpreter over `model` bytes."""

    def __init__(self, model: bytes, preserve_all: bool = False, arena_size: int = ORACLE_ARENA):
        rt = _runtime()
        config = rt.InterpreterConfig.kPreserveAllTensors if preserve_all else rt.InterpreterConfig.kAllocationRecording
        with _captured_fd2():
            self.interp = rt.Interpreter.from_bytes(model, arena_size=arena_size, intrepreter_config=config)

    def run(self, inputs: list[np.ndarray], num_outputs: int) -> list[np.ndarray]:
        for k, x in enumerate(inputs):
            self.interp.set_input(x, k)
        self.interp.invoke()
        return [np.array(self.interp.get_output(k)) for k in range(num_outputs)]

    def tensor(self, tid: int) -> np.ndarray:
        return np.array(self.interp.GetTensor(tid, 0)["tensor_data"])

    def arena(self) -> dict[str, int]:
        """TFLM's arena use: total, head (planned activations) and tail (persistent)."""
        with _captured_fd2() as tmp:
            self.interp.print_allocations()
        text = tmp.text
        out = {}
        for key in ("total", "head", "tail"):
            m = re.search(rf"Arena allocation {key} (\d+) bytes", text)
            if m:
                out[key] = int(m.group(1))
        return out

    def latency_us(self, inputs: list[np.ndarray], repeats: int = 20) -> float:
        """Median wall time of `invoke()` in microseconds (inputs set outside the timing)."""
        times = []
        for k, x in enumerate(inputs):
            self.interp.set_input(x, k)
        self.interp.invoke()  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter_ns()
            self.interp.invoke()
            times.append(time.perf_counter_ns() - t0)
        return statistics.median(times) / 1000.0


class _Captured:
    text = ""


@contextlib.contextmanager
def _captured_fd2():
    """Send the C-level stderr to a temporary file; its text lands in `.text`."""
    result = _Captured()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            yield result
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            result.text = tmp.read().decode(errors="replace")

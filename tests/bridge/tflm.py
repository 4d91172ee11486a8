"""Run models in the TFLM runtime (the project's oracle) for bridge tests."""

from __future__ import annotations

import numpy as np
from tflite_micro import runtime

ARENA_BYTES = 4 << 20  # the float VWW model needs ~1 MB; generous is fine on the host


def random_inputs(model: bytes, count: int, seed: int) -> list[np.ndarray]:
    """`count` seeded random inputs for input 0: full int8 range, or N(0, 1) floats."""
    details = runtime.Interpreter.from_bytes(
        model, arena_size=ARENA_BYTES
    ).get_input_details(0)
    rng = np.random.default_rng(seed)
    shape, dtype = details["shape"], np.dtype(details["dtype"])
    if dtype.kind == "f":
        return [rng.standard_normal(shape).astype(dtype) for _ in range(count)]
    info = np.iinfo(dtype)
    return [
        rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
        for _ in range(count)
    ]


def run(
    model: bytes,
    inputs: list[np.ndarray],
    tensors: tuple[int, ...] = (),
    arena_size: int = ARENA_BYTES,
) -> list[list[np.ndarray]]:
    """For each input: output 0 followed by the values of `tensors` after invoke."""
    config = (
        runtime.InterpreterConfig.kPreserveAllTensors
        if tensors
        else runtime.InterpreterConfig.kAllocationRecording
    )
    interp = runtime.Interpreter.from_bytes(
        model, arena_size=arena_size, intrepreter_config=config
    )
    results = []
    for x in inputs:
        interp.set_input(x, 0)
        interp.invoke()
        values = [interp.get_output(0).copy()]
        values += [np.array(interp.GetTensor(t, 0)["tensor_data"]) for t in tensors]
        results.append(values)
    return results

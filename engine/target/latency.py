"""Cortex-M latency from shapes: instructions per op, fitted to exact QEMU counts of our kernels.

Every kernel's instruction count follows its loop trip counts, which the op's shapes fix. The model
gives each op class (kind plus kernel size and stride for convolutions: "DEPTHWISE_CONV_2D 5x5/2")
a non-negative linear form over a few shape features:

    instructions ~ c0 + c1 * macs + c2 * out_elements + c3 * in_elements + c4 * out_pixels + c5 * edge_elements

(`edge_elements` is (out_h + out_w) * channels: border handling in padded windows). Coefficients
come from `fit` on per-op counts of the profile build (`engine.target.on_target.profile_program`);
`bench/latency_fit.py` measures a set of subnets and shared models, fits, reports the error on
held-out subnets and writes `latency_<target>.json` beside this module, which `load` reads.

Counts are instructions executed under QEMU (-icount), not cycles: on a Cortex-M7 most of our
inner-loop instructions issue in one cycle, so they are a latency figure, not a cycle count.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from tflite_bridge import analysis
from tflite_bridge.ir import ABSENT, Graph

FEATURES = ("ops", "macs", "out_elements", "in_elements", "out_pixels", "edge_elements")
ANY = "*"  # the class every op falls back to when neither its class nor its kind was measured
HERE = pathlib.Path(__file__).resolve().parent


class LatencyError(ValueError):
    """No latency model for a target, or a model file that cannot be read."""


def op_class(graph: Graph, index: int) -> str:
    """The op's class: its kind, with kernel size and stride for convolutions ("CONV_2D 1x1/1")."""
    op = graph.ops[index]
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kh, kw = graph.tensors[op.inputs[1]].shape[1:3]
        return f"{op.kind} {kh}x{kw}/{op.attrs.stride_h}"
    return op.kind


def op_features(graph: Graph, index: int) -> np.ndarray:
    """The op's `FEATURES`, as float64."""
    op = graph.ops[index]
    out = graph.tensors[op.outputs[0]]
    first = op.inputs[0] if op.inputs else ABSENT
    in_elements = graph.tensors[first].num_elements if first != ABSENT else 0
    if len(out.shape) == 4:
        _, h, w, c = out.shape
        pixels, edge = h * w, (h + w) * c
    else:
        pixels, edge = 1, 0
    return np.array([1, analysis.op_macs(graph, index), out.num_elements, in_elements, pixels, edge], np.float64)


@dataclasses.dataclass(frozen=True)
class LatencyModel:
    """Per-class coefficients over `FEATURES` for one target.

    Attributes:
        target: the core the counts were measured on, e.g. "cortex-m7".
        coefficients: op class (or kind, or `ANY`) -> one coefficient per feature.
        samples: measured ops behind each entry of `coefficients`.
    """

    target: str
    coefficients: Mapping[str, tuple[float, ...]]
    samples: Mapping[str, int]

    def _coefficients(self, graph: Graph, index: int) -> tuple[float, ...]:
        for key in (op_class(graph, index), graph.ops[index].kind, ANY):
            if key in self.coefficients:
                return self.coefficients[key]
        raise LatencyError(f"latency model for {self.target} has no entry for op {index} "
                           f"({graph.ops[index].kind}) nor a fallback")

    def op_instructions(self, graph: Graph, index: int) -> float:
        """Predicted instructions of op `index`."""
        return float(np.dot(self._coefficients(graph, index), op_features(graph, index)))

    def instructions(self, graph: Graph) -> int:
        """Predicted instructions of one inference (every op, in order)."""
        return round(sum(self.op_instructions(graph, i) for i in range(len(graph.ops))))

    def as_dict(self) -> dict:
        return {"target": self.target, "features": list(FEATURES),
                "coefficients": {k: list(v) for k, v in sorted(self.coefficients.items())},
                "samples": dict(sorted(self.samples.items()))}

    @classmethod
    def from_dict(cls, data: dict) -> LatencyModel:
        if data.get("features") != list(FEATURES):
            raise LatencyError(f"latency model features {data.get('features')} are not {list(FEATURES)}")
        coefficients = {k: tuple(float(c) for c in v) for k, v in data["coefficients"].items()}
        return cls(data["target"], coefficients, {k: int(v) for k, v in data["samples"].items()})


def fit(target: str, measured: Iterable[tuple[Graph, Sequence[int]]], min_samples: int = 3) -> LatencyModel:
    """Non-negative least squares per op class (and per kind, and `ANY`) on measured per-op counts.

    Args:
        target: the core the counts come from.
        measured: (graph, instructions of each op in graph order) pairs.
        min_samples: classes with fewer measured ops get no entry of their own (their kind's is used).
    """
    from scipy.optimize import nnls

    rows: dict[str, list[tuple[np.ndarray, int]]] = {}
    for graph, counts in measured:
        if len(counts) != len(graph.ops):
            raise LatencyError(f"{len(counts)} counts for a graph of {len(graph.ops)} ops")
        for i, n in enumerate(counts):
            row = (op_features(graph, i), int(n))
            for key in {op_class(graph, i), graph.ops[i].kind, ANY}:
                rows.setdefault(key, []).append(row)
    coefficients, samples = {}, {}
    for key, data in rows.items():
        if len(data) < min_samples and key != ANY:
            continue
        a = np.stack([f for f, _ in data])
        b = np.array([n for _, n in data], np.float64)
        # Scale columns to unit norm so NNLS treats the features alike, then undo.
        norms = np.linalg.norm(a, axis=0)
        norms[norms == 0] = 1.0
        x, _ = nnls(a / norms, b)
        coefficients[key] = tuple(float(c) for c in x / norms)
        samples[key] = len(data)
    return LatencyModel(target, coefficients, samples)


def model_path(target: str) -> pathlib.Path:
    return HERE / f"latency_{target}.json"


@functools.lru_cache(maxsize=None)
def load(target: str = "cortex-m7") -> LatencyModel:
    """The shipped model for `target` (written by bench/latency_fit.py)."""
    path = model_path(target)
    if not path.is_file():
        raise LatencyError(f"no latency model for {target!r} ({path.name} is missing; bench/latency_fit.py writes it)")
    try:
        return LatencyModel.from_dict(json.loads(path.read_text()))
    except (KeyError, TypeError, ValueError) as e:
        raise LatencyError(f"{path}: not a latency model ({e})") from None

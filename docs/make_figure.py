"""The README's picture: activation memory live at each op of the MLPerf Tiny VWW model, ours beside TFLM.

    python docs/make_figure.py            # writes docs/memory_vww.png

The model is the repository's copy (mcunet_tf.mlperf; $MCUNET_MODELS overrides it); TFLM's planned
head is measured with the PyPI tflite-micro runtime, as colab/convert_tflite.ipynb does.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.check import memory_report  # noqa: E402
from engine.check.tflm import Tflm  # noqa: E402
from engine.compile import CompileOptions  # noqa: E402
from mcunet_tf import mlperf  # noqa: E402
from tflite_bridge import read  # noqa: E402

OUT = ROOT / "docs" / "memory_vww.png"
TITLE = "MLPerf Tiny VWW (MobileNetV1 0.25, 96x96 int8): activation memory live at each op"


def main() -> int:
    model = mlperf.int8_model("vww")
    head = Tflm(model.read_bytes()).arena()["head"]
    report = memory_report.memory_report(read(model), CompileOptions(name="vww"), tflm_measured=head)
    print(memory_report.plot(report, OUT, title=TITLE).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())

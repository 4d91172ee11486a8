"""tflite_bridge: TFLite flatbuffers <-> the typed IR of mcunet-tf."""

from tflite_bridge.ir import ABSENT, BridgeError, DType, Graph, Op, Quant, Tensor, verify
from tflite_bridge.reader import read
from tflite_bridge.writer import offline_plan, with_offline_plan, write

__all__ = [
    "ABSENT",
    "BridgeError",
    "DType",
    "Graph",
    "Op",
    "Quant",
    "Tensor",
    "offline_plan",
    "read",
    "verify",
    "with_offline_plan",
    "write",
]

"""tflite_bridge: TFLite flatbuffers <-> the typed IR of mcunet-tf."""

from tflite_bridge.ir import ABSENT, BridgeError, DType, Graph, Op, Quant, Tensor, verify
from tflite_bridge.reader import read

__all__ = ["ABSENT", "BridgeError", "DType", "Graph", "Op", "Quant", "Tensor", "read", "verify"]

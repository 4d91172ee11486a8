"""engine: int8 TFLite -> static-memory C, bit-exact with TFLM."""

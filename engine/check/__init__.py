"""Above the compiler: build the C folder, run it beside TFLM and check it bit-exact, compare SRAM,
Flash and latency, and the per-op memory report."""

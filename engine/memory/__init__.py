"""Memory: lifetimes (which tensors share storage, when each buffer lives) -> a planner algorithm
chosen by name (buffers -> offsets) -> a checked plan; the live-bytes lower bound; TFLM's view."""

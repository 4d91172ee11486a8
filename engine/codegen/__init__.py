"""Program -> C: the model source and header (emitter), the patch stage's code, the C folder.

The public entry points are `render(program) -> {file: text}` and
`write_folder(files, out)`; the Cortex-M targets add their harness
(engine/target/cortexm.py).
"""

from engine.codegen.cwriter import CWriter, c_int, c_value, emit_array
from engine.codegen.emitter import kernel_stems, model_c, model_h
from engine.codegen.folder import TEMPLATES, kernel_files, render, write_folder
from engine.lower.call import CTYPES, KERNELS

__all__ = ["CTYPES", "KERNELS", "TEMPLATES", "CWriter", "c_int", "c_value", "emit_array", "kernel_files",
           "kernel_stems", "model_c", "model_h", "render", "write_folder"]

"""Program -> a self-contained C folder (model, weights, kernels, build files), written atomically.

`render` gives every file as text; `write_folder` writes them: a temporary
sibling folder renamed into place, so an error never leaves a half-written project.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import tempfile

from engine.codegen.emitter import kernel_stems, model_c, model_h
from engine.lower.call import KERNELS
from engine.program import Program

TEMPLATES = pathlib.Path(__file__).parent / "templates"


def kernel_files(program: Program) -> list[pathlib.Path]:
    """The kernel .c/.h files the program's calls need, with their includes."""
    stems = kernel_stems(program)
    wanted: list[pathlib.Path] = []
    queue = [KERNELS / f"{s}.h" for s in stems] + [KERNELS / f"{s}.c" for s in stems]
    while queue:
        path = queue.pop(0)
        if path in wanted or not path.exists():
            continue
        wanted.append(path)
        for inc in re.findall(r'#include "([^"]+)"', path.read_text()):
            queue.append(KERNELS / inc)
    return sorted(wanted)


def render(program: Program) -> dict[str, str]:
    """All files of the C folder, name -> text."""
    name = program.options.name
    files = {f"{name}.h": model_h(program), f"{name}.c": model_c(program)}
    for path in kernel_files(program):
        files[path.name] = path.read_text()
    sources = sorted(f for f in files if f.endswith(".c"))
    subst = {
        "NAME": name,
        "UPNAME": name.upper(),
        "SOURCES": " ".join(sources),
        "ARENA": str(program.arena_bytes),
        "WEIGHTS": str(program.weight_bytes),
        "LOWER_BOUND": str(program.plan.lower_bound),
        "OPS": str(len(program.graph.ops)),
    }
    for template in ("Makefile", "CMakeLists.txt", "README.md"):
        text = (TEMPLATES / template).read_text()
        files[template] = re.sub(r"@(\w+)@", lambda m: subst[m.group(1)], text)
    return files


def write_folder(files: dict[str, str], out: os.PathLike) -> pathlib.Path:
    """Write `files` into folder `out` atomically (replacing an earlier run's folder)."""
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for fname, text in sorted(files.items()):
            (tmp / fname).parent.mkdir(parents=True, exist_ok=True)  # e.g. harness/ of Cortex-M targets
            (tmp / fname).write_text(text)
        if out.exists():
            old = out.with_name(f".{out.name}.old.{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out

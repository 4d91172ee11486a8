"""Cortex-M targets: the bench harness files and the arm-none-eabi-gcc build.

A folder generated for a Cortex-M target holds the model exactly as for the
host, plus `harness/`: startup code, a linker script for the QEMU board,
semihosting I/O, an exact instruction counter and a bench main (templates in
engine/target/templates). Users drop only the model files into their firmware;
the harness exists to run and measure the model under QEMU.

Everything (kernels included) is compiled with the target's -mcpu, so a kernel
can pick DSP code with the compiler's `__ARM_FEATURE_DSP` or the
`TE_TARGET_CORTEX_M4` / `TE_TARGET_CORTEX_M7` macros, and a lowering with
`LowerOptions.target`.

Optimisation: -O3 for every file. It executes far fewer instructions than
-O2, the metric the project optimises (Cortex-M7, generic C kernels: KWS
17.86M vs 27.09M, AD 1.29M vs 2.31M; -Os 32.47M / 3.45M) for about 4.5 kB
more code on KWS. -O2 stays one `OPT=-O2` away in the harness Makefile.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import shutil
import subprocess

from engine import codegen
from engine.check.build import BuildError
from engine.compile import Program

TEMPLATES = pathlib.Path(__file__).parent / "templates"
HARNESS = "harness"
OPT = "-O3"
WARNINGS = ("-std=c99", "-Wall", "-Wextra", "-Werror")
STACK_BYTES = 64 * 1024
DEBIAN_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
HARNESS_SOURCES = ("te_bench_main.c", "te_startup.c", "te_semihost.c", "te_icount.c", "te_icount.S")
HARNESS_FILES = HARNESS_SOURCES + ("te_semihost.h", "te_icount.h", "te_stub_model.c", "README.md")
VARIANTS = ("bench", "trace", "profile", "stub")


@dataclasses.dataclass(frozen=True)
class Target:
    """One Cortex-M core on one QEMU board.

    Attributes:
        name: the --target value, e.g. "cortex-m7".
        machine: the QEMU board (`qemu-system-arm -M`).
        cpu_flags: arm-none-eabi-gcc flags selecting core, FPU and ABI.
        flash: (origin, length) of the memory that plays Flash.
        ram: (origin, length) of the memory that plays SRAM.
    """

    name: str
    machine: str
    cpu_flags: tuple[str, ...]
    flash: tuple[int, int]
    ram: tuple[int, int]

    @property
    def macro(self) -> str:
        return "TE_TARGET_" + re.sub(r"\W", "_", self.name.upper())


# Both boards (QEMU 7.2 hw/arm/mps2.c) map 4 MB of ZBT SSRAM1 at 0 and 4 MB of
# ZBT SSRAM2/3 at 0x20000000, and a CMSDK APB timer at 0x40000000 clocked at 25 MHz.
_SSRAM1 = (0x00000000, 4 << 20)
_SSRAM23 = (0x20000000, 4 << 20)
TARGETS = {
    "cortex-m4": Target("cortex-m4", "mps2-an386",
                        ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"), _SSRAM1, _SSRAM23),
    "cortex-m7": Target("cortex-m7", "mps2-an500",
                        ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"), _SSRAM1, _SSRAM23),
}
TARGET_NAMES = ("host",) + tuple(TARGETS)


def target(name: str) -> Target:
    if name not in TARGETS:
        raise BuildError(f"unknown target {name!r}; choose one of {', '.join(TARGET_NAMES)}")
    return TARGETS[name]


class ToolchainError(BuildError):
    """arm-none-eabi-gcc or qemu-system-arm is missing."""


def check_toolchain(need_qemu: bool = True) -> None:
    """Raise ToolchainError naming the Debian packages when a tool is not on PATH."""
    tools = ["arm-none-eabi-gcc", "arm-none-eabi-size"] + (["qemu-system-arm"] if need_qemu else [])
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise ToolchainError(f"{' and '.join(missing)} not found on PATH; install the Debian packages "
                             f"{DEBIAN_PACKAGES} (apt-get install {DEBIAN_PACKAGES})")


def compile_flags(t: Target, name: str, variant: str, ops: int, opt: str = OPT) -> list[str]:
    """Flags for every source of one ELF; `variant` is one of VARIANTS."""
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r} is not one of {VARIANTS}")
    flags = [*t.cpu_flags, opt, *WARNINGS, "-ffunction-sections", "-fdata-sections", f"-D{t.macro}",
             f"-DTE_PREFIX={name}", f'-DTE_HEADER="{name}.h"']
    if variant == "trace":
        flags.append("-DTE_TRACE")
    if variant == "profile":
        flags += ["-DTE_TRACE", "-DTE_PROFILE", f"-DTE_PROFILE_OPS={ops}"]
    return flags


def link_flags() -> list[str]:
    # No C runtime start files (te_startup.c is the start-up); newlib-nano for
    # memcpy/memset; unreferenced functions and data dropped per section.
    return ["-nostartfiles", "--specs=nano.specs", "-T", "link.ld", "-Wl,--gc-sections"]


def harness_files(program: Program, t: Target) -> dict[str, str]:
    """The `harness/` files for `program` on `t`, keyed by their path in the folder."""
    name = program.options.name
    subst = {
        "NAME": name,
        "TARGET": t.name,
        "MACHINE": t.machine,
        "OPS": str(len(program.graph.ops)),
        "OPT": OPT,
        "CPU_FLAGS": " ".join(t.cpu_flags),
        "CFLAGS": _makefile_cflags(t, name),
        "LDFLAGS": " ".join(link_flags()),
        "FLASH_ORIGIN": f"0x{t.flash[0]:08X}",
        "FLASH_LENGTH": f"{t.flash[1] // 1024}K",
        "RAM_ORIGIN": f"0x{t.ram[0]:08X}",
        "RAM_LENGTH": f"{t.ram[1] // 1024}K",
        "STACK": str(STACK_BYTES),
    }
    files = {}
    for fname in HARNESS_FILES + ("link.ld", "Makefile"):
        text = (TEMPLATES / fname).read_text()
        files[f"{HARNESS}/{fname}"] = re.sub(r"@(\w+)@", lambda m: subst[m.group(1)], text)
    return files


def _makefile_cflags(t: Target, name: str) -> str:
    """compile_flags' bench set minus CPU and -O (Makefile variables), quoted for make's shell."""
    flags = compile_flags(t, name, "bench", 0)[len(t.cpu_flags) + 1 :]
    return " ".join(f"'{f}'" if '"' in f else f for f in flags) + " -I.. -I."


def render(program: Program) -> dict[str, str]:
    """All files of the generated folder: the model (codegen.render) plus, for a
    Cortex-M target, the harness."""
    files = codegen.render(program)
    if program.options.target != "host":
        files.update(harness_files(program, target(program.options.target)))
    return files


def _run(cmd: list[str], what: str, cwd: os.PathLike | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)
    if proc.returncode != 0:
        text = proc.stderr or proc.stdout
        lines = [ln for ln in text.splitlines() if "error" in ln or "warning" in ln] or text.splitlines()
        raise BuildError(f"{what} failed: " + " | ".join(lines[:5]))
    return proc.stdout


def build_elf(folder: os.PathLike, name: str, t: Target, variant: str, ops: int, opt: str = OPT) -> pathlib.Path:
    """Compile and link one ELF of a generated folder: `harness/build/<variant>.elf`.

    "bench" measures, "trace" also writes every op's outputs, "profile" also
    stamps every op, "stub" links the harness around te_stub_model.c instead
    of the model (its sizes are the harness's own share).
    """
    check_toolchain(need_qemu=False)
    harness = pathlib.Path(folder) / HARNESS
    model = sorted(str(p) for p in pathlib.Path(folder).glob("*.c"))
    sources = (["te_stub_model.c"] if variant == "stub" else model) + list(HARNESS_SOURCES)
    out = harness / "build" / f"{variant}.elf"
    out.parent.mkdir(exist_ok=True)
    flags = compile_flags(t, name, variant, ops, opt) + ["-I..", "-I."]
    _run(["arm-none-eabi-gcc", *flags, *sources, *link_flags(), "-o", str(out)],
         f"building {variant} ELF for {t.name} in {harness}", cwd=harness)
    return out


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Berkeley `size` figures: text (code + constants, Flash), data (initialised
    variables: Flash image and SRAM), bss (zeroed variables, SRAM)."""

    text: int
    data: int
    bss: int

    def __sub__(self, other: Sizes) -> Sizes:
        return Sizes(self.text - other.text, self.data - other.data, self.bss - other.bss)

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def sram(self) -> int:
        return self.data + self.bss


def elf_sizes(elf: os.PathLike) -> Sizes:
    out = _run(["arm-none-eabi-size", "-B", str(elf)], f"arm-none-eabi-size {elf}")
    fields = out.splitlines()[1].split()
    return Sizes(int(fields[0]), int(fields[1]), int(fields[2]))

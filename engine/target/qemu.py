"""Run a bench ELF under qemu-system-arm and read what the harness reported.

The harness (engine/target/templates/te_bench_main.c) reads te_in.bin and
writes te_out.bin, te_report.txt and, in trace builds, te_trace.bin, all in
QEMU's working folder through semihosting. `-icount shift=0` makes the
emulated clock advance exactly one nanosecond per instruction, so every count
it reports is deterministic: the same ELF and input give the same numbers.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess

from engine.check.build import BuildError
from engine.target.cortexm import Target, check_toolchain

TIMEOUT_S = 300
EXIT_MEANINGS = {
    2: "bad te_in.bin (size is not a whole number of samples)",
    3: "invoke() returned nonzero",
    4: "an instruction-count probe missed the timer edge",
    5: "semihosting file I/O failed",
    70: "the core faulted (HardFault, MemManage, BusFault or UsageFault)",
}


@dataclasses.dataclass(frozen=True)
class BenchRun:
    """What one QEMU run reported.

    Attributes:
        instructions: per sample, instructions executed inside invoke().
        stack_bytes: per sample, deepest stack below the invoke() call.
        op_instructions: per op, summed over samples (profile builds), else ().
        glue_instructions: the measuring code's own share (already subtracted).
        hook_instructions: the profile hook's share per op (already subtracted).
    """

    instructions: tuple[int, ...]
    stack_bytes: tuple[int, ...]
    op_instructions: tuple[int, ...]
    glue_instructions: int
    hook_instructions: int


def qemu_command(t: Target, elf: os.PathLike) -> list[str]:
    return ["qemu-system-arm", "-M", t.machine, "-nographic", "-monitor", "none", "-serial", "none",
            "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf)]


def run_elf(t: Target, elf: os.PathLike, workdir: os.PathLike, timeout: float = TIMEOUT_S) -> BenchRun:
    """Run `elf` on `t`'s board in `workdir` (which must hold te_in.bin)."""
    check_toolchain()
    workdir = pathlib.Path(workdir)
    for stale in ("te_out.bin", "te_report.txt", "te_trace.bin"):
        (workdir / stale).unlink(missing_ok=True)
    try:
        proc = subprocess.run(qemu_command(t, pathlib.Path(elf).resolve()), cwd=workdir, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise BuildError(f"QEMU {t.machine} running {elf} timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        why = EXIT_MEANINGS.get(proc.returncode, "QEMU failed")
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or [""]
        raise BuildError(f"QEMU {t.machine} running {elf} exited {proc.returncode}: {why} {detail[0]}".rstrip())
    return parse_report((workdir / "te_report.txt").read_text())


def parse_report(text: str) -> BenchRun:
    """Read te_report.txt: `key value` pairs, one measurement per line."""
    instructions, stack, ops = [], [], {}
    glue = hook = 0
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "calibration":
            glue = int(f[1])
        elif f[0] == "hook":
            hook = int(f[1])
        elif f[0] == "sample":
            instructions.append(int(f[3]))
            stack.append(int(f[5]))
        elif f[0] == "op":
            ops[int(f[1])] = int(f[3])
        else:
            raise BuildError(f"te_report.txt: unexpected line {line!r}")
    return BenchRun(tuple(instructions), tuple(stack), tuple(ops[k] for k in sorted(ops)), glue, hook)

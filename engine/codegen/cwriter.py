"""A tiny C printer and the C literals the emitters write.

`CWriter` holds lines at the current indentation with scopes as blocks;
`c_int`/`c_value` write literals; `emit_array` a `static const` array.
"""

from __future__ import annotations

from contextlib import contextmanager


class CWriter:
    """A tiny C printer: lines at the current indentation, scopes as blocks."""

    def __init__(self):
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str = "") -> None:
        self.lines.append(("  " * self.depth + text) if text else "")

    @contextmanager
    def block(self, opener: str, closer: str = "}"):
        self.line(opener + " {")
        self.depth += 1
        yield
        self.depth -= 1
        self.line(closer)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def c_int(v: int) -> str:
    """An int32 literal (INT32_MIN cannot be written as one token)."""
    v = int(v)
    if not -(2**31) <= v < 2**31:
        raise ValueError(f"constant {v} does not fit in int32")
    return "(-2147483647 - 1)" if v == -(2**31) else str(v)


def c_value(v, ctype: str) -> str:
    if ctype in ("float", "double"):
        return float(v).hex() + ("f" if ctype == "float" else "")
    return c_int(v)


def emit_array(w: CWriter, ctype: str, name: str, values, per_line: int = 16) -> None:
    """`static const` array with 16-byte alignment (kernels may load words)."""
    values = list(values)
    w.line(f"static const {ctype} {name}[{max(len(values), 1)}] TE_ALIGN16 = {{")
    w.depth += 1
    for k in range(0, len(values), per_line):
        w.line(", ".join(c_value(v, ctype) for v in values[k : k + per_line]) + ",")
    w.depth -= 1
    w.line("};")

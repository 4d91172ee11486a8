"""Kernel calls name their arguments from engine/lower/kernel_params.py; that table is the headers'.

The one place C declarations are parsed is here, in a test: a changed signature fails it (with the
entry to paste) instead of shifting arguments in generated code.
"""

from __future__ import annotations

import re

import pytest

from engine.lower.call import KERNELS, Call, TensorArg
from engine.lower.kernel_params import KERNEL_PARAMS

_DECLARATION = re.compile(r"^(?!static|#)[A-Za-z_][\w ]*?[\s*](te_\w+)\s*\(([^()]*)\)\s*;", re.M)


def header_declarations() -> dict[str, tuple[str, ...]]:
    """Function -> parameter names of every kernel prototype in engine/kernels/*.h ("..." variadic)."""
    found = {}
    for header in sorted(KERNELS.glob("*.h")):
        text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
        for match in _DECLARATION.finditer(text):
            raw = match.group(2).strip()
            params = [] if raw in ("", "void") else raw.split(",")
            found[match.group(1)] = tuple(
                "..." if p.strip() == "..." else re.findall(r"(\w+)\s*$", p.strip())[0] for p in params)
    return found


def test_kernel_params_match_the_headers():
    declared = header_declarations()
    wrong = {f: p for f, p in declared.items() if KERNEL_PARAMS.get(f) != p}
    stale = sorted(set(KERNEL_PARAMS) - set(declared))
    assert not wrong and not stale, (
        "update engine/lower/kernel_params.py: " + "".join(f'\n    "{f}": {p!r},' for f, p in wrong.items())
        + (f"\n  no longer declared: {stale}" if stale else ""))


def test_a_call_names_its_arguments_and_refuses_a_wrong_count():
    call = Call.of("te_lut_s8", ("te_activation",), **{name: 0 for name in KERNEL_PARAMS["te_lut_s8"]})
    assert call.names == KERNEL_PARAMS["te_lut_s8"]
    positional = Call("te_lut_s8", call.args, ("te_activation",))
    assert positional == call and positional.arg(call.names[0]) == 0
    with pytest.raises(ValueError, match="takes"):
        Call("te_lut_s8", call.args[:-1], ("te_activation",))
    with pytest.raises(ValueError, match="missing arguments"):
        Call.of("te_lut_s8", ("te_activation",), input=TensorArg(0))


def test_a_variadic_kernel_names_its_tail():
    fixed = KERNEL_PARAMS["te_concatenation_s8"][:-1]
    call = Call("te_concatenation_s8", (TensorArg(0), 1, 2, 1, TensorArg(1), 2), ("te_shape",))
    assert call.names == fixed + ("arg4", "arg5")

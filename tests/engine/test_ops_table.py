"""`tinyengine ops`: the supported-op table generated from the lowering registry, and the README's copy."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from ai_edge_litert import schema_py_generated as schema

from engine.cli import main, ops_markdown
from engine.lower.call import ALIAS_KINDS, LOWERINGS
from engine.lower.lowering import op_table, supported_kinds
from tests.conftest import ROOT
from tests.engine_ops.handmade import Spec, one_op_model

README_BLOCK = re.compile(r"<!-- begin: tinyengine ops -->\n(.*?)<!-- end: tinyengine ops -->\n", re.S)


def test_readme_table_is_the_command_output(capsys):
    """The README's table is `tinyengine ops` verbatim: regenerate it with `python -m engine ops`."""
    (block,) = README_BLOCK.findall((ROOT / "README.md").read_text())
    assert main(["ops"]) == 0
    printed = capsys.readouterr().out
    assert printed == ops_markdown()
    assert block == printed, "README.md's op table differs from `tinyengine ops`; paste the command's output"


def test_table_lists_every_lowering_and_alias_once():
    kinds = [row[0] for row in op_table()]
    assert kinds == sorted(set(kinds))
    assert set(kinds) == supported_kinds() | ALIAS_KINDS


def test_every_kind_is_a_tflite_builtin_with_types_stated():
    builtins = {k for k in vars(schema.BuiltinOperator) if not k.startswith("_")}
    for kind, dtypes, _ in op_table():
        assert kind in builtins, kind
        assert dtypes.strip(), kind


def test_conv_like_lowerings_state_their_batch_limit():
    for kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "AVERAGE_POOL_2D", "MAX_POOL_2D"):
        assert "batch 1" in LOWERINGS[kind].limits, kind


def test_json_rows_are_the_table(capsys):
    assert main(["ops", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["op"], r["types"], r["limits"]) for r in rows] == list(op_table())


def test_unsupported_model_is_one_error_line_naming_the_op_and_the_table(tmp_path):
    model = one_op_model("ABS", [Spec((1, 8), scale=0.1)], [Spec((1, 8), scale=0.1)])
    path = tmp_path / "abs.tflite"
    path.write_bytes(model)
    proc = subprocess.run([sys.executable, "-m", "engine", "convert", str(path), "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 1 unsupported op(s): op 0 ABS v1: no kernel for ABS")
    assert "`tinyengine ops` lists the supported ops" in lines[0]
    assert not (tmp_path / "x").exists()

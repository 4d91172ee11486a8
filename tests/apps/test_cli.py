"""The apps' edge: budgets from boards and flags, and every bad flag or missing dataset is one line, exit 2."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

from mcunet_tf.apps import cli, common

APPS = ("mcunet_tf.apps.vww", "mcunet_tf.apps.kws")
README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_budgets_from_boards_and_flags():
    budget, source = common.make_budget("stm32f411", None, None)
    assert (budget.sram_bytes, budget.flash_bytes, source) == (128 * 1024, 512 * 1024, "board stm32f411")
    budget, source = common.make_budget("nrf52840", 200, None)
    assert (budget.sram_bytes, budget.flash_bytes) == (200 * 1024, 1024 * 1024)
    assert source == "board nrf52840, --sram_kb=200"
    budget, source = common.make_budget(None, 32, 48)
    assert (budget.sram_bytes, budget.flash_bytes, source) == (32 * 1024, 48 * 1024, "--sram_kb=32 --flash_kb=48")
    budget, _ = common.make_budget(None, None, None)
    assert (budget.sram_bytes, budget.flash_bytes) == (320 * 1024, 1024 * 1024)  # stm32f746
    assert common.BOARDS["stm32h743"] == (512, 2048)
    budget, source = common.make_budget("stm32f411", None, None, max_minstr=2.5)
    assert budget.max_instructions == 2_500_000 and source == "board stm32f411, --max_minstr=2.5"
    with pytest.raises(common.AppError, match="--max_minstr=0"):
        common.make_budget(None, None, None, max_minstr=0)


def test_stages_keep_pipeline_order():
    assert common.parse_stages("export,train") == ("train", "export")
    with pytest.raises(common.AppError, match="unknown: bake"):
        common.parse_stages("train,bake")


def run_app(module, *args, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path))  # no demo cache: a bad flag must fail before any data work
    return subprocess.run([sys.executable, "-m", module, *args, f"--out_dir={tmp_path / 'out'}"],
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("module", APPS)
@pytest.mark.parametrize("args, message", [
    (("--bogus=1",), "error: Unknown command line flag 'bogus'"),
    (("--sram_kb=abc",), "error: flag --sram_kb=abc: invalid literal for int()"),
    (("--sram_kb=-5",), "error: --sram_kb=-5 must be a positive number of kB"),
    (("--board=esp32",), "error: --board='esp32' is not one of"),
    (("--stages=train,bake",), "error: --stages=train,bake: each stage must be one of train,search,export"),
    (("--preset=huge",), "error: --preset='huge' is not one of demo, full"),
    (("--epochs=0",), "error: --epochs=0 must be >= 1"),
    (("positional",), "error: unexpected arguments 'positional'"),
    (("--data_dir=/nonexistent/data",), "error: /nonexistent/data: "),
])
def test_bad_flags_and_missing_data_are_one_line_and_exit_2(module, args, message, tmp_path):
    proc = run_app(module, *args, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(message), proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("module", APPS)
def test_a_bad_step_kind_in_the_environment_is_one_line_and_exit_2(module, tmp_path, monkeypatch):
    monkeypatch.setenv("MCUNET_TF_STEP", "graph")
    proc = run_app(module, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "error: MCUNET_TF_STEP must be one of ('compiled', 'eager'), got 'graph'\n"
    assert not (tmp_path / "out").exists()


def readme_flags() -> list[str]:
    """The flags of the README's apps table (`| --flag | meaning |` rows), in its order."""
    rows = [line.split("|")[1] for line in README.read_text().splitlines() if line.startswith("| `--")]
    return [name for row in rows for name in re.findall(r"`--(\w+)`", row)]


@pytest.mark.parametrize("script", ["mcunet-vww", "mcunet-kws"])
def test_help_lists_every_documented_flag_with_its_default_in_readme_order(script):
    installed = pathlib.Path(sys.executable).parent / script  # the console script, as a user runs it
    command = [str(installed)] if installed.is_file() else [sys.executable, "-m", f"mcunet_tf.apps.{script[7:]}"]
    proc = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.startswith(f"`{script}`:")  # the app's own usage first
    documented = readme_flags()
    assert documented == list(cli.HELP_ORDER)
    positions = []
    for name in documented:
        found = re.search(rf"^  --(\[no\])?{name}: .*?\n    \(default: [^)]+\)$", proc.stdout, re.M | re.S)
        assert found, f"--{name} (with its default) missing from {script} --help:\n{proc.stdout}"
        positions.append(found.start())
    assert positions == sorted(positions), "--help lists the flags in the README's order"
    assert "(default: 'train,search,export')" in proc.stdout and "(default: stm32f746)" in proc.stdout

"""The flags both apps share, and the edge: flags -> RunConfig, every failure one `error:` line, exit code 2.

The flags are defined here once (both app modules import this one, so tests may import both apps
in one process without absl's duplicate-flag error). `run_app` is what each app's `main` calls;
everything after the flags is plain Python in common.py that tests call directly.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Callable

from absl import flags

from mcunet_tf.apps import common
from mcunet_tf.config import ConfigError, step_kind_from_env

_DATA_DIR = flags.DEFINE_string(
    "data_dir", None, "The dataset folder (see README). Absent: the offline demo data, generated into "
    "~/.cache/mcunet_tf on first use and labelled as demo data in every report.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Output folder (default: out/<app>); a rerun resumes from it.")
_BOARD = flags.DEFINE_string(
    "board", None, "Budget preset for the model (SRAM for the arena / Flash for weights, constants and kernel "
    "code): " + ", ".join(f"{b} {s} kB/{f} kB" for b, (s, f) in common.BOARDS.items())
    + f". Default {common.DEFAULT_BOARD} unless --sram_kb and --flash_kb are both given.")
_SRAM_KB = flags.DEFINE_integer("sram_kb", None, "SRAM budget for the model's arena, kB (1024 bytes); "
                                "overrides the board's.")
_FLASH_KB = flags.DEFINE_integer("flash_kb", None, "Flash budget for the model's weights + constants + kernel "
                                 "code, kB (1024 bytes); overrides the board's.")
_MAX_MINSTR = flags.DEFINE_float("max_minstr", None, "Latency bound for the search: predicted Cortex-M7 "
                                  "instructions per inference, in millions (none by default).")
_STAGES = flags.DEFINE_string("stages", ",".join(common.STAGES), "Comma-separated subset of "
                              f"{','.join(common.STAGES)}; finished stages are skipped, missing ones read "
                              "from --out_dir.")
_PRESET = flags.DEFINE_string("preset", None, "Run size: demo (tiny space, seconds per stage) or full. "
                              "Default: demo on the demo data, full with --data_dir.")
_EPOCHS = flags.DEFINE_integer("epochs", None, "Supernet training epochs (default: the preset's).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of training, search and QAT.")
_PROGRESS = flags.DEFINE_boolean("progress", True, "Show progress bars (tqdm).")
_PRECISION = flags.DEFINE_enum("precision", "float32", ["float32", "mixed_float16", "mixed_bfloat16"],
                               "Supernet training precision: mixed_float16 (GPUs, with loss scaling) or "
                               "mixed_bfloat16 (TPUs, recent GPUs) compute convolutions in 16 bits; weights, "
                               "BatchNorm and the loss stay float32.")

PRESETS = ("demo", "full")
# What --help lists, in the order of the README's flags table (tests/apps/test_cli.py holds them to it).
# absl's own --help would list only flags of the __main__ module (these live here, shared by both
# apps) and sorts them by name.
HELP_ORDER = ("data_dir", "board", "sram_kb", "flash_kb", "max_minstr", "stages", "preset", "epochs", "seed",
              "out_dir", "progress", "precision")
# What a flag left unset (None) means, for --help.
UNSET_MEANS = {"data_dir": "the offline demo data", "board": f"{common.DEFAULT_BOARD}",
               "sram_kb": "the board's", "flash_kb": "the board's", "max_minstr": "no latency bound",
               "preset": "demo without --data_dir, full with it", "epochs": "the preset's", "out_dir": "out/<app>"}
HELP_ARGS = ("-h", "-help", "--help", "-?", "-helpshort", "--helpshort")


def fail(message: str) -> None:
    """Prints the one `error:` line and exits with code 2."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def help_text(usage: str) -> str:
    """The app's usage (its module docstring) and its own flags with their defaults, in HELP_ORDER."""
    lines = [usage.strip("\n"), "", "flags (--helpfull adds absl's and TensorFlow's own):"]
    for name in HELP_ORDER:
        flag = flags.FLAGS[name]
        prefix = "--[no]" if isinstance(flag, flags.BooleanFlag) else "--"
        lines.append(flags.text_wrap(f"{prefix}{name}: {flag.help}", indent="    ", firstline_indent="  "))
        default = flag.default_as_str if flag.default is not None else UNSET_MEANS[name]
        lines.append(f"    (default: {default})")
    return "\n".join(lines) + "\n"


def parse_flags(argv: list[str], usage: str = "") -> list[str]:
    """absl flag parsing (app.run's `flags_parser`), but a bad flag is one `error:` line and exit code 2.

    `--help` (or -h, --helpshort, -?) prints `help_text(usage)` and exits with code 0.
    """
    if any(arg in HELP_ARGS for arg in argv[1:]):
        print(help_text(usage), end="", flush=True)
        sys.exit(0)
    try:
        rest = flags.FLAGS(argv)
    except flags.Error as error:
        fail(str(error).splitlines()[0])
    if len(rest) > 1:
        fail(f"unexpected arguments {' '.join(rest[1:])!r} (all options are --flags; see --help)")
    return rest


def preset_name(data_dir: str | None, preset: str | None) -> str:
    if preset is None:
        return "demo" if data_dir is None else "full"
    if preset not in PRESETS:
        raise common.AppError(f"--preset={preset!r} is not one of {', '.join(PRESETS)}")
    return preset


def run_config(app: str, preset: str, settings: common.Settings) -> common.RunConfig:
    """The RunConfig of the parsed flags (budget, stages, sizes); `settings` is the app's preset."""
    budget, source = common.make_budget(_BOARD.value, _SRAM_KB.value, _FLASH_KB.value, _MAX_MINSTR.value)
    if _EPOCHS.value is not None:
        if _EPOCHS.value < 1:
            raise common.AppError(f"--epochs={_EPOCHS.value} must be >= 1")
        settings = common.dataclasses.replace(settings, epochs=_EPOCHS.value)
    return common.RunConfig(out_dir=pathlib.Path(_OUT_DIR.value or f"out/{app}"), budget=budget,
                            budget_source=source, stages=common.parse_stages(_STAGES.value), seed=_SEED.value,
                            preset=preset, settings=settings, progress=_PROGRESS.value, precision=_PRECISION.value)


def run_app(app: str, make_task: Callable[[str | None, str, int], common.Task],
            presets: dict[str, common.Settings]) -> int:
    """Flags -> task and config -> the pipeline; known failures become one `error:` line, exit code 2.

    `make_task(data_dir, preset, seed)` builds the app's Task; it checks the data (before TensorFlow
    is imported, so a missing folder costs nothing and prints nothing else).
    """
    from absl import logging

    from mcunet_tf.datasets import DatasetError

    logging.set_verbosity(logging.WARNING)  # TF's savers log INFO lines through absl once app.run ran
    try:
        try:
            step_kind_from_env()
        except ConfigError as error:
            raise common.AppError(str(error)) from None
        preset = preset_name(_DATA_DIR.value, _PRESET.value)
        run = run_config(app, preset, presets[preset])
        task = make_task(_DATA_DIR.value, preset, run.seed)
        common.run_pipeline(task, run)
    except (common.AppError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    return 0

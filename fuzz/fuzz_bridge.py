"""Mutation fuzzer for the TFLite bridge, driven by hypothesis.

Each case takes one of the shared models and applies 1-8 mutations (bit flips,
byte and 32-bit word overwrites with boundary values, insertions, deletions,
truncation, splices from another model). The bridge must then either reject
the bytes with a `BridgeError` or parse them; a parsed graph must verify or
raise `BridgeError`, must write or raise `BridgeError`, and what it writes
must read back. The CLI's analysis must also succeed or raise `BridgeError`.
Anything else is a crash, as is a case over the time limit (SIGALRM) or a
peak RSS above the memory limit.

    python fuzz/fuzz_bridge.py --cases 10000 --seed 0 [--crash-dir DIR]

prints one summary line: cases, parsed, rejected, crashes, slowest case.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import pathlib
import resource
import signal
import sys
import time
import traceback

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcunet_tf import mlperf
from tflite_bridge import BridgeError, read, verify, write
from tflite_bridge.cli import summarise

MODELS_DIR = mlperf.models_dir()
# Flatbuffer offsets and lengths are 32-bit words: their boundary values are
# where parsers go wrong, so word overwrites draw from these half the time.
INTERESTING_WORDS = (
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    0x7F,
    0x80,
    0xFF,
    0xFFFF,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
    0xFFFFFFFE,
)


class CaseTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so no `except Exception` in the bridge swallows it."""


@dataclasses.dataclass
class Summary:
    cases: int = 0
    parsed: int = 0
    rejected: int = 0
    verify_rejected: int = 0
    write_rejected: int = 0
    crashes: list = dataclasses.field(default_factory=list)  # (what, message, sha1)
    slowest: float = 0.0
    slowest_case: int = -1
    peak_rss_mb: float = 0.0
    slowest_input: bytes = b""
    slowest_cpu: float = (
        0.0  # CPU seconds: wall time on a shared machine includes waiting
    )
    over_rss: bool = False
    errors: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    def line(self) -> str:
        return (
            f"fuzz_bridge: cases={self.cases} parsed={self.parsed} rejected={self.rejected} "
            f"verify_rejected={self.verify_rejected} write_rejected={self.write_rejected} "
            f"crashes={len(self.crashes)} slowest={self.slowest:.3f}s wall (case {self.slowest_case}), "
            f"{self.slowest_cpu:.3f}s CPU "
            f"peak_rss={self.peak_rss_mb:.0f}MB"
        )


def mutations(n_models: int):
    """A strategy for a list of mutations: (kind, position, details...).

    Positions are spread and reduced modulo the current length in `mutate`; a
    splice copies `length` bytes from `position2` of model `model` over `position`.
    """
    pos = st.integers(0, 2**32 - 1)
    word = st.one_of(st.sampled_from(INTERESTING_WORDS), st.integers(0, 2**32 - 1))
    one = st.one_of(
        st.tuples(st.just("flip"), pos, st.integers(0, 7)),
        st.tuples(st.just("byte"), pos, st.integers(0, 255)),
        st.tuples(st.just("word"), pos, word),
        st.tuples(st.just("insert"), pos, st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("delete"), pos, st.integers(1, 64)),
        st.tuples(st.just("truncate"), pos),
        st.tuples(
            st.just("splice"),
            pos,
            st.integers(0, n_models - 1),
            pos,
            st.integers(1, 4096),
        ),
    )
    return st.lists(one, min_size=1, max_size=8)


def _spread(pos: int) -> int:
    # hypothesis favours small integers; a multiplicative hash spreads them
    # over the whole file instead of piling every mutation onto the header.
    return (pos * 0x9E3779B1) & 0xFFFFFFFF


def mutate(data: bytes, muts: list, models: list[bytes]) -> bytes:
    """Apply `muts` in order to a copy of `data`."""
    b = bytearray(data)
    for m in muts:
        m = (m[0], _spread(m[1]), *m[2:])
        kind, n = m[0], max(len(b), 1)
        if kind == "flip" and b:
            b[m[1] % n] ^= 1 << m[2]
        elif kind == "byte" and b:
            b[m[1] % n] = m[2]
        elif kind == "word" and len(b) >= 4:
            at = (m[1] % (len(b) - 3)) & ~3  # flatbuffer words are 4-aligned
            b[at : at + 4] = m[2].to_bytes(4, "little")
        elif kind == "insert":
            at = m[1] % (len(b) + 1)
            b[at:at] = m[2]
        elif kind == "delete" and b:
            at = m[1] % n
            del b[at : at + m[2]]
        elif kind == "truncate":
            del b[m[1] % (len(b) + 1) :]
        elif kind == "splice":
            src = models[m[2]]
            start = _spread(m[3]) % len(src)
            chunk = src[start : start + m[4]]
            at = m[1] % n
            b[at : at + len(chunk)] = chunk
    return bytes(b)


def check(data: bytes, summary: Summary) -> None:
    """Run the bridge on `data`; count the outcome; raise on anything but BridgeError."""
    try:
        graph = read(data)
    except BridgeError as e:
        summary.rejected += 1
        summary.errors[_error_kind(str(e))] += 1
        return
    summary.parsed += 1
    try:
        verify(graph)
        summarise(graph)
    except BridgeError:
        summary.verify_rejected += 1
    try:
        written = write(graph)
    except BridgeError:
        summary.write_rejected += 1
        return
    read(written)  # what we write must read back: a BridgeError here is a crash too


def _error_kind(message: str) -> str:
    # Drop the "<bytes>: " prefix and anything after the first number-bearing detail.
    text = message.split(": ", 1)[-1]
    return " ".join(w for w in text.split()[:4] if not any(c.isdigit() for c in w))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _on_alarm(signum, frame):
    raise CaseTimeout()


def fuzz(
    cases: int,
    seed_value: int,
    models_dir: pathlib.Path = MODELS_DIR,
    time_limit: float = 2.0,
    rss_limit_mb: float = 2048,
    crash_dir: pathlib.Path | None = None,
    progress: bool = False,
) -> Summary:
    """Run `cases` mutated models through the bridge; return the counts.

    Crashes are recorded (and their inputs saved to `crash_dir`), not raised,
    so one run reports them all.
    """
    models = [p.read_bytes() for p in sorted(models_dir.glob("*.tflite"))]
    if not models:
        raise SystemExit(f"no .tflite models in {models_dir}")
    summary = Summary()
    old_handler = signal.signal(signal.SIGALRM, _on_alarm)

    @settings(
        max_examples=cases,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(seed_value)
    @given(st.integers(0, len(models) - 1), mutations(len(models)))
    def one_case(model_index, muts):
        data = mutate(models[model_index], muts, models)
        case = summary.cases
        summary.cases += 1
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            signal.setitimer(signal.ITIMER_REAL, time_limit)
            check(data, summary)
        except CaseTimeout:
            _record(summary, "timeout", f"over {time_limit}s", data, crash_dir)
        # Any exception but BridgeError is the bug this fuzzer hunts.
        except Exception as e:  # noqa: BLE001
            where = traceback.extract_tb(e.__traceback__)[-1]
            _record(
                summary,
                type(e).__name__,
                f"{e} at {where.filename}:{where.lineno}",
                data,
                crash_dir,
            )
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = time.perf_counter() - start
        summary.slowest_cpu = max(summary.slowest_cpu, time.process_time() - start_cpu)
        if elapsed > summary.slowest:
            summary.slowest, summary.slowest_case = elapsed, case
            summary.slowest_input = data
        summary.peak_rss_mb = _rss_mb()
        if summary.peak_rss_mb > rss_limit_mb and not summary.over_rss:
            # The peak only grows: report the first case that pushed it over.
            summary.over_rss = True
            _record(
                summary,
                "memory",
                f"peak RSS {summary.peak_rss_mb:.0f} MB",
                data,
                crash_dir,
            )
        if progress and summary.cases % 1000 == 0:
            print(summary.line(), file=sys.stderr, flush=True)

    try:
        one_case()
    finally:
        signal.signal(signal.SIGALRM, old_handler)
    return summary


def _record(
    summary: Summary,
    what: str,
    message: str,
    data: bytes,
    crash_dir: pathlib.Path | None,
) -> None:
    digest = hashlib.sha1(data).hexdigest()[:12]
    summary.crashes.append((what, message, digest))
    if crash_dir is not None:
        crash_dir.mkdir(parents=True, exist_ok=True)
        (crash_dir / f"{what}-{digest}.tflite").write_bytes(data)


def _cap_address_space(extra_mb: float) -> None:
    """Let the process map at most `extra_mb` more than it has now.

    A runaway allocation then fails inside its case as MemoryError (a crash the
    summary reports) instead of taking the machine down before the RSS check.
    """
    pages = int(pathlib.Path("/proc/self/statm").read_text().split()[0])
    limit = pages * resource.getpagesize() + int(extra_mb * 2**20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models-dir", type=pathlib.Path, default=MODELS_DIR)
    parser.add_argument(
        "--time-limit", type=float, default=2.0, help="seconds per case"
    )
    parser.add_argument("--rss-limit-mb", type=float, default=2048)
    parser.add_argument("--crash-dir", type=pathlib.Path, default=None)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    _cap_address_space(args.rss_limit_mb)
    summary = fuzz(
        args.cases,
        args.seed,
        args.models_dir,
        args.time_limit,
        args.rss_limit_mb,
        args.crash_dir,
        args.progress,
    )
    if args.crash_dir is not None:  # keep the slowest case to profile
        args.crash_dir.mkdir(parents=True, exist_ok=True)
        (args.crash_dir / "slowest.tflite").write_bytes(summary.slowest_input)
    for what, message, digest in summary.crashes[:20]:
        print(f"crash: {what}: {message} [{digest}]")
    for kind, count in summary.errors.most_common(8):
        print(f"rejected {count:6d}: {kind}")
    print(summary.line())
    return 1 if summary.crashes else 0


if __name__ == "__main__":
    sys.exit(main())

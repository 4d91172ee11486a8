"""A bounded, deterministic slice of fuzz/fuzz_bridge.py (the full run is >= 10,000 cases)."""

from __future__ import annotations

from fuzz.fuzz_bridge import fuzz


def test_fuzz_sample_finds_no_crash():
    summary = fuzz(cases=200, seed_value=0, time_limit=2.0)
    assert summary.cases == 200
    assert summary.crashes == [], summary.crashes
    # The sample must exercise both sides: files that parse and files that do not.
    assert summary.parsed > 20 and summary.rejected > 20, summary.line()
    assert summary.slowest < 2.0

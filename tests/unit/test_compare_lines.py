"""`densexp compare`'s lines agree with each other on p.

Found comparing two wine sweep trials: "p = 0.0010" on the numbers line, "p < 0.001" in
the verdict under it; the bootstrap's smallest p, 1/1001, was rounded up to 0.0010.
"""

from __future__ import annotations

import pytest

from densexp_tui.cli_evaluation import compare_lines
from densexp_tui.core.comparing import CompareReport, Side
from densexp_tui.core.runstore import RunSummary
from densexp_tui.core.significance import Comparison

pytestmark = pytest.mark.timeout(30)


def report(p_value: float) -> CompareReport:
    comparison = Comparison(metric="test.f1", a=0.28, b=0.95, diff=0.67, ci95=(0.46, 0.83),
                            p_value=p_value, n=18, test="paired bootstrap (1000 resamples)")
    return CompareReport(Side("a", "run", [RunSummary(run_id="run-a")]),
                         Side("b", "run", [RunSummary(run_id="run-b")]), comparison)


def test_a_p_at_the_bootstrap_floor_is_not_printed_as_0_001() -> None:
    lines = compare_lines(report(1 / 1001))
    assert lines[2].endswith("p = 0.000999")
    assert lines[4].endswith("p < 0.001")


@pytest.mark.parametrize(("p_value", "shown"), [(1.0, "p = 1"), (0.0423, "p = 0.0423"),
                                                 (0.5, "p = 0.5")])
def test_other_p_values_keep_three_significant_digits(p_value: float, shown: str) -> None:
    assert compare_lines(report(p_value))[2].endswith(shown)

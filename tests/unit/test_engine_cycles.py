"""engine/ has no import cycles (issue 9): leaf modules hold what both sides share."""

from __future__ import annotations

import grimp
import pytest

pytestmark = pytest.mark.timeout(60)


def test_no_engine_module_imports_itself_back() -> None:
    graph = grimp.build_graph("densexp_tui")
    engine = sorted(m for m in graph.modules if m.startswith("densexp_tui.engine."))
    cycles = [
        (a, b) for a in engine for b in engine
        if a < b and graph.chain_exists(importer=a, imported=b)
        and graph.chain_exists(importer=b, imported=a)
    ]
    assert cycles == []

"""The rows a runs list shows, from the runs index, without building every run.

The runs screen (tui/screens/home.py) past a few hundred runs asks for its window only: the
first ``rows`` rows of a filter, order and folding, plus how many runs there are and how
many match. ``fetch_window`` answers from the index (core/runindex.py) in SQL; the very
first answer of the default view (newest first, no filter) comes from the newest folders
themselves (``RunIndex.newest``), so it is right and quick even before the index has seen
every run. Folding seed groups needs every matching run (the groups' statistics), so that
one view builds them all; the others build only the rows asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from densexp_tui.core.rungroups import GroupSummary, fold_groups
from densexp_tui.core.runquery import SortSpec, parse_filter

if TYPE_CHECKING:
    from densexp_tui.core.runindex import RunIndex
    from densexp_tui.core.runstore import RunSummary

@dataclass(frozen=True)
class WindowRequest:
    """What the list shows: the filter box's text, folding, the order, and how many rows."""

    filter_text: str
    fold: bool
    sort: SortSpec
    rows: int


@dataclass
class Window:
    """The first rows of a request, how many rows match (``matched``) of ``total`` runs."""

    request: WindowRequest
    rows: list[RunSummary | GroupSummary]
    matched: int
    total: int
    problems: tuple[str, ...] = ()
    members: dict[str, RunSummary] = field(default_factory=dict)  # of the rows' groups


def is_default(request: WindowRequest) -> bool:
    query = parse_filter(request.filter_text, lenient=True)
    return query.empty and (query.sort or request.sort) == SortSpec() and not request.fold


def fetch_window(index: RunIndex, request: WindowRequest, from_folders: bool = False
                 ) -> Window:
    """The window for ``request``. ``from_folders``: answer the default view from the
    newest folders (checked one by one) rather than from the index's rows."""
    query = parse_filter(request.filter_text, lenient=True)
    order = query.sort or request.sort
    if from_folders and is_default(request):
        runs, total = index.newest(request.rows)
        return Window(request, list(runs), total, total, query.problems)
    rows: list[RunSummary | GroupSummary]
    members: dict[str, RunSummary] = {}
    if request.fold:
        chosen = index.query(query, order)
        folded = fold_groups(chosen)
        matched = len(folded)
        rows = list(folded[:request.rows])
        wanted = {run_id for row in rows if isinstance(row, GroupSummary)
                  for run_id in row.run_ids}
        members = {run.run_id: run for run in chosen if run.run_id in wanted}
    else:
        runs, matched = index.window(query, order, request.rows)
        rows = list(runs)
    return Window(request, rows, matched, index.count(), query.problems, members)

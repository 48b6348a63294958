"""The runs filter and sort (core/runquery.py) as SQL over the runs index's columns.

The index (core/runindex.py) stores, per run, the very values runquery's Python filter looks
at: ``t_<field>`` the lower-cased text of each TEXT_FIELDS field, ``n_<field>`` each
NUMERIC_FIELDS number (NULL when runquery's value is None), ``hay`` the text plain words are
looked for in. So a filter answered here matches exactly the runs ``RunFilter.apply`` keeps,
and an order here is ``sort_runs``'s (missing values last, ties newest first): a test checks
both against the Python versions on generated runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from densexp_tui.core.runquery import (
    NUMERIC_FIELDS,
    TEXT_FIELDS,
    Condition,
    RunFilter,
    SortSpec,
    haystack,
)

if TYPE_CHECKING:
    from densexp_tui.core.runstore import RunSummary

SqlParams = list[str | float]


def column(field: str) -> str:
    """The index column that holds ``field`` (a TEXT_FIELDS or NUMERIC_FIELDS key)."""
    if field == "id":
        return "t_id"
    safe = field.replace(".", "_")
    return f"t_{safe}" if field in TEXT_FIELDS else f"n_{safe}"


TEXT_COLUMNS = tuple(dict.fromkeys(column(f) for f in TEXT_FIELDS))
NUMERIC_COLUMNS = tuple(column(f) for f in NUMERIC_FIELDS)


def column_values(run: RunSummary) -> dict[str, str | float | None]:
    """What the index stores for ``run`` in the filter columns."""
    values: dict[str, str | float | None] = {"hay": haystack(run)}
    for name, text in _TEXT_GETTERS:
        values[name] = text(run).lower()
    for name, number in _NUMERIC_GETTERS:
        values[name] = number(run)
    return values


# Each column's name with its getter, once (the index computes them for every run it reads).
_TEXT_GETTERS = tuple((column(field), text) for field, text in TEXT_FIELDS.items())
_NUMERIC_GETTERS = tuple((column(field), number) for field, number in NUMERIC_FIELDS.items())


def where_sql(run_filter: RunFilter) -> tuple[str, SqlParams]:
    """A WHERE clause (without the word) and its parameters; ``1`` for the empty filter."""
    parts: list[str] = []
    params: SqlParams = []
    for condition in run_filter.conditions:
        sql, values = _condition_sql(condition)
        parts.append(f"NOT ({sql})" if condition.negated else f"({sql})")
        params.extend(values)
    return (" AND ".join(parts) or "1"), params


def _condition_sql(condition: Condition) -> tuple[str, SqlParams]:
    if condition.kind == "word":
        return "instr(hay, ?) > 0", [condition.values[0]]
    if condition.kind == "text":
        name = column(condition.field)
        return " OR ".join(f"instr({name}, ?) > 0" for _ in condition.values), \
            list(condition.values)
    name = column(condition.field)
    if condition.op == "=":  # runquery compares with math.isclose(rel 1e-9, abs 1e-12)
        return (f"{name} IS NOT NULL AND abs({name} - ?) <= "
                f"max(1e-9 * max(abs({name}), abs(?)), 1e-12)"), [condition.number] * 2
    return f"{name} IS NOT NULL AND {name} {condition.op} ?", [condition.number]


def order_sql(spec: SortSpec) -> str:
    """ORDER BY terms: the value (missing last), then newest first."""
    if spec.key == "started":  # run ids start with their time: id order is age order
        return "dirname DESC" if spec.descending else "dirname ASC"
    name = column(spec.key)
    direction = "DESC" if spec.descending else "ASC"
    if spec.key in TEXT_FIELDS:  # runquery: an empty text counts as missing
        return f"({name} = '') ASC, {name} {direction}, dirname DESC"
    return f"{name} {direction} NULLS LAST, dirname DESC"


"""What the New experiment form renders from data, not fields: the dataset preview and the
Review step (the TOML that will run, and what changed against the parent run).

Rich renderables only, in the theme's colours; the screen puts them into its Statics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.style import Style
from rich.syntax import ANSISyntaxTheme, Syntax
from rich.table import Table
from rich.text import Text
from textual.color import Color

from densexp_tui.core.config import RunConfig, diff_configs

if TYPE_CHECKING:
    from densexp_tui.engine.data import Preview

PREVIEW_CELL_CHARS = 60


def toml_syntax(toml: str, variables: dict[str, str]) -> Syntax:
    """The run TOML highlighted by rich's Syntax, in the current theme's colours."""
    from pygments.token import Keyword, Name, Number, Operator, String

    def style(name: str, bold: bool = False) -> Style:
        colour = variables.get(name)
        return Style(color=Color.parse(colour).rich_color if colour else None, bold=bold)

    theme = ANSISyntaxTheme({
        Keyword: style("secondary", bold=True),  # [section] headers
        Keyword.Constant: style("accent"),  # true / false
        Name: style("primary"),
        String: style("success"),
        Number: style("accent"),
        Operator: style("foreground"),
    })
    return Syntax(toml, "toml", theme=theme, background_color="default", word_wrap=True)


def review_problems(problems: list[tuple[str, str]]) -> Group | Text:
    """Every (key, message) that stops a launch, or that the config is ready."""
    if not problems:
        return Text("✓ Every field is valid. This is the TOML that will run:")
    lines = [Text(f"✗ {key}: {message}") for key, message in problems]
    return Group(Text("Fix these before launching:", style="bold"), *lines)


def parent_diff(parent: RunConfig, parent_id: str, cfg: RunConfig,
                carried: tuple[str, ...]) -> Group | Text:
    """The keys ``cfg`` changes against its parent run (lineage keys in ``carried`` left out)."""
    changes = [(key, old, new) for key, old, new in diff_configs(parent, cfg)
               if key not in carried]
    if not changes:
        return Text(f"Same settings as the parent run {parent_id}.")
    table = Table(box=None, padding=(0, 1))
    table.add_column("Key", style="bold")
    table.add_column("Parent")
    table.add_column("Now")
    for key, old, new in changes:
        table.add_row(key, repr(old), repr(new))
    return Group(Text(f"Changed from the parent run {parent_id}:", style="bold"), table)


def preview_summary(preview: Preview) -> Text:
    """Rows, kind, class balance and text lengths in a few lines."""
    counts = ", ".join(f"{name} {count:,}" for name, count in preview.class_counts.items())
    text = Text()
    text.append(f"{preview.n_rows:,} rows", style="bold")
    text.append(f" · {preview.kind} · {preview.source_desc}\n")
    text.append("Classes: ", style="bold")
    text.append(counts)
    lengths = preview.length_percentiles
    if lengths:
        text.append("\nWords per text: ", style="bold")
        text.append(" · ".join(f"{k} {v}" for k, v in lengths.items()))
    return text


def preview_cell(value: Any) -> Text:
    """One preview cell on one line, cut to PREVIEW_CELL_CHARS."""
    text = " ".join(str(value).split())
    if len(text) > PREVIEW_CELL_CHARS:
        text = text[:PREVIEW_CELL_CHARS - 1] + "…"
    return Text(text, no_wrap=True)

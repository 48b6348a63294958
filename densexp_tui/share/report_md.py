"""Markdown for code-hosting sites: tables in GFM, figures as SVG files in a folder beside it.

``report.md`` gets ``report_files/`` with one SVG per figure (PNG too when asked), linked
relatively so the folder and the file can be moved together.
"""

from __future__ import annotations

from densexp_tui.share.report_blocks import (
    Block,
    Code,
    FigureBlock,
    Heading,
    Paragraph,
    Section,
    Table,
)


def render_markdown(blocks: list[Block], figures_folder: str, image_ext: str = "svg") -> str:
    lines: list[str] = []
    for block in blocks:
        _block(block, lines, figures_folder, image_ext)
    return "\n".join(lines).rstrip() + "\n"


def _block(block: Block, lines: list[str], folder: str, ext: str) -> None:
    if isinstance(block, Section):
        lines.append(f'<a id="{block.anchor}"></a>')
        lines.append("")
        for inner in block.blocks:
            _block(inner, lines, folder, ext)
    elif isinstance(block, Heading):
        lines += ["#" * block.level + " " + block.text, ""]
    elif isinstance(block, Paragraph):
        lines += [block.text, ""]
    elif isinstance(block, Table):
        lines += _table(block)
    elif isinstance(block, Code):
        fence = "````" if "```" in block.text else "```"
        lines += [f"<details><summary>{block.summary}</summary>", "",
                  f"{fence}toml", block.text.rstrip("\n"), fence, "", "</details>", ""]
    elif isinstance(block, FigureBlock):
        figure = block.figure
        lines += [f"![{figure.alt}]({folder}/{figure.name}.{ext})", ""]
    else:
        raise TypeError(f"unknown report block {type(block).__name__}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(table: Table) -> list[str]:
    headers = [h or " " for h in table.headers]
    out = [f"*{table.caption}*", ""] if table.caption else []
    out.append("| " + " | ".join(_cell(h) for h in headers) + " |")
    out.append("|" + "|".join(":--" if i == 0 else "--:" for i in range(len(headers))) + "|")
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    out.append("")
    return out

"""One self-contained HTML file: inline CSS, inline SVG figures, no script, font or image links.

The page needs nothing from the network: the test opens it in chromium and fails on any
request other than the file itself.
"""

from __future__ import annotations

from html import escape

from densexp_tui.share.report_blocks import (
    Block,
    Code,
    FigureBlock,
    Heading,
    Paragraph,
    Section,
    Table,
)

# System fonts only (no webfont); colours follow the reader's light or dark preference.
STYLE = """
:root { color-scheme: light dark; --fg: #1d2430; --bg: #ffffff; --muted: #5d6b7a;
        --rule: #d6dce3; --head: #f2f5f8; --accent: #2f6fb3; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #dde3ea; --bg: #161b22; --muted: #9aa7b4; --rule: #313a45;
          --head: #1f2630; --accent: #6ea8e6; }
  svg { background: #ffffff; border-radius: 4px; }
}
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: var(--bg); max-width: 1100px; margin: 2em auto;
       padding: 0 1.2em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid var(--rule); padding-bottom: .2em;
     margin-top: 2em; } h3 { margin-top: 1.4em; }
section { margin-bottom: 2.5em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: .3em; }
th, td { border: 1px solid var(--rule); padding: .25em .6em; text-align: right; }
th { background: var(--head); } td:first-child, th:first-child { text-align: left; }
figure { margin: .8em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9em; }
pre { background: var(--head); padding: .8em; overflow-x: auto; border-radius: 4px; }
details summary { cursor: pointer; color: var(--accent); }
nav a { margin-right: 1em; color: var(--accent); }
"""


def render_html(blocks: list[Block], title: str) -> str:
    body = "\n".join(_block(block) for block in blocks)
    nav = _nav(blocks)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        # Belt and braces: even if a figure referenced something, the browser may not fetch it.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"{nav}{body}\n</body>\n</html>\n"
    )


def _nav(blocks: list[Block]) -> str:
    links = [f'<a href="#{escape(b.anchor)}">{escape(_section_title(b))}</a>'
             for b in blocks if isinstance(b, Section)]
    return f"<nav>{''.join(links)}</nav>\n" if len(links) > 1 else ""


def _section_title(section: Section) -> str:
    first = section.blocks[0] if section.blocks else None
    return first.text if isinstance(first, Heading) else section.anchor


def _block(block: Block) -> str:
    if isinstance(block, Section):
        inner = "\n".join(_block(b) for b in block.blocks)
        return f'<section id="{escape(block.anchor)}">\n{inner}\n</section>'
    if isinstance(block, Heading):
        return f"<h{block.level}>{escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Code):
        return (f"<details><summary>{escape(block.summary)}</summary>"
                f"<pre>{escape(block.text)}</pre></details>")
    if isinstance(block, FigureBlock):
        figure = block.figure
        return (f'<figure role="img" aria-label="{escape(figure.alt)}">{figure.svg}'
                f"<figcaption>{escape(figure.alt)}</figcaption></figure>")
    raise TypeError(f"unknown report block {type(block).__name__}")


def _table(table: Table) -> str:
    caption = f"<caption>{escape(table.caption)}</caption>" if table.caption else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    head_row = f"<thead><tr>{head}</tr></thead>" if any(table.headers) else ""
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in table.rows)
    return f"<table>{caption}{head_row}<tbody>{rows}</tbody></table>"

"""``densexp report``: resolve references, build the blocks, write one file (or file + folder).

The output is checked before any work (a missing or unwritable folder is one line, exit 2)
and written atomically, so a failed report never leaves half a file behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from densexp_tui.core.atomicfile import write_text_atomic
from densexp_tui.core.errors import BadInput
from densexp_tui.core.runstore import RunStore
from densexp_tui.share.report_blocks import report_blocks, walk_figures
from densexp_tui.share.report_data import build_report

FORMATS = {".html": "html", ".htm": "html", ".md": "markdown"}


@dataclass
class WrittenReport:
    path: Path
    size_bytes: int  # the file plus, for Markdown, its figures folder
    seconds: float
    runs: int
    sweeps: int
    figures_dir: Path | None = None


def report_format(out: Path) -> str:
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise BadInput(f"{out}: --out must end in .html or .md")
    return fmt


def check_output(out: Path) -> None:
    """The folder must exist and be writable; the path must not be a folder."""
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise BadInput(f"{out}: is a folder; give a file name ending in .html or .md")
    if not folder.is_dir():
        raise BadInput(f"{out}: folder {folder} does not exist; create it first")
    try:  # a real probe: os.access says yes to root even on a read-only mount
        handle, probe = tempfile.mkstemp(prefix=".densexp-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise BadInput(f"{out}: folder {folder} is not writable "
                       f"({exc.strerror or exc})") from None


def write_report(store: RunStore, refs: list[str], out: Path) -> WrittenReport:
    started = time.perf_counter()
    out = Path(out).expanduser()
    fmt = report_format(out)
    check_output(out)
    content = build_report(store, refs)
    if fmt == "html":
        from densexp_tui.share.report_html import render_html

        blocks = report_blocks(content)
        _write_atomic(out, render_html(blocks, content.title))
        size, figures_dir = out.stat().st_size, None
    else:
        size, figures_dir = _write_markdown(content, out)
    return WrittenReport(path=out, size_bytes=size, seconds=time.perf_counter() - started,
                         runs=len(content.runs), sweeps=len(content.sweeps),
                         figures_dir=figures_dir)


def _write_atomic(path: Path, text: str) -> None:
    try:
        write_text_atomic(path, text)
        _readable_by_others(path)
    except OSError as exc:
        raise BadInput(f"{path}: cannot write ({exc.strerror or exc})") from None


def _readable_by_others(path: Path) -> None:
    """A report is for sharing: the usual mode for new files (the temp file had 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _write_markdown(content: object, out: Path) -> tuple[int, Path]:
    """report.md plus report_files/: the folder is built aside, then swapped in."""
    from densexp_tui.share.report_data import ReportContent
    from densexp_tui.share.report_md import render_markdown

    assert isinstance(content, ReportContent)
    blocks = report_blocks(content)
    folder = out.with_name(out.stem + "_files")
    staging = Path(tempfile.mkdtemp(prefix=f".{out.stem}_files.", dir=out.parent))
    try:
        for figure in walk_figures(blocks):
            (staging / f"{figure.name}.svg").write_text(figure.svg, encoding="utf-8")
            if figure.png is not None:
                (staging / f"{figure.name}.png").write_bytes(figure.png)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
        _readable_by_others(folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BadInput(f"{folder}: cannot write figures ({exc.strerror or exc})") from None
    _write_atomic(out, render_markdown(blocks, folder.name))
    size = out.stat().st_size + sum(p.stat().st_size for p in folder.iterdir())
    return size, folder


def default_report_path(store: RunStore, stem: str) -> Path:
    """Where the app writes a report it exports: <runs dir>/reports/<stem>.html."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem)[:80] or "report"
    return store.root / "reports" / f"{safe}.html"

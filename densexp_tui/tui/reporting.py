"""Exporting a report from the app: a screen posts ``ExportReport``, the app writes it in a
thread worker (share/report_writer.py, the code behind ``densexp report``) and, in a browser
(``densexp serve``), hands the file to the browser as a download.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from densexp_tui.core.errors import BadInput
from densexp_tui.core.runstore import RunStore

if TYPE_CHECKING:
    from textual.app import App


class ExportReport(Message):
    """A screen asks for the report of these runs (the app owns the work)."""

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = list(run_ids)


@dataclass
class ExportOutcome:
    path: Path | None
    error: str = ""
    size_bytes: int = 0
    seconds: float = 0.0


class ReportExported(Message):
    """Posted by the report worker when the file is written (or could not be)."""

    def __init__(self, outcome: ExportOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def export_report(store: RunStore, run_ids: list[str]) -> ExportOutcome:
    """Write <runs dir>/reports/<name>.html; runs in a worker thread, never raises BadInput."""
    from densexp_tui.share.report_writer import default_report_path, write_report

    stem = run_ids[0] if len(run_ids) == 1 else \
        f"compare-{len(run_ids)}-runs-{time.strftime('%Y%m%d-%H%M%S')}"
    out = default_report_path(store, stem)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        written = write_report(store, run_ids, out)
    except BadInput as err:
        return ExportOutcome(path=None, error=str(err))
    except OSError as err:
        return ExportOutcome(path=None, error=f"{out.parent}: {err.strerror or err}")
    return ExportOutcome(path=written.path, size_bytes=written.size_bytes,
                         seconds=written.seconds)


def announce_report(app: App[Any], outcome: ExportOutcome) -> None:
    """Tell the user where the report is; in a browser, also download it."""
    if outcome.path is None:
        app.notify(outcome.error, title="No report", severity="error", timeout=10)
        return
    size = f"{outcome.size_bytes / 1024:.0f} KiB"
    app.notify(f"{outcome.path} ({size}, {outcome.seconds:.1f} s)", title="Report written",
               timeout=10)
    if app.is_web:
        app.deliver_binary(outcome.path, save_filename=outcome.path.name,
                           open_method="download", mime_type="text/html", name="report")

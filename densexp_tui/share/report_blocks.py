"""A report as a list of plain blocks (headings, tables, figures, code), for any output format.

``report_blocks(content)`` decides WHAT a report says; report_html.py and report_md.py only
decide how it looks. Numbers are formatted here once, so HTML and Markdown agree.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from densexp_tui.share import figures
from densexp_tui.share.report_data import ReportContent, RunReport, SweepReport

# Test metrics in the order the tables show them; calibration ones appear when present.
TEST_METRICS = ("loss", "accuracy", "precision", "recall", "f1",
                "ece", "brier", "roc_auc", "pr_auc")
CALIBRATION_METRICS = ("ece", "brier", "roc_auc", "pr_auc")


@dataclass
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Code:
    text: str
    summary: str  # shown folded in HTML ("config.toml")


@dataclass
class FigureBlock:
    figure: figures.Figure


@dataclass
class Section:
    """A run's or sweep's blocks, kept together (HTML wraps them in <section>)."""

    anchor: str
    blocks: list[Block] = field(default_factory=list)


Block = Heading | Paragraph | Table | Code | FigureBlock | Section


def fmt(value: Any, digits: int = 4) -> str:
    """One formatter for every number in a report."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.{digits}f}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return str(value)


def fmt_setting(value: Any) -> str:
    """A config value as it reads in TOML (``0.0005``, not ``5.000e-04``)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt_setting(v) for v in value) + "]"
    return "–" if value is None else repr(value)


def fmt_duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


# ---------------------------------------------------------------------------------------------


def report_blocks(content: ReportContent, with_png: bool = False) -> list[Block]:
    """The whole report: header, comparison (several runs), each run, each sweep."""
    blocks: list[Block] = [Heading(1, content.title)]
    made = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    where = f" from {content.runs_dir}" if content.runs_dir else ""
    blocks.append(Paragraph(f"Written {made}{where}: {len(content.runs)} run(s), "
                            f"{len(content.sweeps)} sweep(s)."))
    if len(content.runs) > 1:
        blocks.append(_comparison(content, with_png))
    for index, run in enumerate(content.runs):
        blocks.append(run_section(run, f"run{index}", with_png))
    for index, sweep in enumerate(content.sweeps):
        blocks.append(_sweep_section(sweep, f"sweep{index}", with_png))
    return blocks


# -- several runs --------------------------------------------------------------------------------


def _comparison(content: ReportContent, with_png: bool) -> Section:
    section = Section("comparison", [Heading(2, "Comparison", "comparison")])
    calibration = [m for m in CALIBRATION_METRICS
                   if any(m in (run.view.test or {}) for run in content.runs)]
    headers = ["run", "status", "best epoch", "val accuracy", "val f1", "test loss",
               "test accuracy", "test f1", *(f"test {m}" for m in calibration), "duration"]
    rows = []
    for run in content.runs:
        best, test = run.view.best or {}, run.view.test or {}
        rows.append([run.run_id, run.view.status if run.view.finished else run.summary.status,
                     fmt(run.best_epoch), fmt(best.get("accuracy")), fmt(best.get("f1")),
                     fmt(test.get("loss")), fmt(test.get("accuracy")), fmt(test.get("f1")),
                     *(fmt(test.get(m)) for m in calibration),
                     fmt_duration(run.view.duration or run.summary.duration)])
    section.blocks.append(Table(headers, rows, "best epoch (validation) and test metrics"))
    differences = content.config_differences()
    if differences:
        section.blocks.append(Table(["setting", *(r.run_id for r in content.runs)],
                                    [[key, *(fmt_setting(v) for v in values)]
                                     for key, values in differences],
                                    "settings that differ between the runs"))
    else:
        section.blocks.append(Paragraph("The runs share every setting."))
    views = [(run.summary.name or run.run_id, run.view) for run in content.runs]
    section.blocks.append(FigureBlock(figures.overlaid_curves(views, "comparison", with_png)))
    return section


# -- one run -------------------------------------------------------------------------------------


def run_section(run: RunReport, anchor: str, with_png: bool = False) -> Section:
    view, summary = run.view, run.summary
    title = f"Run {summary.name or run.run_id} ({run.run_id})"
    section = Section(anchor, [Heading(2, title, anchor)])
    section.blocks.append(Table(["", ""], _overview_rows(run), "overview"))
    section.blocks.extend(_config_blocks(run))
    if view.epochs or len(view.train_loss):
        section.blocks.append(FigureBlock(figures.run_curves(view, anchor, with_png)))
    if view.epochs:
        section.blocks.append(_epochs_table(run))
    section.blocks.extend(_best_epoch_blocks(run, anchor, with_png))
    section.blocks.extend(_test_blocks(run, anchor, with_png))
    return section


def _overview_rows(run: RunReport) -> list[list[str]]:
    view, summary, header = run.view, run.summary, run.view.header
    status = view.status if view.finished else summary.status
    trainable = header.trainable_params if header.trainable_params is not None \
        else summary.params.get("trainable")
    total = header.total_params if header.total_params is not None \
        else summary.params.get("total")
    rows = [
        ["status", status + (f" ({view.message or summary.message})"
                             if (view.message or summary.message) else "")],
        ["dataset", header.dataset or summary.dataset],
        ["model", f"{header.model or summary.model} ({header.finetune or summary.finetune})"],
        ["device", header.device or "–"],
        ["parameters", f"{fmt(trainable)} trainable of {fmt(total)}"],
        ["split sizes", ", ".join(f"{k} {v}" for k, v in header.sizes.items()) or "–"],
        ["epochs", f"{len(view.epochs)} of {header.epochs or summary.epochs}"],
        ["best epoch", fmt(run.best_epoch)],
        ["duration", fmt_duration(view.duration or summary.duration)],
    ]
    if summary.sweep:
        rows.append(["sweep", f"{summary.sweep} trial {summary.trial}"])
    return rows


def _config_blocks(run: RunReport) -> Iterator[Block]:
    if run.parent_id:
        if run.parent_diff:
            yield Table(["setting", f"parent {run.parent_id}", "this run"],
                        [[key, fmt_setting(old), fmt_setting(new)]
                         for key, old, new in run.parent_diff],
                        f"settings changed from the parent run {run.parent_id}")
        else:
            yield Paragraph(f"Parent run {run.parent_id}: no setting changed "
                            "(or the parent is not in this runs directory).")
    if run.config_text:
        yield Code(run.config_text, "config.toml")


def _epochs_table(run: RunReport) -> Table:
    rows = []
    for epoch in run.view.epoch_numbers:
        record = run.view.epochs[epoch]
        mark = " (best)" if epoch == run.best_epoch else ""
        rows.append([f"{epoch}{mark}", fmt(record.train.get("loss")),
                     fmt(record.train.get("accuracy")), fmt(record.val.get("loss")),
                     fmt(record.val.get("accuracy")), fmt(record.val.get("f1")),
                     fmt_duration(record.elapsed)])
    return Table(["epoch", "train loss", "train accuracy", "val loss", "val accuracy",
                  "val f1", "elapsed"], rows, "per epoch")


def _best_epoch_blocks(run: RunReport, anchor: str, with_png: bool) -> Iterator[Block]:
    epoch = run.best_epoch
    record = run.view.epoch_record(epoch) if epoch is not None else None
    if record is None:
        return
    yield Heading(3, f"Validation at the best epoch ({epoch})")
    if record.confusion:
        yield FigureBlock(figures.confusion_matrix(
            record.confusion, record.labels or run.view.labels,
            f"validation confusion, epoch {epoch}", f"{anchor}-val", with_png))
    if record.per_class:
        yield _per_class_table(record.per_class, f"validation per class, epoch {epoch}")


def _test_blocks(run: RunReport, anchor: str, with_png: bool) -> Iterator[Block]:
    test = run.view.test
    if not test:
        yield Paragraph("No test metrics (the run did not reach its test evaluation).")
        return
    yield Heading(3, "Test")
    present = [m for m in TEST_METRICS if m in test]
    yield Table(present, [[fmt(test.get(m)) for m in present]], "test metrics")
    if not any(m in test for m in CALIBRATION_METRICS):
        yield Paragraph("No calibration metrics (ece, brier, roc_auc, pr_auc) in this run's "
                        "test event.")
    if test.get("per_class"):
        yield _per_class_table(test["per_class"], "test per class")
    if test.get("confusion"):
        labels = list(test.get("labels") or run.view.labels)
        yield FigureBlock(figures.confusion_matrix(test["confusion"], labels, "test confusion",
                                                   f"{anchor}-test", with_png))


def _per_class_table(per_class: dict[str, dict[str, Any]], caption: str) -> Table:
    rows = [[label, fmt(values.get("precision")), fmt(values.get("recall")),
             fmt(values.get("f1")), fmt(values.get("support"))]
            for label, values in per_class.items()]
    return Table(["class", "precision", "recall", "f1", "support"], rows, caption)


# -- sweeps --------------------------------------------------------------------------------------


def _sweep_section(sweep: SweepReport, anchor: str, with_png: bool) -> Section:
    section = Section(anchor, [Heading(2, f"Sweep {sweep.name}", anchor)])
    finished = sum(1 for r in sweep.rows if r.finished)
    best = sweep.best_so_far[-1][1] if sweep.best_so_far else None
    section.blocks.append(Paragraph(
        f"{len(sweep.rows)} trials ({finished} finished), {sweep.direction} "
        f"{sweep.objective or 'the objective'}; best {fmt(best)}."))
    section.blocks.append(_trials_table(sweep))
    values = [(float(r.number), float(r.value)) for r in sweep.rows
              if r.state == "complete" and r.value is not None and math.isfinite(r.value)]
    if values:
        points = [(float(n), v) for n, v in sweep.best_so_far]
        section.blocks.append(FigureBlock(figures.best_so_far(points, values, sweep.objective,
                                                              anchor, with_png)))
    section.blocks.extend(_importance_blocks(sweep, anchor, with_png))
    if sweep.best_run is not None:
        best_run = run_section(sweep.best_run, f"{anchor}-best", with_png)
        best_run.blocks[0] = Heading(3, f"Best trial: {sweep.best_run.run_id}",
                                     f"{anchor}-best")
        section.blocks.append(best_run)
    return section


def _trials_table(sweep: SweepReport) -> Table:
    keys = sorted({key for row in sweep.rows for key in row.params})
    rows = [[str(r.number), r.state, fmt(r.value), *(fmt(r.params.get(k)) for k in keys),
             str(r.epochs), fmt_duration(r.duration), r.run_id, r.note]
            for r in sorted(sweep.rows, key=lambda r: r.number)]
    return Table(["trial", "state", "value", *keys, "epochs", "duration", "run", "note"],
                 rows, "trials")


def _importance_blocks(sweep: SweepReport, anchor: str, with_png: bool) -> Iterator[Block]:
    if not sweep.importances:
        yield Paragraph("Parameter importances need at least 4 complete trials with "
                        "different values.")
        return
    yield FigureBlock(figures.importances(sweep.importances, anchor, with_png))
    ordered = sorted(sweep.importances.items(), key=lambda item: -item[1])
    yield Table(["parameter", "importance"], [[k, fmt(v)] for k, v in ordered],
                "parameter importances (Optuna, fANOVA)")


def walk_figures(blocks: list[Block]) -> Iterator[figures.Figure]:
    """Every figure in reading order (the Markdown writer saves each as a file)."""
    for block in blocks:
        if isinstance(block, FigureBlock):
            yield block.figure
        elif isinstance(block, Section):
            yield from walk_figures(block.blocks)


Renderer = Callable[[list[Block]], str]

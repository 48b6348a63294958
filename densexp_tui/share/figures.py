"""Report figures drawn with matplotlib (Agg backend, imported on first use) as SVG or PNG.

Each function returns a ``Figure`` description (a name and the bytes in both formats are made
on demand), so the HTML writer inlines the SVG and the Markdown writer saves files.
SVG output is made deterministic (fixed hash salt, no date) so the same run gives the same
report, and its text is kept as text (``svg.fonttype = none``): the page needs no font file
and a reader can search the figures' labels.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from densexp_tui.core.runview import RunView

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

Series = Sequence[tuple[float, float]]


@dataclass
class Figure:
    """A rendered figure: ``name`` is a file stem, ``alt`` says what it shows."""

    name: str
    alt: str
    svg: str
    png: bytes | None = None


_MPL_READY = False
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, set up once (never at module import)."""
    global _MPL_READY
    import matplotlib

    if not _MPL_READY:
        matplotlib.use("Agg", force=True)
        matplotlib.rcParams.update({
            "svg.fonttype": "none",
            "svg.hashsalt": "densexp",
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "figure.dpi": 100,
        })
        _MPL_READY = True
    import matplotlib.pyplot as plt

    return plt


def _render(fig: MplFigure, name: str, alt: str, with_png: bool) -> Figure:
    plt = _pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    png = None
    if with_png:
        binary = io.BytesIO()
        fig.savefig(binary, format="png", dpi=110)
        png = binary.getvalue()
    plt.close(fig)
    return Figure(name=name, alt=alt, svg=_strip_xml_header(buffer.getvalue()), png=png)


def _strip_xml_header(svg: str) -> str:
    """Inline SVG in HTML must not carry the XML declaration or DOCTYPE; the RDF metadata
    block (creator, licence URIs) is dropped too, so the page names no outside address."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    return _METADATA.sub("", svg, count=1)


def _plot(axes: Axes, series: Series, label: str, **style: Any) -> None:
    if series:
        xs, ys = zip(*series, strict=True)
        axes.plot(xs, ys, label=label, **style)


# ---------------------------------------------------------------------------------------------
# One run


def run_curves(view: RunView, stem: str, with_png: bool = False) -> Figure:
    """Loss and accuracy by step: train (every logged step) and validation (each epoch end)."""
    plt = _pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    _plot(loss_ax, view.train_loss.points(), "train", linewidth=1)
    _plot(loss_ax, view.val_series_by_step("loss"), "val", marker="o")
    loss_ax.set_title("loss")
    _plot(acc_ax, view.train_accuracy.points(), "train", linewidth=1)
    _plot(acc_ax, view.val_series_by_step("accuracy"), "val", marker="o")
    acc_ax.set_title("accuracy")
    for axes in (loss_ax, acc_ax):
        axes.set_xlabel("step")
        if axes.lines:
            axes.legend(loc="best")
    return _render(fig, f"{stem}-curves", "loss and accuracy by step (train and validation)",
                   with_png)


def confusion_matrix(matrix: list[list[int]], labels: list[str], title: str, stem: str,
                     with_png: bool = False) -> Figure:
    """Counts with the row-normalised share as the colour (rows: true, columns: predicted)."""
    plt = _pyplot()
    size = max(2.8, 0.55 * len(labels) + 1.8)
    fig, axes = plt.subplots(figsize=(size + 0.8, size), layout="constrained")
    shares = [[cell / (sum(row) or 1) for cell in row] for row in matrix]
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.grid(False)
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if len(labels) <= 20:
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                colour = "white" if shares[i][j] > 0.6 else "black"
                axes.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=8)
    fig.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    return _render(fig, f"{stem}-confusion", title, with_png)


# ---------------------------------------------------------------------------------------------
# Several runs


def overlaid_curves(views: Sequence[tuple[str, RunView]], stem: str,
                    with_png: bool = False) -> Figure:
    """Validation loss and accuracy by epoch, one line per run."""
    plt = _pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    for label, view in views:
        _plot(loss_ax, view.val_series("loss"), label, marker="o", markersize=3)
        _plot(acc_ax, view.val_series("accuracy"), label, marker="o", markersize=3)
    loss_ax.set_title("validation loss")
    acc_ax.set_title("validation accuracy")
    for axes in (loss_ax, acc_ax):
        axes.set_xlabel("epoch")
    if len(views) <= 12 and acc_ax.lines:
        acc_ax.legend(loc="best", fontsize=7)
    return _render(fig, f"{stem}-overlay", "validation loss and accuracy by epoch, per run",
                   with_png)


# ---------------------------------------------------------------------------------------------
# Sweeps


def best_so_far(points: Series, values: Series, objective: str, stem: str,
                with_png: bool = False) -> Figure:
    """Each complete trial's value (dots) and the best so far (a step line)."""
    plt = _pyplot()
    fig, axes = plt.subplots(figsize=(7, 3.2), layout="constrained")
    if values:
        xs, ys = zip(*values, strict=True)
        axes.scatter(xs, ys, s=10, alpha=0.6, label="trial")
    if points:
        xs, ys = zip(*points, strict=True)
        axes.step(xs, ys, where="post", label="best so far")
        axes.legend(loc="best")
    axes.set_xlabel("trial")
    axes.set_ylabel(objective or "objective")
    axes.set_title("best so far")
    return _render(fig, f"{stem}-best-so-far", f"best {objective} so far by trial", with_png)


def importances(values: dict[str, float], stem: str, with_png: bool = False) -> Figure:
    """Optuna's parameter importances as horizontal bars, largest on top."""
    plt = _pyplot()
    ordered = sorted(values.items(), key=lambda item: item[1])
    fig, axes = plt.subplots(figsize=(6, 0.45 * len(ordered) + 1.2), layout="constrained")
    axes.barh([name for name, _ in ordered], [value for _, value in ordered])
    axes.set_xlabel("importance")
    axes.set_title("parameter importances")
    return _render(fig, f"{stem}-importances", "parameter importances", with_png)

"""The dataset card's plots, as PNG files (matplotlib, no display needed).

Figures are built with matplotlib's object API and the Agg canvas, so nothing
touches pyplot's global state or needs a display.  Labels must render with the
fonts the machine has: a label with a character the font lacks (a Chinese
file name on a machine without CJK fonts) would come out as empty boxes, so
such a label is replaced by its rank (``#3``), which the card's source table
also shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from transforms.storage import atomic_path

FIGSIZE = (8.0, 4.5)
DPI = 110
BAR_COLOR = "#4C72B0"
MAX_BARS = 20
LABEL_CHARS = 42


@cache
def _font_charmap() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    return frozenset(FT2Font(path).get_charmap())


def renders(text: str) -> bool:
    """True when every character of ``text`` has a glyph in the plots' font."""
    charmap = _font_charmap()
    return all(ord(ch) in charmap or ch.isspace() for ch in text)


def plot_label(text: str, rank: int) -> str:
    """``text`` shortened to fit a bar label, or ``#rank`` if the font cannot draw it."""
    if not renders(text):
        return f"#{rank}"
    if len(text) > LABEL_CHARS:  # keep both ends: a folder's name and the file's
        head = LABEL_CHARS // 3
        gap = "…" if renders("…") else "~"
        return text[:head] + gap + text[-(LABEL_CHARS - head - 1) :]
    return text


# Counts read as 12,000 rather than 12000 or 1.2e4.
_THOUSANDS = FuncFormatter(lambda x, _: f"{x:,.0f}")


def _fit_margins(figure: Figure, ytick_labels: list[str], ylabel: bool) -> None:
    """Leave room for the tick labels, axis labels and title, measured with the real font.

    What ``tight_layout`` does, without its extra full draw of the figure
    (which doubled the time a release spends on its plots).
    """
    renderer = FigureCanvasAgg(figure).get_renderer()
    points = figure.dpi / 72

    def size(text: str, fontsize: str) -> tuple[float, float]:
        width, height, _ = renderer.get_text_width_height_descent(
            text, FontProperties(size=fontsize), ismath=False
        )
        return width, height

    pad, tick = 10 * points, 8 * points  # outer padding; tick length + tick label pad
    _, line = size("0123456789Ag", "medium")
    _, title = size("Ag", "large")
    widest = max((size(label, "medium")[0] for label in ytick_labels), default=0.0)
    left = pad + (line + 4 * points if ylabel else 0) + widest + tick
    bottom = pad + line + 4 * points + line + tick
    top = pad + title + 6 * points
    width, height = figure.bbox.width, figure.bbox.height
    figure.subplots_adjust(
        left=left / width,
        right=1 - 2.5 * pad / width,
        bottom=bottom / height,
        top=1 - top / height,
    )


def _save(figure: Figure, destination: Path) -> Path:
    FigureCanvasAgg(figure)
    with atomic_path(destination) as tmp, open(tmp, "wb") as handle:
        figure.savefig(handle, format="png", dpi=DPI)
    return destination


def _figure(height: float = FIGSIZE[1]) -> Figure:
    return Figure(figsize=(FIGSIZE[0], height), dpi=DPI)


def length_histogram(n_chars: np.ndarray, destination: Path) -> Path:
    """Histogram of characters per document, on a log axis, with the median marked."""
    figure = _figure()
    axes = figure.add_subplot()
    values = np.asarray(n_chars, dtype=np.int64)
    values = values[values > 0]
    if len(values):
        low, high = int(values.min()), int(values.max())
        bins = (
            np.geomspace(low, high + 1, num=min(40, max(5, len(values) // 2)))
            if high > low
            else np.array([low * 0.9, low * 1.1])
        )
        axes.hist(values, bins=bins, color=BAR_COLOR, edgecolor="white")
        axes.set_xscale("log")
        # Plain numbers at 1-2-5 steps read better than powers of ten.
        axes.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axes.xaxis.set_major_formatter(_THOUSANDS)
        axes.xaxis.set_minor_formatter(NullFormatter())
        median = float(np.median(values))
        axes.axvline(median, color="#C44E52", linestyle="--", linewidth=1.5)
        axes.annotate(
            f"median {median:,.0f}",
            xy=(median, 0.97),
            xycoords=("data", "axes fraction"),
            xytext=(5, 0),
            textcoords="offset points",
            va="top",
            color="#C44E52",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
        )
        axes.set_ylim(0, axes.get_ylim()[1] * 1.12)
    else:
        axes.text(0.5, 0.5, "no documents", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(f"Document length ({len(values):,} documents)")
    axes.set_xlabel("characters per document (after cleaning, log scale)")
    axes.set_ylabel("documents")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(_THOUSANDS)
    axes.grid(axis="y", alpha=0.3)
    _fit_margins(figure, [f"{axes.get_ylim()[1]:,.0f}"], ylabel=True)
    return _save(figure, destination)


def horizontal_bars(
    labels: Sequence[str],
    values: Sequence[int],
    title: str,
    xlabel: str,
    destination: Path,
    colors: Sequence[str] | None = None,
) -> Path:
    """A horizontal bar chart, largest bar on top, each bar labelled with its count."""
    height = max(2.6, 0.9 + 0.34 * len(labels))
    figure = _figure(height)
    axes = figure.add_subplot()
    positions = np.arange(len(labels))[::-1]
    bars = axes.barh(positions, values, color=colors or BAR_COLOR)
    axes.set_yticks(positions, labels=list(labels))
    axes.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3)
    axes.set_xlim(0, max(values, default=1) * 1.22 or 1)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    axes.xaxis.set_major_formatter(_THOUSANDS)
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.grid(axis="x", alpha=0.3)
    _fit_margins(figure, list(labels), ylabel=False)
    return _save(figure, destination)


def documents_per_source(
    counts: Sequence[tuple[str, int]], destination: Path, total_sources: int | None = None
) -> Path:
    """Bars for the largest sources (already sorted, largest first); the rest as one bar."""
    shown = list(counts[:MAX_BARS])
    labels = [plot_label(name, rank) for rank, (name, _) in enumerate(shown, start=1)]
    values = [n for _, n in shown]
    rest = counts[MAX_BARS:]
    if rest:
        labels.append(f"{len(rest):,} other sources")
        values.append(sum(n for _, n in rest))
    total = total_sources if total_sources is not None else len(counts)
    return horizontal_bars(
        labels,
        values,
        f"Kept documents per source ({total:,} sources)",
        "documents",
        destination,
    )


STAGE_COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3"]


def removals_per_reason(
    rows: Sequence[tuple[str, str, int]], destination: Path, stage_order: Sequence[str] = ()
) -> Path:
    """One bar per (stage, reason), coloured by stage, in pipeline order."""
    stages = list(dict.fromkeys([*stage_order, *(stage for stage, _, _ in rows)]))
    ordered = sorted(rows, key=lambda row: (stages.index(row[0]), -row[2], row[1]))
    color_of = {stage: STAGE_COLORS[i % len(STAGE_COLORS)] for i, stage in enumerate(stages)}
    labels = [f"{reason} ({stage})" for stage, reason, _ in ordered]
    values = [n for _, _, n in ordered]
    total = sum(values)
    return horizontal_bars(
        labels,
        values,
        f"Removed documents per reason ({total:,} removed)",
        "documents removed (stage in brackets)",
        destination,
        colors=[color_of[stage] for stage, _, _ in ordered],
    )

"""Trend pictures drawn with matplotlib (Agg, Nanum font): SVG for pages and the PDF, PNG where SVG cannot go.

Drawing a figure takes tens of milliseconds, so a picture is cached by what it shows (a hash of its numbers and
labels): the dashboard draws again only when a figure changed. Text stays text in the SVG (searchable in the
PDF; WeasyPrint finds the Nanum font through fontconfig).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import threading
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from projects.models import CoreProject
from projects.money import WON_PER_EOK
from projects.trends import Trend

# Debian's fonts-nanum (scripts/install-system.sh, the Dockerfile). Found by path, not by matplotlib's font scan.
NANUM_FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
RAG_COLOURS = {
    CoreProject.RagStatus.ON_TRACK: "#1e7b3c",
    CoreProject.RagStatus.AT_RISK: "#b7791f",
    CoreProject.RagStatus.DELAYED: "#c0392b",
    CoreProject.RagStatus.DONE: "#0b5394",
    CoreProject.RagStatus.ON_HOLD: "#6c757d",
}
INK, MUTED, LINE = "#1d2733", "#5d6b7a", "#d9e0e7"
CACHE_SECONDS = 60 * 60 * 24 * 7
_lock = threading.Lock()  # pyplot is not thread-safe; the object API with one lock is enough
_configured = False


def _matplotlib():
    """Import matplotlib on first use (it is slow to import), with the Agg backend and the Nanum font."""
    global _configured
    if "MPLCONFIGDIR" not in os.environ:
        # matplotlib keeps its font list under its config directory; where that is not writable (the Docker
        # image's user has a read-only home) it scans the system's fonts again in every process. VAR_DIR is ours.
        folder = Path(settings.VAR_DIR) / "matplotlib"
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["MPLCONFIGDIR"] = str(folder)
    import matplotlib

    if not _configured:
        matplotlib.use("Agg")
        from matplotlib import font_manager

        family = "DejaVu Sans"
        if NANUM_FONT.exists():
            for path in (NANUM_FONT, NANUM_FONT.with_name("NanumGothicBold.ttf")):
                if path.exists():
                    font_manager.fontManager.addfont(str(path))
            family = font_manager.FontProperties(fname=str(NANUM_FONT)).get_name()
        matplotlib.rcParams.update(
            {
                "font.family": family,
                "font.size": 8,
                "axes.unicode_minus": False,
                "svg.fonttype": "none",
                "svg.hashsalt": "tracker",
                "axes.edgecolor": LINE,
                "axes.labelcolor": MUTED,
                "xtick.color": MUTED,
                "ytick.color": MUTED,
                "axes.spines.top": False,
                "axes.spines.right": False,
            }
        )
        _configured = True
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    return Figure, MaxNLocator


def _series(trend: Trend) -> dict:
    points = trend.points
    return {
        "labels": [point.label + ("*" if point.is_current else "") for point in points],
        "rag": {
            status: [point.figures.rag.get(status, 0) for point in points] for status in CoreProject.RagStatus.values
        },
        "achieved": [point.figures.milestones_achieved for point in points],
        "overdue": [point.figures.overdue for point in points],
        "requested": [point.figures.requested / WON_PER_EOK for point in points],
        "secured": [point.figures.secured / WON_PER_EOK for point in points],
    }


def _draw(data: dict, *, compact: bool, title: str):
    Figure, MaxNLocator = _matplotlib()
    width, height = (7.2, 1.9) if compact else (7.2, 2.6)
    figure = Figure(figsize=(width, height), dpi=100)
    axes = figure.subplots(1, 3)
    labels = data["labels"]
    x = range(len(labels))
    tick_every = 3 if compact else 2
    rag_labels = dict(CoreProject.RagStatus.choices)

    bottom = [0] * len(labels)
    for status, values in data["rag"].items():
        axes[0].bar(x, values, bottom=bottom, color=RAG_COLOURS[status], width=0.75, label=str(rag_labels[status]))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes[0].set_title(_("추진 상태별 사업 수"), fontsize=8, color=INK, loc="left")
    axes[1].plot(x, data["achieved"], color=RAG_COLOURS["on_track"], linewidth=1.6, label=_("달성(누적)"))
    axes[1].plot(x, data["overdue"], color=RAG_COLOURS["delayed"], linewidth=1.6, label=_("기한 지남"))
    axes[1].set_title(_("마일스톤"), fontsize=8, color=INK, loc="left")
    axes[2].plot(x, data["requested"], color=MUTED, linewidth=1.6, label=_("신청"))
    axes[2].plot(x, data["secured"], color=RAG_COLOURS["done"], linewidth=1.6, label=_("확보"))
    axes[2].fill_between(x, data["secured"], color=RAG_COLOURS["done"], alpha=0.12)
    axes[2].set_title(_("국비 누적 (억원)"), fontsize=8, color=INK, loc="left")
    for index, ax in enumerate(axes):
        ax.set_xticks(list(x)[::-1][::tick_every][::-1])
        ax.set_xticklabels(labels[::-1][::tick_every][::-1], fontsize=6.5)
        ax.tick_params(axis="y", labelsize=6.5)
        top = max([*ax.get_ylim()[1:], 1])
        ax.set_ylim(0, top * 1.3)  # room for the legend above the data
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
        ax.tick_params(length=0)
        ax.grid(axis="y", color=LINE, linewidth=0.5)
        ax.set_axisbelow(True)
        if not compact or index:
            ax.legend(fontsize=6, frameon=False, loc="upper left", ncol=2 if index else 3)
    figure.suptitle(title, x=0.01, ha="left", fontsize=9, color=INK)
    # Fixed margins: tight_layout would draw the figure once more just to measure it.
    figure.subplots_adjust(
        left=0.05, right=0.99, bottom=0.13 if compact else 0.1, top=0.78 if compact else 0.82, wspace=0.22
    )
    return figure


def _cached(kind: str, trend: Trend, compact: bool, render) -> bytes:
    data = _series(trend)
    title = f"{trend.code} {trend.name}" if compact else trend.name
    digest = hashlib.sha256(
        json.dumps([kind, compact, title, get_language(), data], sort_keys=True).encode()
    ).hexdigest()[:32]
    key = f"chart:v1:{digest}"
    found = cache.get(key)
    if found is not None:
        return found
    with _lock:
        figure = _draw(data, compact=compact, title=title)
        buffer = io.BytesIO()
        render(figure, buffer)
    value = buffer.getvalue()
    cache.set(key, value, CACHE_SECONDS)
    return value


def _describe(trend: Trend) -> str:
    """What the picture shows, in words: the first and the last week (screen readers, text extraction)."""
    first, last = trend.first, trend.last
    rag = dict(CoreProject.RagStatus.choices)
    statuses = ", ".join(f"{rag[s]} {last.rag.get(s, 0)}" for s in CoreProject.RagStatus.values)
    return _(
        "%(name)s 최근 %(weeks)s주: %(statuses)s; 달성 %(achieved_from)s → %(achieved)s, 기한 지남 %(overdue_from)s → "
        "%(overdue)s; 국비 신청 %(requested)s억, 확보 %(secured)s억"
    ) % {
        "name": trend.name,
        "weeks": len(trend.points),
        "statuses": statuses,
        "achieved_from": first.milestones_achieved,
        "achieved": last.milestones_achieved,
        "overdue_from": first.overdue,
        "overdue": last.overdue,
        "requested": f"{last.requested / WON_PER_EOK:,.0f}",
        "secured": f"{last.secured / WON_PER_EOK:,.0f}",
    }


def trend_svg(trend: Trend, *, compact: bool = False) -> str:
    """The trend as an inline SVG element (no XML prolog), for pages and the PDF."""

    def render(figure, buffer):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})

    svg = _cached("svg", trend, compact, render).decode()
    svg = svg[svg.index("<svg") :]
    # The Content-Security-Policy refuses <style> elements in pages: matplotlib's one rule (round line joins)
    # lives in static/tracker.css instead; everything else is drawn with attributes.
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    # Several charts share a page: matplotlib numbers its ids per figure, so give each chart its own.
    prefix = f"{trend.code}-{'c' if compact else 'f'}-"
    svg = re.sub(r'id="([^"]+)"', rf'id="{prefix}\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{prefix}\1"', svg)
    # Scales with its container (CSS); the fixed size stays as the aspect ratio.
    svg = svg.replace('width="', 'data-width="', 1).replace('height="', 'data-height="', 1)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(_describe(trend))}" ', 1)


def trend_png(trend: Trend, *, compact: bool = False) -> bytes:
    """The trend as a PNG (150 dpi), for mail clients that show no SVG."""

    def render(figure, buffer):
        figure.savefig(buffer, format="png", dpi=150)

    return _cached("png", trend, compact, render)


SVG_NS = "http://www.w3.org/2000/svg"


def svg_flatten(svg: bytes) -> bytes:
    """matplotlib's SVG without what only a page needs: two thirds of its elements are groups that carry nothing
    but an id (one per artist, many of them empty), and WeasyPrint styles and draws every element. The same paths
    and text are left; the digest's PDF at ×100 took about a tenth less processor time."""
    from xml.etree import ElementTree

    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ElementTree.fromstring(svg)
    group, metadata = f"{{{SVG_NS}}}g", f"{{{SVG_NS}}}metadata"

    def flattened(element) -> list:
        children = []
        for child in element:
            children += flattened(child)
        if element.tag == group and set(element.attrib) <= {"id"}:
            return children  # the group's children take its place (an empty group goes)
        element[:] = children
        return [] if element.tag == metadata else [element]

    root[:] = [element for child in root for element in flattened(child)]
    return ElementTree.tostring(root, encoding="utf-8")


def trend_svg_data_uri(trend: Trend, *, compact: bool = False) -> str:
    """The SVG as a data: URI, for the PDF: WeasyPrint draws it as a vector image without styling each element
    of the page; the groups that only carry ids are left out (``svg_flatten``)."""

    def render(figure, buffer):
        raw = io.BytesIO()
        figure.savefig(raw, format="svg", metadata={"Date": None, "Creator": None})
        buffer.write(svg_flatten(raw.getvalue()))

    return "data:image/svg+xml;base64," + base64.b64encode(_cached("svg-print", trend, compact, render)).decode()

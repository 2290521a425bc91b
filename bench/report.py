"""How every benchmark times and reports: the median of several runs, and a title line over a Markdown table,
printed and written to bench/results/<name>-<date>.md, with the machine's load average, which every timing is
quoted next to."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
_ALIGN = {"l": "---", "r": "---:"}


def median_ms(action: Callable[[], object], runs: int) -> float:
    """The median wall time of ``runs`` calls of ``action``, in milliseconds."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def load_average() -> str:
    """The load average over 1, 5 and 15 minutes: "1.23, 0.98, 0.50"."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]], *, align: str) -> list[str]:
    """The lines of a Markdown table; ``align`` has a letter per column, ``l`` for text and ``r`` for numbers."""
    if len(align) != len(header):
        raise ValueError(f"{len(header)} columns, {len(align)} alignments")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(_ALIGN[letter] for letter in align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def report_write(name: str, title: str, table: list[str], *, out: Path | None = None) -> Path:
    """Print the title and the table, and write them to ``out`` (default bench/results/<name>-<today>.md)."""
    report = "\n".join([title, "", *table])
    print(report)
    out = out or RESULTS / f"{name}-{dt.date.today()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
    return out

"""The run's report as a page people look at: one self-contained HTML file with inline SVG charts.

Rendering is pure: ``render_report_html(report, trends)`` turns the JSON report's dict and the
run ledger's recent rows into a string, so it is tested without a database. The page holds no
script, no external reference (styles and charts are inline), and only what the JSON report
already holds; every piece of text is escaped, since legacy values can hold anything.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_LISTED_ROWS = 200  # rejections (and conflicts) listed one per row; the charts count all
TREND_RUNS = 30
SUCCESS_AXIS_FLOOR = 80.0  # the success chart starts here while every run is above it
WIDE_WIDTH, SMALL_WIDTH = 940, 460  # the page's content width, and half of it (SVG units = px)

LEVEL_COLORS = {
    "ok": "#1a7f37",
    "normal": "#1a7f37",
    "optimal": "#1a7f37",
    "warning": "#b35c00",
    "acceptable": "#2f6fb0",
    "inefficient": "#b35c00",
    "critical": "#c62828",
}
ACTION_COLORS = {
    "created": "#2f6fb0",
    "updated": "#7b5ea7",
    "skipped": "#9aa5b1",
    "deleted": "#c2571a",
    "ended": "#c2571a",
}
REJECTED_COLOR, WARNING_COLOR, CONFLICT_COLOR = "#c62828", "#b35c00", "#7b5ea7"
WRITTEN_COLOR, UNCHANGED_COLOR = "#2f6fb0", "#9aa5b1"
TABLE_ACTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("persons", "Persons", ("created", "updated", "skipped", "deleted")),
    ("students", "Students", ("created", "updated", "skipped", "deleted")),
    ("emergency_contacts", "Emergency contacts", ("created", "updated", "deleted")),
    ("sponsorships", "Sponsorships", ("created", "updated", "ended")),
)

# C0 controls but tab/newline, DEL, and lone surrogates: not valid in an HTML document (NUL is
# not even storable in PostgreSQL text), shown as U+FFFD like the rejection table stores NUL.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class TrendPoint:
    """One completed run of the ledger, as the trend charts plot it."""

    run_id: str
    started_at: datetime
    mode: str
    records_processed: int
    success_rate: float
    efficiency: float
    rejected: int
    rejections_open: int | None  # None: the run predates this count in the ledger
    rejections_resolved: int | None
    duration_seconds: float | None


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    color: str


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str


def html_path_for(json_path: Path) -> Path:
    """The page beside a JSON report: same name, ``.html``."""
    return json_path.with_suffix(".html")


def write_html_report(
    json_path: Path, report: Mapping[str, Any], trends: Sequence[TrendPoint] = ()
) -> Path:
    """Write the page beside ``json_path`` (atomically, like the JSON) and return its path."""
    path = html_path_for(json_path)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report_html(report, trends, source_name=json_path.name), encoding="utf-8")
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- text helpers
def esc(value: Any) -> str:
    """Any value as HTML text: unprintable characters replaced, markup and quotes escaped."""
    return html.escape(_UNPRINTABLE.sub("\ufffd", str(value)), quote=True)


def _shown(value: Any) -> str:
    """A legacy value as a cell: blanks are made visible rather than looking like no value."""
    if value is None:
        return '<span class="muted">(none)</span>'
    if str(value).strip() == "":
        return '<span class="muted">(empty)</span>'
    return esc(value)


def _num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _int(value: Any) -> int:
    return int(_num(value))


def _fmt(value: float) -> str:
    """1,234 for whole numbers, 97.5 otherwise."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _short(value: float) -> str:
    """Axis labels: 950, 1.2k, 3.4M."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _zone(name: Any) -> tzinfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _parse_time(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _local(moment: datetime | None, zone: tzinfo, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(zone).strftime(pattern) if moment else "?"


def overall_status(report: Mapping[str, Any]) -> str:
    """ok / warning / critical: the run's status and success level in one word."""
    info, summary = report.get("migration_info", {}), report.get("summary", {})
    if info.get("status", "completed") != "completed":
        return "critical"
    level = summary.get("success_level")
    return {"normal": "ok", "warning": "warning"}.get(level, "critical")


# --------------------------------------------------------------------------- SVG charts
def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 4, 6 or 8 x 10^k at or above ``value`` (an axis maximum)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):  # quarters of these make round ticks
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def bar_chart_svg(
    bars: Sequence[Bar], *, title: str, width: int = WIDE_WIDTH, label_width: int = 200
) -> str:
    """Horizontal bars, labelled on the left, each with its value at its end."""
    if not bars:
        return ""
    value_width, row = 70, 24
    plot = width - label_width - value_width
    top = max((b.value for b in bars), default=0) or 1
    y, parts = 4, []
    for bar in bars:
        length = 0.0 if bar.value <= 0 else max(plot * bar.value / top, 2.0)
        parts.append(
            f"<g><title>{esc(bar.label)}: {_fmt(bar.value)}</title>"
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
            f"{esc(_clip(bar.label, 28))}</text>"
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
            f'rx="2" fill="{bar.color}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 16}" class="value">'
            f"{_fmt(bar.value)}</text></g>"
        )
        y += row
    height = y + 4
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{esc(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(title)}</title>"
        f'<line x1="{label_width}" y1="0" x2="{label_width}" y2="{height}" class="axis"/>'
        + "".join(parts)
        + "</svg>"
    )


def stacked_bar_svg(parts: Sequence[Bar], *, title: str, width: int = WIDE_WIDTH) -> str:
    """One bar split into shares of a whole, with a legend underneath."""
    total = sum(max(p.value, 0) for p in parts)
    x, shapes, legend = 0.0, [], []
    for p in parts:
        share = max(p.value, 0) / total if total else 0
        if share:
            shapes.append(
                f'<rect x="{x:.1f}" y="0" width="{width * share:.1f}" height="22" '
                f'fill="{p.color}"><title>{esc(p.label)}: {_fmt(p.value)} '
                f"({100 * share:.1f}%)</title></rect>"
            )
        x += width * share
    lx = 0
    for p in parts:
        text = f"{p.label} {_fmt(p.value)}" + (f" ({100 * p.value / total:.1f}%)" if total else "")
        legend.append(
            f'<rect x="{lx}" y="32" width="12" height="12" rx="2" fill="{p.color}"/>'
            f'<text x="{lx + 17}" y="43">{esc(text)}</text>'
        )
        lx += 26 + 7 * len(text)
    return (
        f'<svg class="chart" viewBox="0 0 {width} 50" width="{width}" height="50" role="img" '
        f'aria-label="{esc(title)}" xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}'
        f'</title><rect x="0" y="0" width="{width}" height="22" fill="#eef1f4"/>'
        + "".join(shapes)
        + "".join(legend)
        + "</svg>"
    )


@dataclass(frozen=True)
class _LineFrame:
    """A line chart's geometry: the SVG size, the plot area inside it, and the y range."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: int  # how many x positions (runs)
    y_min: float
    y_max: float

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom

    def x(self, i: int) -> float:
        """The x of point ``i``: spread over the plot, or centred when there is one point."""
        n = self.points
        return self.left + (self.plot_w / 2 if n == 1 else self.plot_w * i / (n - 1))

    def y(self, v: float) -> float:
        """The y of value ``v``, clamped into the y range."""
        low, high = self.y_min, self.y_max
        return self.top + self.plot_h * (1 - (min(max(v, low), high) - low) / (high - low))


def _y_ceiling(values: Sequence[float], y_max: float | None, whole_numbers: bool) -> float:
    """The top of the y axis: ``y_max``, else a round number above the largest value."""
    if y_max is not None:
        return y_max
    largest = max(values, default=0)
    return _nice_ceiling(max(largest, 4) if whole_numbers else largest)


def _grid_svg(frame: _LineFrame, unit: str) -> str:
    """Five horizontal grid lines, each with its value on the left."""
    out = []
    for k in range(5):
        v = frame.y_min + (frame.y_max - frame.y_min) * k / 4
        y = frame.y(v)
        out.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" y2="{y:.1f}" '
            f'class="grid"/><text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'class="tick">{_short(v)}{esc(unit)}</text>'
        )
    return "".join(out)


def _thresholds_svg(frame: _LineFrame, thresholds: Sequence[tuple[float, str]]) -> str:
    """A dashed line at each threshold inside the y range."""
    return "".join(
        f'<line x1="{frame.left}" y1="{frame.y(level):.1f}" x2="{frame.width - frame.right}" '
        f'y2="{frame.y(level):.1f}" stroke="{color}" stroke-dasharray="4 3" stroke-width="1"/>'
        for level, color in thresholds
        if frame.y_min <= level <= frame.y_max
    )


def _x_ticks_svg(frame: _LineFrame, labels: Sequence[str]) -> str:
    """About six labels under the axis; the first and last anchored to the plot's edges."""
    n = frame.points
    step = max(1, math.ceil(n / 6))
    edge = {0: "start", n - 1: "end"} if n > 1 else {}
    return "".join(
        f'<text x="{frame.x(i):.1f}" y="{frame.top + frame.plot_h + 16}" '
        f'text-anchor="{edge.get(i, "middle")}" class="tick">{esc(label)}</text>'
        for i, label in enumerate(labels)
        if i % step == 0 or i == n - 1 and (n - 1) % step >= step / 2
    )


def _series_svg(
    frame: _LineFrame,
    s: Series,
    x_labels: Sequence[str],
    unit: str,
    highlight: int | None,
) -> str:
    """One series: a polyline per run of consecutive values (None breaks the line), then a
    dot per value with its tooltip; the ``highlight`` point drawn larger."""
    segments: list[list[str]] = [[]]
    for i, v in enumerate(s.values):
        if v is None:
            segments.append([])
        else:
            segments[-1].append(f"{frame.x(i):.1f},{frame.y(v):.1f}")
    lines = [
        f'<polyline points="{" ".join(seg)}" fill="none" stroke="{s.color}" '
        'stroke-width="2" stroke-linejoin="round"/>'
        for seg in segments
        if len(seg) > 1
    ]
    dots = [
        f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(v):.1f}" r="{4.5 if i == highlight else 2.5}" '
        f'fill="{s.color}"><title>{esc(x_labels[i])}: {esc(s.name)} {_fmt(v)}{esc(unit)}</title>'
        "</circle>"
        for i, v in enumerate(s.values)
        if v is not None
    ]
    return "".join(lines + dots)


def _legend_svg(frame: _LineFrame, series: Sequence[Series]) -> str:
    """A swatch and name per series along the bottom edge."""
    out, lx = [], frame.left
    for s in series:
        out.append(
            f'<rect x="{lx}" y="{frame.height - 14}" width="12" height="4" fill="{s.color}"/>'
            f'<text x="{lx + 17}" y="{frame.height - 8}" class="tick">{esc(s.name)}</text>'
        )
        lx += 30 + 7 * len(s.name)
    return "".join(out)


def line_chart_svg(
    series: Sequence[Series],
    x_labels: Sequence[str],
    *,
    title: str,
    y_max: float | None = None,
    y_min: float = 0.0,
    whole_numbers: bool = False,
    unit: str = "",
    thresholds: Sequence[tuple[float, str]] = (),
    highlight: int | None = None,
    tick_labels: Sequence[str] | None = None,
    width: int = SMALL_WIDTH,
    height: int = 210,
) -> str:
    """Lines over runs, with gaps where a value is None, and dashed threshold lines.

    The point at index ``highlight`` (the report's own run) is drawn larger. The y axis runs
    from ``y_min`` to ``y_max``, by default a round number above the largest value (at least
    4 for ``whole_numbers``, so counts never get fractional ticks). ``x_labels`` name the
    points in their tooltips; ``tick_labels``, shorter, go under the axis.
    """
    values = [v for s in series for v in s.values if v is not None]
    frame = _LineFrame(
        width=width,
        height=height,
        left=46,
        right=14,
        top=12,
        bottom=44 if len(series) > 1 else 28,  # room for the legend
        points=len(x_labels),
        y_min=y_min,
        y_max=_y_ceiling(values, y_max, whole_numbers),
    )
    no_data = (
        f'<text x="{frame.left + frame.plot_w / 2}" y="{frame.top + frame.plot_h / 2}" '
        'text-anchor="middle" class="muted">no data yet</text>'
    )
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{esc(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(title)}</title>"
        + _grid_svg(frame, unit)
        + _thresholds_svg(frame, thresholds)
        + _x_ticks_svg(frame, tick_labels or x_labels)
        + "".join(_series_svg(frame, s, x_labels, unit, highlight) for s in series)
        + (_legend_svg(frame, series) if len(series) > 1 else "")
        + ("" if values else no_data)
        + "</svg>"
    )


# --------------------------------------------------------------------------- page sections
def _card(
    label: str, value: str, level: str | None = None, note: str = "", color: str | None = None
) -> str:
    color = color or LEVEL_COLORS.get(level or "", "#1f2933")
    badge = f'<span class="badge" style="background:{color}">{esc(level)}</span>' if level else ""
    return (
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="big" style="color:{color}">{value}</div>{badge}'
        + (f'<div class="note">{note}</div>' if note else "")
        + "</div>"
    )


def _headline(report: Mapping[str, Any]) -> str:
    info, s = report.get("migration_info", {}), report.get("summary", {})
    status = overall_status(report)
    processed = _int(s.get("input", {}).get("records_processed"))
    unchanged = _int(s.get("output", {}).get("skipped_unchanged"))
    successful = _int(s.get("output", {}).get("total_successful"))
    rejected = _int(s.get("rejected", {}).get("total"))
    warnings = sum(_int(v) for v in s.get("warnings", {}).values())
    run_status = str(info.get("status", "completed"))
    cards = [
        _card(
            "Status",
            esc(status.upper()),
            status,
            "" if run_status == "completed" else f"run {esc(run_status)}",
        ),
        _card(
            "Success rate",
            f"{_num(s.get('success_rate')):.1f}%",
            s.get("success_level"),
            "processed rows not rejected",
        ),
        _card(
            "Efficiency",
            f"{_num(s.get('efficiency')):.1f}%",
            s.get("efficiency_level"),
            "processed rows needing no write",
        ),
        _card(
            "Processed",
            _fmt(processed),
            None,
            f"of {_fmt(_int(s.get('input', {}).get('total_legacy_records')))} selected",
        ),
        _card(
            "Rejected",
            _fmt(rejected),
            None,
            f"{_fmt(warnings)} data-quality warning(s)",
            color=REJECTED_COLOR if rejected else None,
        ),
    ]
    if "conflicts" in s or "conflicts" in report:
        count = _int(s.get("conflicts", len(report.get("conflicts") or ())))
        cards.append(
            _card(
                "Conflicts", _fmt(count), "warning" if count else None, "SIS edits vs legacy values"
            )
        )
    outcome = stacked_bar_svg(
        [
            Bar("written", max(successful - unchanged, 0), WRITTEN_COLOR),
            Bar("unchanged", unchanged, UNCHANGED_COLOR),
            Bar("rejected", rejected, REJECTED_COLOR),
        ],
        title="Processed rows: written, unchanged, rejected",
    )
    banner = ""
    if info.get("dry_run"):
        banner = (
            '<p class="banner">Dry run: nothing was written to the database; the counts '
            "are what the real run would do.</p>"
        )
    if info.get("error"):
        banner += f'<p class="banner critical">Run {esc(run_status)}: {esc(info["error"])}</p>'
    return (
        f'{banner}<div class="cards">{"".join(cards)}</div>'
        f'<figure id="chart-outcome">{outcome}</figure>'
    )


def _tables_section(summary: Mapping[str, Any]) -> str:
    charts = "".join(
        f'<figure class="small"><figcaption>{esc(title)}</figcaption>'
        + bar_chart_svg(
            [
                Bar(action, _num(summary.get(key, {}).get(action)), ACTION_COLORS[action])
                for action in actions
            ],
            title=f"{title}: rows per action",
            width=SMALL_WIDTH,
            label_width=90,
        )
        + "</figure>"
        for key, title, actions in TABLE_ACTIONS
    )
    vanished = _int(summary.get("vanished_soft_deleted"))
    note = (
        f"<p>{_fmt(vanished)} student(s) no longer in the legacy table were soft-deleted.</p>"
        if vanished
        else ""
    )
    return _section(
        "tables", "Counts per table", f'<div class="grid" id="chart-tables">{charts}</div>{note}'
    )


def _rejections_section(report: Mapping[str, Any], max_listed: int) -> str:
    rejected = report.get("summary", {}).get("rejected", {})
    breakdown = rejected.get("breakdown") or {}
    total = _int(rejected.get("total"))
    if not total and not breakdown:
        return _section("rejections", "Rejections by reason", "<p>No row was rejected.</p>")
    bars = [Bar(str(reason), _num(n), REJECTED_COLOR) for reason, n in breakdown.items()]
    detailed = report.get("detailed_rejections") or []
    listed = detailed[:max_listed]
    rows = "".join(
        f"<tr><td>{_shown(r.get('student_id'))}</td><td>{_shown(r.get('ipk'))}</td>"
        f"<td><code>{esc(r.get('reason', ''))}</code></td><td>{esc(r.get('detail', ''))}</td></tr>"
        for r in listed
        if isinstance(r, Mapping)
    )
    more = (
        f'<p class="muted">The first {len(listed):,} of {total:,} rejected rows (the JSON '
        f"report holds {len(detailed):,}; <code>student-sync rejections</code> lists every open "
        "one).</p>"
        if total > len(listed)
        else ""
    )
    return _section(
        "rejections",
        f"Rejections by reason ({total:,})",
        f'<figure id="chart-rejections">'
        f"{bar_chart_svg(bars, title='Rejected rows per reason')}</figure>"
        "<p>Rejected rows are stored with their reason and re-evaluated by the next run.</p>"
        '<table id="rejections-table" class="rows">'
        f"{_columns(14, 12, 24)}<thead><tr><th>Student id</th><th>IPK</th>"
        f"<th>Reason</th><th>Detail</th></tr></thead><tbody>{rows}</tbody></table>{more}",
    )


def _warnings_section(summary: Mapping[str, Any]) -> str:
    warnings = summary.get("warnings") or {}
    if not warnings:
        return _section("warnings", "Warnings by rule", "<p>No data-quality warning.</p>")
    bars = [Bar(str(code), _num(n), WARNING_COLOR) for code, n in warnings.items()]
    return _section(
        "warnings",
        f"Warnings by rule ({sum(_int(n) for n in warnings.values()):,})",
        "<p>Values the target could not hold as given: stored as NULL or defaulted, the row "
        "itself went through.</p>"
        f'<figure id="chart-warnings">{bar_chart_svg(bars, title="Warnings per rule")}</figure>',
    )


def _conflicts_section(report: Mapping[str, Any], max_listed: int) -> str:
    summary = report.get("summary", {})
    if "conflicts" not in summary and "conflicts" not in report:
        return ""
    listed_all = [c for c in report.get("conflicts") or [] if isinstance(c, Mapping)]
    total = _int(summary.get("conflicts", len(listed_all)))
    if not total and not listed_all:
        return _section(
            "conflicts",
            "Conflicts",
            "<p>No registrar edit in the SIS met a different legacy value.</p>",
        )
    per_column = Counter(str(c.get("column", "?")) for c in listed_all)
    bars = [Bar(col, n, CONFLICT_COLOR) for col, n in per_column.most_common()]
    listed = listed_all[:max_listed]
    rows = "".join(
        f"<tr><td>{_shown(c.get('student_id'))}</td><td><code>{esc(c.get('column', ''))}"
        f"</code></td><td>{_shown(c.get('sis_value'))}</td>"
        f"<td>{_shown(c.get('legacy_value'))}</td></tr>"
        for c in listed
    )
    more = (
        f'<p class="muted">The first {len(listed):,} of {total:,} conflicts.</p>'
        if total > len(listed)
        else ""
    )
    chart = (
        f'<figure id="chart-conflicts">{bar_chart_svg(bars, title="Conflicts per column")}</figure>'
        if bars
        else ""
    )
    return _section(
        "conflicts",
        f"Conflicts ({total:,})",
        "<p>Columns a registrar edited in the SIS since the sync last wrote them, where the "
        f"legacy value differs.</p>{chart}"
        '<table id="conflicts-table" class="rows">'
        f"{_columns(14, 20, 33)}<thead><tr><th>Student id</th><th>Column</th>"
        f"<th>SIS value</th><th>Legacy value</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{more}",
    )


def _tick_pattern(labels: Sequence[str]) -> str:
    """Under the axis: the day, or the time when every run is of one day (seconds if needed).

    ``labels`` are the runs' local start times as ``_local`` writes them (YYYY-mm-dd HH:MM).
    """
    if len({label[:10] for label in labels}) != 1:
        return "%d %b"
    minutes = {label[11:] for label in labels}
    return "%H:%M" if len(minutes) == len(labels) else "%H:%M:%S"


def _trend_charts(
    trends: Sequence[TrendPoint], labels: Sequence[str], ticks: Sequence[str], mark: int | None
) -> list[tuple[str, str]]:
    """The four trend charts, each with its caption: success, efficiency, rejections,
    duration. ``mark`` is the index of the report's own run (drawn larger)."""
    success_floor = (
        SUCCESS_AXIS_FLOOR if all(t.success_rate >= SUCCESS_AXIS_FLOOR for t in trends) else 0
    )
    rejections = [
        Series("open", [t.rejections_open for t in trends], REJECTED_COLOR),
        Series("resolved by the run", [t.rejections_resolved for t in trends], LEVEL_COLORS["ok"]),
        Series("rejected by the run", [float(t.rejected) for t in trends], WARNING_COLOR),
    ]
    return [
        (
            "Success rate",
            line_chart_svg(
                [Series("success rate", [t.success_rate for t in trends], LEVEL_COLORS["ok"])],
                labels,
                title="Success rate (%)",
                y_max=100,
                unit="%",
                y_min=success_floor,
                thresholds=((95, LEVEL_COLORS["warning"]), (90, LEVEL_COLORS["critical"])),
                highlight=mark,
                tick_labels=ticks,
            ),
        ),
        (
            "Efficiency",
            line_chart_svg(
                [Series("efficiency", [t.efficiency for t in trends], WRITTEN_COLOR)],
                labels,
                title="Efficiency (%)",
                y_max=100,
                unit="%",
                thresholds=((70, "#9aa5b1"), (30, "#9aa5b1")),
                highlight=mark,
                tick_labels=ticks,
            ),
        ),
        (
            "Rejections: open, resolved, rejected",
            line_chart_svg(
                rejections,
                labels,
                title="Rejections",
                whole_numbers=True,
                highlight=mark,
                tick_labels=ticks,
            ),
        ),
        (
            "Duration (seconds)",
            line_chart_svg(
                [Series("duration", [t.duration_seconds for t in trends], "#52606d")],
                labels,
                title="Duration (s)",
                unit="s",
                highlight=mark,
                tick_labels=ticks,
            ),
        ),
    ]


def _trends_table_rows(trends: Sequence[TrendPoint], run_id: str | None, zone: tzinfo) -> str:
    """One table row per run, the report's own run highlighted."""
    this_run = ' class="this-run"'
    return "".join(
        f"<tr{this_run if t.run_id == run_id else ''}>"
        f"<td>{esc(_local(t.started_at, zone))}</td><td>{esc(t.mode)}</td>"
        f'<td class="n">{t.records_processed:,}</td><td class="n">{t.success_rate:.1f}%</td>'
        f'<td class="n">{t.efficiency:.1f}%</td><td class="n">{t.rejected:,}</td>'
        f'<td class="n">{_opt(t.rejections_open)}</td>'
        f'<td class="n">{_opt(t.rejections_resolved)}</td>'
        f'<td class="n">{_opt(t.duration_seconds, "{:,.1f}")}</td></tr>'
        for t in trends
    )


def _trends_section(trends: Sequence[TrendPoint], run_id: str | None, zone: tzinfo) -> str:
    """The ledger's recent runs: four charts, and the same numbers as a table."""
    if not trends:
        return _section(
            "trends",
            "Trends",
            "<p>No completed run in the run ledger yet (dry runs are not recorded there).</p>",
        )
    labels = [_local(t.started_at, zone) for t in trends]
    ticks = [_local(t.started_at, zone, _tick_pattern(labels)) for t in trends]
    ids = [t.run_id for t in trends]
    mark = ids.index(run_id) if run_id in ids else None
    figures = "".join(
        f'<figure class="trend" id="chart-trend-{i}"><figcaption>{esc(caption)}</figcaption>'
        f"{chart}</figure>"
        for i, (caption, chart) in enumerate(_trend_charts(trends, labels, ticks, mark))
    )
    return _section(
        "trends",
        f"Trends over the last {len(trends)} completed run(s)",
        f'<p class="muted">From the run ledger; this run\'s point is drawn larger. Dashed lines: '
        f"the 90%/95% success and 30%/70% efficiency levels.</p>"
        f'<div class="trends">{figures}</div>'
        "<details><summary>The runs as a table</summary>"
        '<table id="trends-table"><thead><tr><th>Started</th><th>Mode</th><th>Processed</th>'
        "<th>Success</th><th>Efficiency</th><th>Rejected</th><th>Open</th><th>Resolved</th>"
        f"<th>Seconds</th></tr></thead><tbody>{_trends_table_rows(trends, run_id, zone)}</tbody>"
        "</table></details>",
    )


def _opt(value: float | None, pattern: str = "{:,}") -> str:
    return "\u2013" if value is None else pattern.format(value)


_SETTING_LABELS = {
    "run_id": "Run id",
    "status": "Status",
    "mode": "Mode",
    "dry_run": "Dry run",
    "force_update": "Force update",
    "batch_size": "Batch size",
    "mapping_version": "Mapping version",
    "timezone": "School time zone",
    "database": "Database",
    "start_time": "Started",
    "end_time": "Finished",
    "duration_seconds": "Duration (s)",
    "error": "Error",
}


def _settings_section(info: Mapping[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        if v is None or v == "":
            return '<span class="muted">\u2013</span>'
        if isinstance(v, Mapping | list):
            return esc(
                ", ".join(f"{k}={x}" for k, x in v.items())
                if isinstance(v, Mapping)
                else ", ".join(map(str, v))
            )
        return esc(v)

    filters = info.get("filters") or {}
    rows = (
        [(f"Filter: {str(k).replace('_', ' ')}", value(v)) for k, v in filters.items()]
        if isinstance(filters, Mapping)
        else []
    )
    for key, v in info.items():
        if key != "filters":
            rows.append(
                (_SETTING_LABELS.get(key, str(key).replace("_", " ").capitalize()), value(v))
            )
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return _section(
        "settings", "Filters and settings of the run", f'<table class="settings">{body}</table>'
    )


def _columns(*percents: int) -> str:
    """Fixed column widths (the last column takes the rest): hostile long values wrap inside
    their column instead of squeezing the others."""
    widths = "".join(f'<col style="width:{p}%">' for p in percents)
    return f"<colgroup>{widths}<col></colgroup>"


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


_CSS = """
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Khmer",
"Khmer OS","Khmer UI",sans-serif;color:#1f2933;background:#f5f7fa;margin:0;line-height:1.45}
main{max-width:1000px;margin:0 auto;padding:24px 28px 40px;background:#fff}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.15rem;margin:28px 0 8px;
border-bottom:2px solid #e4e7eb;padding-bottom:4px}
.sub,.muted{color:#616e7c}.sub{margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{flex:1 1 120px;box-sizing:border-box;border:1px solid #e4e7eb;border-radius:8px;
padding:10px 14px}
.card .label{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:#616e7c}
.card .big{font-size:1.7rem;font-weight:700}.card .note{font-size:.8rem;color:#616e7c}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:.75rem;
font-weight:600}
.banner{background:#fff4e5;border-left:4px solid #b35c00;padding:8px 12px}
.banner.critical{background:#fdecea;border-color:#c62828}
figure{margin:8px 0}figcaption{font-weight:600;font-size:.9rem;margin-bottom:2px}
svg.chart{max-width:100%;height:auto;font-size:13px;fill:#1f2933}
svg .value,svg .tick{fill:#52606d}svg .tick{font-size:11px}
svg .axis{stroke:#cbd2d9}svg .grid{stroke:#eef1f4}svg .muted{fill:#9aa5b1}
.grid,.trends{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:8px 20px}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:8px 0}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top;
overflow-wrap:anywhere}thead th{background:#f5f7fa}td.n{text-align:right;white-space:nowrap}
table.rows{table-layout:fixed}
table.settings th{width:30%;font-weight:600}tr.this-run{background:#fff8e1}
code{font-size:.85em}footer{margin-top:32px;font-size:.8rem;color:#616e7c}
@page{margin:12mm}
@media print{body{background:#fff}main{padding:0;max-width:none}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
section,figure,.cards{break-inside:avoid}
.grid,.trends{grid-template-columns:1fr 1fr}details>table{display:table}}
"""


def render_report_html(
    report: Mapping[str, Any],
    trends: Sequence[TrendPoint] = (),
    *,
    max_listed: int = MAX_LISTED_ROWS,
    source_name: str | None = None,
) -> str:
    """The whole page for one JSON report (as ``build_report`` writes it) and its trends."""
    info = report.get("migration_info") or {}
    summary = report.get("summary") or {}
    zone = _zone(info.get("timezone"))
    started = _parse_time(info.get("start_time"))
    mode = str(info.get("mode", "?"))
    title = f"Student sync: {mode} run of {_local(started, zone)}"
    zone_name = str(info.get("timezone") or "UTC")
    subtitle = (
        f"{esc(mode)}{' (dry run)' if info.get('dry_run') else ''}, started "
        f"{esc(_local(started, zone))} ({esc(zone_name)}), "
        f"{_num(info.get('duration_seconds')):,.1f} s; run {esc(info.get('run_id', '?'))}"
    )
    recommendations = "".join(f"<li>{esc(r)}</li>" for r in report.get("recommendations") or [])
    body = (
        f'<h1>{esc(title)}</h1><p class="sub">{subtitle}</p>'
        f"{_headline(report)}"
        + (
            _section("recommendations", "What to do", f"<ul>{recommendations}</ul>")
            if recommendations
            else ""
        )
        + _trends_section(trends, info.get("run_id"), zone)
        + _tables_section(summary)
        + _rejections_section(report, max_listed)
        + _warnings_section(summary)
        + _conflicts_section(report, max_listed)
        + _settings_section(info)
    )
    footer = (
        f"Generated by student_sync from {esc(source_name)}."
        if source_name
        else "Generated by student_sync."
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}<footer>{footer}</footer></main></body></html>\n"
    )

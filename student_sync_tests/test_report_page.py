"""The HTML report page: pure rendering (escaping, limits, sections) and `student-sync report`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from benchmarks.report_html import synthetic_report, synthetic_trends
from student_sync.cli import main
from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.report_html import MAX_LISTED_ROWS, render_report_html
from student_sync_tests.helpers import FIXED_NOW, init_db, legacy_row, rows, run, write_legacy

HOSTILE = (
    '<script>alert("x")</script>',
    '" onmouseover="alert(\'x\')" data-x="',
    "nul\x00byte",
    "សុខា ដារា",  # Khmer, kept as is
)


class Page(HTMLParser):
    """What a browser would build: tags, attributes, text, and rows per table id."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.rows: Counter[str] = Counter()
        self._table: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attrs += attrs
        self.ids.update(v for k, v in attrs if k == "id" and v)
        if tag == "table":
            self._table.append(dict(attrs).get("id") or "")
        if tag == "tr" and self._table:
            self.rows[self._table[-1]] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._table:
            self._table.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def small_report(rejections: int = 3) -> dict:
    return synthetic_report(students=1000, rejections=rejections)


def test_hostile_legacy_text_is_shown_as_text_never_as_markup() -> None:
    report = small_report()
    for r, value in zip(report["detailed_rejections"], HOSTILE, strict=False):
        r["student_id"], r["detail"] = value, value
    report["detailed_rejections"].append(
        {"student_id": HOSTILE[1], "ipk": HOSTILE[0], "reason": HOSTILE[0], "detail": HOSTILE[3]}
    )
    report["recommendations"] = list(HOSTILE)
    report["summary"]["warnings"] = {HOSTILE[0]: 2}
    report["migration_info"]["filters"]["student_id_range"] = HOSTILE[1]
    report["migration_info"]["mode"] = HOSTILE[0]

    html = render_report_html(report, synthetic_trends(3))
    page = Page(html)

    assert "script" not in page.tags and "<script" not in html.lower()
    assert not [name for name, _ in page.attrs if name.startswith("on")]
    assert "\x00" not in html
    html.encode("utf-8")  # a lone surrogate would fail here; none can be in the page
    text = "".join(page.text)
    for value in (HOSTILE[0], HOSTILE[1], HOSTILE[3], "nul\ufffdbyte"):
        assert value in text  # shown to the reader, exactly, as text
    assert render_report_html({"summary": {"warnings": {"\ud800": 1}}}).encode("utf-8")


def test_page_is_self_contained() -> None:
    page = Page(render_report_html(small_report(), synthetic_trends(5)))
    external = [v for k, v in page.attrs if k in ("src", "href") or (v and "://" in v)]
    assert external == ["http://www.w3.org/2000/svg"] * page.tags["svg"]  # only SVG's xmlns
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags)


def test_a_large_run_lists_the_first_rows_and_charts_count_all() -> None:
    report = synthetic_report(students=1_000_000, rejections=20_000)
    html = render_report_html(report, synthetic_trends())
    page = Page(html)
    assert page.rows["rejections-table"] == MAX_LISTED_ROWS + 1  # + the header row
    text = "".join(page.text)
    for reason, n in report["summary"]["rejected"]["breakdown"].items():
        assert f"{reason}: {n:,}" in text  # every bar's tooltip: the full count
    assert f"The first {MAX_LISTED_ROWS} of 20,000 rejected rows" in text
    assert len(html.encode()) < 5_000_000
    assert page.rows["trends-table"] == 30 + 1


def test_headline_levels_and_dry_run_banner() -> None:
    report = small_report()
    assert ">OK<" in render_report_html(report)
    report["summary"]["success_level"] = "warning"
    assert ">WARNING<" in render_report_html(report)
    report["summary"]["success_level"] = "normal"
    report["migration_info"].update(status="failed", error="database error: gone")
    failed = render_report_html(report)
    assert ">CRITICAL<" in failed and "Run failed: database error: gone" in failed
    report["migration_info"].update(status="completed", error=None, dry_run=True)
    assert "Dry run: nothing was written" in render_report_html(report)


def test_conflicts_are_rendered_only_when_the_report_has_them() -> None:
    report = small_report()
    assert "conflicts" not in Page(render_report_html(report)).ids
    report["summary"]["conflicts"] = 0
    assert "No registrar edit" in render_report_html(report)
    report["summary"]["conflicts"] = 3
    report["conflicts"] = [
        {
            "student_id": "00012",
            "column": "family_name",
            "sis_value": "Sok",
            "legacy_value": HOSTILE[0],
        },
        {"student_id": "00013", "column": "family_name", "sis_value": "", "legacy_value": "X"},
        {
            "student_id": "00014",
            "column": "date_of_birth",
            "sis_value": None,
            "legacy_value": "2001-01-15",
        },
    ]
    page = Page(render_report_html(report))
    assert {"conflicts", "chart-conflicts", "conflicts-table"} <= page.ids
    assert page.rows["conflicts-table"] == 4
    text = "".join(page.text)
    assert "family_name: 2" in text and "date_of_birth: 1" in text and HOSTILE[0] in text


def test_trends_draw_lines_with_gaps_and_mark_this_run() -> None:
    report = small_report()
    trends = synthetic_trends(4)
    trends[1] = replace(trends[1], rejections_open=None, rejections_resolved=None)  # old row
    report["migration_info"]["run_id"] = trends[-1].run_id
    html = render_report_html(report, trends)
    page = Page(html)
    assert {f"chart-trend-{i}" for i in range(4)} <= page.ids
    assert page.tags["polyline"] == 6  # one per series: the gap leaves 'open' one segment
    assert html.count(": open ") == 3 and html.count(": resolved by the run ") == 3
    assert html.count(": success rate ") == 4
    assert html.count('r="4.5"') == 6  # this run's point, on each of the six lines
    assert "No completed run in the run ledger" in render_report_html(report, [])


# --------------------------------------------------------------------------- ledger + CLI
@pytest.fixture
def synced(db_url: str, tmp_path: Path) -> tuple[str, list[Path]]:
    """Two runs an hour apart: the first rejects one row, the second (row fixed) resolves it."""
    init_db(db_url)
    write_legacy(db_url, [legacy_row(i) for i in range(1, 11)] + [legacy_row(11, name=" ")])
    first = run(db_url, tmp_path, now=FIXED_NOW)
    write_legacy(db_url, [legacy_row(i) for i in range(1, 12)])
    second = run(db_url, tmp_path, now=FIXED_NOW + timedelta(hours=1))
    assert first.report_path and second.report_path
    return db_url, [first.report_path, second.report_path]


def test_each_run_writes_its_page_with_trends_from_the_ledger(synced) -> None:
    url, (first, second) = synced
    pages = [Page(p.with_suffix(".html").read_text(encoding="utf-8")) for p in (first, second)]
    assert [p.rows["trends-table"] - 1 for p in pages] == [1, 2]  # runs up to each one
    counts = [
        json.loads(r["counts"])
        for r in sorted(rows(url, schema.run_ledger), key=lambda r: str(r["started_at"]))
    ]
    assert [(c["rejections_open"], c["rejections_resolved"]) for c in counts] == [(1, 0), (0, 1)]
    trend_rows = "".join(pages[1].text)
    assert "Rejections: open, resolved, rejected" in trend_rows


def test_report_command_rewrites_the_page_of_the_last_or_a_named_run(
    synced, capsys, monkeypatch
) -> None:
    url, (first, second) = synced
    for p in (first, second):
        p.with_suffix(".html").unlink()
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda uri: opened.append(uri) or True)

    assert main(["report", "--database-url", url, "--open"]) == 0
    assert capsys.readouterr().out.strip() == str(second.with_suffix(".html").resolve())
    assert opened == [second.with_suffix(".html").resolve().as_uri()]
    assert not first.with_suffix(".html").exists()

    run_id = json.loads(first.read_text())["migration_info"]["run_id"]
    assert main(["report", "--database-url", url, "--run", run_id[:8]]) == 0
    page = Page(first.with_suffix(".html").read_text(encoding="utf-8"))
    assert page.rows["trends-table"] - 1 == 1  # the trend as it was at that run
    assert main(["report", "--database-url", url, "--last"]) == 0


def test_report_command_says_what_is_missing_and_exits_2(synced, capsys, tmp_path) -> None:
    url, (first, _second) = synced
    assert main(["report", "--database-url", url, "--run", "no-such-run"]) == 2
    assert "no run 'no-such-run' in the run ledger" in capsys.readouterr().err
    assert main(["report", "--database-url", url, "--run", ""]) == 2
    capsys.readouterr()

    run_id = json.loads(first.read_text())["migration_info"]["run_id"]
    first.unlink()
    assert main(["report", "--database-url", url, "--run", run_id]) == 2
    err = capsys.readouterr().err
    assert f"the report of run {run_id} is no longer at {first.resolve()}" in err

    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    init_db(empty)
    assert main(["report", "--database-url", empty]) == 2
    assert "no run with a report yet" in capsys.readouterr().err
    bare = f"sqlite:///{tmp_path / 'bare.sqlite'}"
    assert main(["report", "--database-url", bare]) == 2
    assert "run `student-sync init` first" in capsys.readouterr().err


def test_a_dry_run_writes_its_page_but_no_ledger_row(sqlite_url: str, tmp_path: Path) -> None:
    init_db(sqlite_url)
    write_legacy(sqlite_url, [legacy_row(i) for i in range(1, 6)])
    result = run(sqlite_url, tmp_path, dry_run=True)
    assert result.report_path is not None
    page = Page(result.report_path.with_suffix(".html").read_text(encoding="utf-8"))
    assert "chart-outcome" in page.ids and "Dry run: nothing was written" in "".join(page.text)
    engine = make_engine(normalize_url(sqlite_url))
    with engine.connect() as conn:
        assert conn.execute(select(schema.run_ledger.c.run_id)).all() == []
    engine.dispose()

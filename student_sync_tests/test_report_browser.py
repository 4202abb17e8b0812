"""The report page looked at for real: the demo's two runs, rendered by headless Chromium.

Skipped only when Chromium is not installed (Debian: ``apt-get install chromium``; ``.ci/run``
installs it); under ``CI=true`` a missing Chromium fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from student_sync.cli import main
from student_sync.engine.report_html import LEVEL_COLORS, WRITTEN_COLOR
from student_sync_tests.test_report_page import Page

WIDTH, HEIGHT, TOP_ROWS = 1000, 800, 420  # the headline (cards, outcome bar) is in TOP_ROWS


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed under CI=true (.ci/run installs it with apt-get)")
    pytest.skip(
        "chromium is not installed (Debian: apt-get install chromium); "
        "under CI=true this is a failure"
    )


def headless(browser: str, page: Path, tmp: Path, *flags: str) -> subprocess.CompletedProcess:
    """One headless Chromium call with its own profile, so parallel runs never share one."""
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp / 'profile'}",
            "--force-device-scale-factor=1",
            f"--window-size={WIDTH},{HEIGHT}",
            *flags,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp,
        env={**os.environ, "HOME": str(tmp)},
        check=True,
    )


def top_pixels(png: bytes, rows: int) -> set[tuple[int, int, int]]:
    """The RGB colours of the first ``rows`` rows of an 8-bit RGB/RGBA PNG (stdlib only)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(bytes(idat)), width * bpp
    assert len(raw) == height * (stride + 1)
    prev, colors = bytearray(stride), set()
    for y in range(min(rows, height)):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colors.update(tuple(line[x : x + 3]) for x in range(0, stride, bpp))
        prev = line
    return colors


def rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def test_the_demo_runs_pages_render_with_their_charts(tmp_path, monkeypatch) -> None:
    browser = chromium()
    monkeypatch.chdir(tmp_path)
    for name in ("STUDENT_SYNC_DATABASE_URL", "STUDENT_SYNC_LEGACY_URL"):
        monkeypatch.delenv(name, raising=False)
    for argv in (
        ["init"],
        ["demo-data", "--students", "300", "--seed", "7"],
        ["migrate"],
        ["demo-data", "--apply-edits", "--seed", "8"],
        ["migrate", "--modified-since", "yesterday"],
    ):
        assert main(argv) == 0, argv
    pages = sorted((tmp_path / "reports").glob("student_sync_upsert_*.html"))
    assert [p.with_suffix(".json").exists() for p in pages] == [True, True]

    for number, page in enumerate(pages, start=1):
        dom = Page(headless(browser, page, tmp_path, "--dump-dom").stdout)
        charts = {"chart-outcome", "chart-tables", *(f"chart-trend-{i}" for i in range(4))}
        # A run with warnings charts them (the first, 300 students, always has some); a run
        # without (the day's few edits may have none, depending on the calendar day that
        # seeds them) draws no empty chart.
        warned = json.loads(page.with_suffix(".json").read_text())["summary"]["warnings"]
        assert warned or number > 1
        assert ("chart-warnings" in dom.ids) == bool(warned)
        assert charts <= dom.ids, charts - dom.ids
        assert dom.tags["svg"] >= 9 + bool(warned) and dom.tags["rect"] >= 15
        assert dom.rows["trends-table"] - 1 == number  # the ledger's runs up to this one
    assert dom.tags["polyline"] >= 4  # the second page draws lines between the two runs

    shot = tmp_path / "page.png"
    headless(browser, pages[-1], tmp_path, f"--screenshot={shot}")
    colors = top_pixels(shot.read_bytes(), TOP_ROWS)
    assert len(colors) > 20  # not a blank page
    for painted in (WRITTEN_COLOR, LEVEL_COLORS["ok"]):  # the outcome bar, the OK badge
        assert rgb(painted) in colors, painted

"""The school's export path end to end: CSV -> legacy_students -> SIS, through the CLI."""

from __future__ import annotations

from datetime import date

from student_sync import demo
from student_sync.cli import main
from student_sync.engine.db import make_engine, normalize_url
from student_sync_tests.helpers import content, init_db, snapshot

TODAY = date(2026, 3, 10)


def test_csv_load_then_migrate_equals_generated_table(db_url: str, tmp_path, capsys) -> None:
    direct = f"sqlite:///{tmp_path / 'direct.sqlite'}"
    init_db(direct)
    engine = make_engine(normalize_url(direct))
    demo.write_legacy_table(engine, demo.generate_legacy_rows(400, 3, today=TODAY))
    engine.dispose()
    assert main(["migrate", "--database-url", direct, "--reports-dir", str(tmp_path)]) == 0

    csv_path = tmp_path / "export.csv"
    demo.write_export_csv(
        demo.generate_legacy_rows(400, 3, today=TODAY), csv_path, seed=3, bom=True
    )
    init_db(db_url)
    assert main(["load-legacy-csv", str(csv_path), "--database-url", db_url]) == 0
    assert main(["migrate", "--database-url", db_url, "--reports-dir", str(tmp_path)]) == 0
    via_csv = content(db_url)
    assert len(via_csv) > 350
    assert via_csv == content(direct)

    # a broken export is refused and leaves the loaded table (and so the SIS) untouched
    before = snapshot(db_url)
    broken = tmp_path / "broken.csv"
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()
    broken.write_text(
        "\n".join(lines[:5] + [lines[5] + ",extra,fields"] + lines[6:]) + "\n", encoding="utf-8"
    )
    capsys.readouterr()
    assert main(["load-legacy-csv", str(broken), "--database-url", db_url]) == 1
    assert "line 6" in capsys.readouterr().err
    assert main(["migrate", "--database-url", db_url, "--reports-dir", str(tmp_path)]) == 0
    assert content(db_url) == via_csv
    assert snapshot(db_url)["people_person"] == before["people_person"]

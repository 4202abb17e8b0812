"""What one benchmark subprocess does: each function takes a spec dict, returns a result dict.

Engine scenarios call ``sync`` (engine.run) exactly as the CLI does (phase split from
:mod:`benchmarks.phases`); references (raw COPY, row-by-row, dlt) work on the same legacy
rows in a copy of the same database. Nothing here measures memory: the parent reads each
subprocess's peak RSS when it exits.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from benchmarks.pg import libpq_url

TODAY = date(2026, 3, 10)  # the generator's "today"; legacy timestamps end two days before
NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 10:00 in Phnom Penh, on TODAY
EDIT_DAY = TODAY - timedelta(days=1)  # "yesterday" in school time for every run at NOW + h
LEGACY = "legacy_students"

Spec = dict[str, Any]
Result = dict[str, Any]


def _engine(spec: Spec) -> Any:
    from student_sync.engine.db import make_engine, normalize_url

    return make_engine(normalize_url(spec["url"]))


# --------------------------------------------------------------------------- setup
def load(spec: Spec) -> Result:
    """Generate N legacy rows (fixed seed), COPY them, create the target tables, ANALYZE."""
    from student_sync import demo
    from student_sync.engine.initialize import initialize

    engine = _engine(spec)
    try:
        t0 = perf_counter()
        rows = demo.generate_legacy_rows(spec["size"], spec["seed"], today=TODAY)
        written = demo.write_legacy_table(engine, rows)
        seconds = perf_counter() - t0
        initialize(engine)
    finally:
        engine.dispose()
    with psycopg.connect(libpq_url(spec["url"]), autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {LEGACY}")
        size = conn.execute(f"SELECT pg_total_relation_size('{LEGACY}')").fetchone()
    return {"seconds": seconds, "rows": written, "legacy_bytes": size[0] if size else None}


def edits(spec: Spec) -> Result:
    """A day of edits (renames, sponsor changes, contact removals, deletions, new ids)."""
    from student_sync import demo

    engine = _engine(spec)
    try:
        t0 = perf_counter()
        plan = demo.apply_day_of_edits(
            engine, seed=spec["seed"], edit_day=EDIT_DAY, fraction=spec["fraction"]
        )
        seconds = perf_counter() - t0
    finally:
        engine.dispose()
    return {"seconds": seconds, "rows": plan.total, "edit_counts": plan.counts()}


# --------------------------------------------------------------------------- engine runs
def _sync_options(spec: Spec) -> Any:
    from student_sync.engine.options import SyncOptions

    extra: dict[str, Any] = {}
    if spec.get("page_size"):
        extra["page_size"] = spec["page_size"]
    return SyncOptions(
        batch_size=spec["batch_size"],
        force_update=spec.get("force_update", False),
        reports_dir=Path(spec["reports_dir"]),
        **extra,
    )


def _run_engine(spec: Spec) -> tuple[Any, float]:
    from student_sync.engine.db import DatabaseUrls, normalize_url
    from student_sync.engine.run import sync

    url = normalize_url(spec["url"])
    t0 = perf_counter()
    result = sync(
        DatabaseUrls(url, url), _sync_options(spec), now=datetime.fromisoformat(spec["now"])
    )
    return result, perf_counter() - t0


@contextmanager
def _recording_workers() -> Iterator[list[int]]:
    """The number of transform worker processes the engine chose (``--workers`` auto)."""
    from student_sync.engine import run

    chosen: list[int] = []
    original = run.open_transformer

    def recording(workers: int, *args: Any, **kwargs: Any) -> Any:
        chosen.append(workers)
        return original(workers, *args, **kwargs)

    run.open_transformer = recording
    try:
        yield chosen
    finally:
        run.open_transformer = original


def sync(spec: Spec) -> Result:
    """One full engine run (initial, no-change, 1% changed or force-update), phases timed."""
    from benchmarks.phases import PhaseTimer

    timer = PhaseTimer()
    with timer.installed(), _recording_workers() as workers:
        result, seconds = _run_engine(spec)
    counters = result.counters
    return {
        "seconds": seconds,
        "workers": max(workers, default=0),
        "rows": counters.records_processed,
        "phases": timer.split(seconds),
        "phase_calls": dict(timer.calls),
        "unmeasured": timer.unmeasured,
        "counters": counters.as_dict(),
        "status": result.summary.status,
    }


def profile(spec: Spec) -> Result:
    """An engine run under pyinstrument: text and HTML profiles plus the hotspot summary."""
    from pyinstrument import Profiler

    import student_sync.engine.run  # noqa: F401 - imports stay out of the profile
    from benchmarks.profiling import cache_stats, hotspots

    profiler = Profiler(interval=spec.get("interval", 0.001))
    profiler.start()
    try:
        result, seconds = _run_engine(spec)
    finally:
        profiler.stop()
    out = Path(spec["profile_path"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".txt").write_text(
        profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8"
    )
    files = [out.with_suffix(".txt")]
    if spec.get("html", False):
        out.with_suffix(".html").write_text(profiler.output_html(), encoding="utf-8")
        files.append(out.with_suffix(".html"))
    session = profiler.last_session
    assert session is not None
    return {
        "seconds": seconds,
        "rows": result.counters.records_processed,
        "counters": result.counters.as_dict(),
        "hotspots": hotspots(session),
        "lru_caches": cache_stats(),
        "files": [str(f) for f in files],
    }


# --------------------------------------------------------------------------- references
def _legacy_columns(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND table_schema = current_schema() ORDER BY ordinal_position",
        (LEGACY,),
    ).fetchall()
    return [r[0] for r in rows]


def raw_copy(spec: Spec) -> Result:
    """The physical floor: psycopg COPY of the same legacy tuples into an unindexed table.

    The tuples are read into memory first (untimed); the timed part is COPY plus commit.
    """
    with psycopg.connect(libpq_url(spec["url"])) as conn:
        columns = _legacy_columns(conn)
        idents = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        tuples = conn.execute(
            sql.SQL("SELECT {} FROM {}").format(idents, sql.Identifier(LEGACY))
        ).fetchall()
        target = sql.Identifier("bench_raw_copy")
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
        conn.execute(
            sql.SQL("CREATE TABLE {} ({})").format(
                target,
                sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in columns),
            )
        )
        conn.commit()
        t0 = perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, idents)) as copy,
        ):
            for row in tuples:
                copy.write_row(row)
        conn.commit()
        seconds = perf_counter() - t0
        size = conn.execute("SELECT pg_total_relation_size('bench_raw_copy')").fetchone()
    return {
        "seconds": seconds,
        "rows": len(tuples),
        "columns": len(columns),
        "table_bytes": size[0] if size else None,
    }


def _written_tables(source: psycopg.Connection, target: psycopg.Connection) -> dict[str, int]:
    """The tables a first load filled, with their rows: rows in ``source``, none in
    ``target`` (the base copy).

    Ordered so that a table comes after those its foreign keys point to (the base copy's
    constraints are all there, as in a real first load); the legacy table is not written.
    """
    names = [
        r[0]
        for r in source.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = 'public' AND c.relname <> %s",
            (LEGACY,),
        )
    ]

    def count(conn: psycopg.Connection, name: str) -> int:
        q = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
        return conn.execute(q).fetchone()[0]  # type: ignore[index]

    rows = {n: count(source, n) for n in names}
    filled = {n for n in names if rows[n] and not count(target, n)}
    refs: dict[str, set[str]] = {n: set() for n in filled}
    for child, parent in source.execute(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f'"
    ):
        if child in filled and parent in filled and child != parent:
            refs[child].add(parent)
    ordered: dict[str, int] = {}
    while refs:
        ready = sorted(n for n, parents in refs.items() if not parents - set(ordered))
        if not ready:
            raise RuntimeError(f"foreign keys form a cycle among {sorted(refs)}")
        for n in ready:
            ordered[n] = rows[n]
            del refs[n]
    return ordered


def write_floor(spec: Spec) -> Result:
    """The write floor of a first load: its own output, already serialized, COPYed back.

    Every table the engine's first load filled in ``source`` (SIS rows, sync state,
    last-written digests, change log, rejections) is dumped with binary ``COPY TO`` into
    files (untimed), then COPYed from those files into the same, empty, indexed tables of
    ``url`` (a fresh copy of the base database: constraints, foreign keys and indexes as the
    engine found them), in one transaction. That is what any tool writing the same rows
    into the same tables must pay at least: no reading, no normalization, no lookups.
    """
    dump_dir = Path(spec["dump_dir"])
    dump_dir.mkdir(parents=True, exist_ok=True)
    with (
        psycopg.connect(libpq_url(spec["source"]), autocommit=True) as source,
        psycopg.connect(libpq_url(spec["url"])) as target,
    ):
        rows = _written_tables(source, target)
        target.rollback()
        for name in rows:
            statement = sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(sql.Identifier(name))
            with (
                (dump_dir / f"{name}.bin").open("wb") as out,
                source.cursor().copy(statement) as copy,
            ):
                for block in copy:
                    out.write(block)
        seconds: dict[str, float] = {}
        t0 = perf_counter()
        for name in rows:
            t = perf_counter()
            statement = sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(name))
            with (
                (dump_dir / f"{name}.bin").open("rb") as data,
                target.cursor().copy(statement) as copy,
            ):
                while block := data.read(1 << 20):
                    copy.write(block)
            seconds[name] = round(perf_counter() - t, 3)
        t = perf_counter()
        target.commit()
        commit_seconds = round(perf_counter() - t, 3)
        total = perf_counter() - t0
    for name in rows:
        (dump_dir / f"{name}.bin").unlink(missing_ok=True)
    return {
        "seconds": total,
        "rows": sum(rows.values()),
        "tables": {name: {"rows": n, "seconds": seconds[name]} for name, n in rows.items()},
        "commit_seconds": commit_seconds,
    }


def _load_sponsors(conn: psycopg.Connection) -> tuple[dict[str, int], str]:
    from student_sync import domain
    from student_sync.engine import run as run_module

    sponsors = {
        code.upper(): sid
        for code, sid in conn.execute(
            "SELECT code, id FROM scholarships_sponsor WHERE is_active AND NOT is_deleted"
        )
    }
    version_fn = getattr(run_module, "mapping_version", None)
    version = version_fn(sponsors) if version_fn else domain.MAPPING_VERSION
    return sponsors, version


def _read_legacy(conn: psycopg.Connection, limit: int | None) -> list[dict[str, Any]]:
    from student_sync.engine.schema import LEGACY_COLUMNS

    stmt = sql.SQL("SELECT {} FROM {} ORDER BY length(id), id{}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in LEGACY_COLUMNS),
        sql.Identifier(LEGACY),
        sql.SQL(" LIMIT {}").format(sql.Literal(limit)) if limit else sql.SQL(""),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(stmt).fetchall()


_PERSON_COLS = (
    "unique_id",
    "family_name",
    "personal_name",
    "full_name",
    "khmer_name",
    "preferred_gender",
    "school_email",
    "personal_email",
    "date_of_birth",
    "birth_province",
    "citizenship",
    "created_at",
    "updated_at",
    "is_deleted",
)
_PROFILE_COLS = (
    "person_id",
    "student_id",
    "legacy_ipk",
    "is_monk",
    "is_transfer_student",
    "current_status",
    "last_enrollment_date",
    "created_at",
    "updated_at",
    "is_deleted",
)
_CONTACT_COLS = (
    "person_id",
    "name",
    "relationship",
    "primary_phone",
    "secondary_phone",
    "email",
    "address",
    "is_primary",
    "created_at",
    "updated_at",
    "is_deleted",
)
_SPONSOR_COLS = (
    "sponsor_id",
    "student_id",
    "sponsorship_type",
    "start_date",
    "notes",
    "created_at",
    "updated_at",
    "is_deleted",
)


def _insert_sql(table: str, cols: tuple[str, ...], returning: bool) -> str:
    """An INSERT of ``cols``; the Django defaults of the NOT NULL columns it leaves out are
    written as literals (the SIS columns have no DEFAULT, as at the school)."""
    from student_sync.engine import schema

    extra = {k: v for k, v in schema.DJANGO_DEFAULTS[table].items() if k not in cols}
    names = (*cols, *extra)
    marks = ", ".join(["%s"] * len(cols) + [_literal(v) for v in extra.values()])
    tail = " RETURNING id" if returning else ""
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks}){tail}"


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)  # numbers, Decimal


def _update_sql(table: str, cols: tuple[str, ...], where: str) -> str:
    return f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in cols)} WHERE {where}"


def row_by_row(spec: Spec) -> Result:
    """What the old tool did, per student: SELECT the profile, then INSERT or UPDATE person,
    profile, contact and each sponsorship, one round trip each, one transaction per row.

    ``pass`` = ``initial`` (empty target: inserts) or ``rerun`` (every row updated again, as
    the old tool did without IPK skipping). Measured on ``limit`` rows.
    """
    from student_sync.engine.model import Rejection
    from student_sync.engine.transform import transform

    stats = {"created": 0, "updated": 0, "rejected": 0, "round_trips": 0}
    with psycopg.connect(libpq_url(spec["url"])) as conn:
        sponsors, version = _load_sponsors(conn)
        conn.commit()
        t0 = perf_counter()
        rows = _read_legacy(conn, spec.get("limit"))
        conn.commit()
        t_extract = perf_counter() - t0
        t_transform = 0.0
        now, today = datetime.fromisoformat(spec["now"]), NOW.date()
        person_ins = _insert_sql("people_person", _PERSON_COLS, True)
        profile_ins = _insert_sql("people_studentprofile", _PROFILE_COLS, True)
        contact_ins = _insert_sql("people_emergencycontact", _CONTACT_COLS, False)
        sponsor_ins = _insert_sql("scholarships_sponsoredstudent", _SPONSOR_COLS, False)
        person_cols = _PERSON_COLS[1:11]
        person_upd = _update_sql("people_person", (*person_cols, "updated_at"), "id = %s")
        profile_cols = (
            "legacy_ipk",
            "is_monk",
            "is_transfer_student",
            "current_status",
            "last_enrollment_date",
        )
        profile_upd = _update_sql("people_studentprofile", (*profile_cols, "updated_at"), "id = %s")
        contact_cols = _CONTACT_COLS[1:7]
        contact_upd = _update_sql(
            "people_emergencycontact",
            (*contact_cols, "updated_at"),
            "person_id = %s AND is_primary",
        )
        sponsor_upd = _update_sql(
            "scholarships_sponsoredstudent",
            ("updated_at",),
            "student_id = %s AND sponsor_id = %s AND end_date IS NULL",
        )
        with conn.cursor() as cur:

            def q(statement: str, params: tuple[Any, ...]) -> Any:
                stats["round_trips"] += 1
                return cur.execute(statement, params)

            def open_sponsorship(code: str, profile_id: int) -> None:
                row = (sponsors[code], profile_id, "FULL", today, "opened by the old tool")
                q(sponsor_ins, (*row, now, now, False))

            for row in rows:
                t1 = perf_counter()
                rec = transform(row, known_sponsors=sponsors, mapping_version=version)
                t_transform += perf_counter() - t1
                if isinstance(rec, Rejection):
                    stats["rejected"] += 1
                    continue
                person, profile, contact = rec.person, rec.profile, rec.contact
                try:
                    found = q(
                        "SELECT id, person_id FROM people_studentprofile WHERE student_id = %s",
                        (rec.student_id,),
                    ).fetchone()
                    if found is None:
                        pid = q(
                            person_ins,
                            (uuid.uuid4(), *(person[c] for c in person_cols), now, now, False),
                        ).fetchone()[0]
                        prof = q(
                            profile_ins,
                            (
                                pid,
                                rec.student_id,
                                *(profile[c] for c in profile_cols),
                                now,
                                now,
                                False,
                            ),
                        ).fetchone()[0]
                        if contact is not None:
                            q(
                                contact_ins,
                                (
                                    pid,
                                    *(getattr(contact, c) for c in contact_cols),
                                    True,
                                    now,
                                    now,
                                    False,
                                ),
                            )
                        for code in rec.sponsor_codes:
                            open_sponsorship(code, prof)
                        stats["created"] += 1
                    else:
                        prof, pid = found
                        q(person_upd, (*(person[c] for c in person_cols), now, pid))
                        q(profile_upd, (*(profile[c] for c in profile_cols), now, prof))
                        if contact is not None:
                            values = tuple(getattr(contact, c) for c in contact_cols)
                            if q(contact_upd, (*values, now, pid)).rowcount == 0:
                                q(contact_ins, (pid, *values, True, now, now, False))
                        for code in rec.sponsor_codes:
                            if q(sponsor_upd, (now, prof, sponsors[code])).rowcount == 0:
                                open_sponsorship(code, prof)
                        stats["updated"] += 1
                    conn.commit()
                except psycopg.IntegrityError:  # e.g. a school email already taken
                    conn.rollback()
                    stats["rejected"] += 1
        seconds = perf_counter() - t0
    return {
        "seconds": seconds,
        "rows": len(rows),
        "phases": {
            "extract": round(t_extract, 4),
            "transform": round(t_transform, 4),
            "apply": round(seconds - t_extract - t_transform, 4),
        },
        "baseline": stats,
    }


def _dlt_records(url: str, page: int, clock: dict[str, float]) -> Iterator[list[dict[str, Any]]]:
    """Normalized records from the engine's transform, a page at a time (server-side cursor)."""
    from student_sync.engine.model import Rejection
    from student_sync.engine.schema import LEGACY_COLUMNS
    from student_sync.engine.transform import transform

    with psycopg.connect(url) as conn:
        sponsors, version = _load_sponsors(conn)
        stmt = sql.SQL("SELECT {} FROM {} ORDER BY length(id), id").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in LEGACY_COLUMNS), sql.Identifier(LEGACY)
        )
        with conn.cursor(name="bench_dlt", row_factory=dict_row) as cur:
            cur.itersize = page
            cur.execute(stmt)
            while True:
                t0 = perf_counter()
                rows = cur.fetchmany(page)
                t1 = perf_counter()
                clock["read"] += t1 - t0
                if not rows:
                    return
                out = []
                for row in rows:
                    rec = transform(row, known_sponsors=sponsors, mapping_version=version)
                    if isinstance(rec, Rejection):
                        continue
                    out.append(
                        {
                            "student_id": rec.student_id,
                            "legacy_id": rec.legacy_id,
                            "ipk": rec.ipk,
                            "deleted": rec.deleted,
                            "fingerprint": rec.fingerprint,
                            "person": rec.person,
                            "profile": {k: v for k, v in rec.profile.items() if k != "student_id"},
                            "contact": None if rec.contact is None else rec.contact.__dict__,
                            "sponsor_codes": list(rec.sponsor_codes),
                        }
                    )
                clock["transform"] += perf_counter() - t1
                clock["records"] += len(out)
                clock["rows"] += len(rows)
                yield out


def dlt_merge(spec: Spec) -> Result:
    """dlt ``merge`` (primary key student_id) of the engine's normalized records into
    PostgreSQL: ``pass`` initial (empty dataset) or rerun (the same records merged again)."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("DLT_DATA_DIR", str(Path(spec["dlt_dir"]) / "data"))
    import dlt
    from sqlalchemy.engine import make_url

    url = libpq_url(spec["url"])
    parsed = make_url(url)
    # dlt insists on a password; under trust auth the server never asks for it.
    dlt_url = (
        url
        if parsed.password
        else parsed.set(password="unused-under-trust-auth").render_as_string(hide_password=False)
    )
    clock = {"read": 0.0, "transform": 0.0, "records": 0, "rows": 0}
    pipeline = dlt.pipeline(
        pipeline_name="student_sync_bench",
        destination=dlt.destinations.postgres(credentials=dlt_url),
        dataset_name="dlt_bench",
        pipelines_dir=str(Path(spec["dlt_dir"]) / "pipelines"),
    )
    resource = dlt.resource(
        _dlt_records(url, spec.get("page", 10_000), clock),
        name="students",
        write_disposition="merge",
        primary_key="student_id",
    )
    t0 = perf_counter()
    pipeline.extract(resource)
    t1 = perf_counter()
    pipeline.normalize()
    t2 = perf_counter()
    pipeline.load()
    t3 = perf_counter()
    with psycopg.connect(url) as conn:
        loaded = conn.execute("SELECT count(*) FROM dlt_bench.students").fetchone()
    return {
        "seconds": t3 - t0,
        "rows": int(clock["rows"]),
        "phases": {
            "extract": round(clock["read"], 4),
            "transform": round(clock["transform"], 4),
            "dlt_extract": round(t1 - t0 - clock["read"] - clock["transform"], 4),
            "dlt_normalize": round(t2 - t1, 4),
            "dlt_load": round(t3 - t2, 4),
        },
        "records": int(clock["records"]),
        "loaded_rows": loaded[0] if loaded else None,
        "dlt_version": dlt.__version__,
    }


def cacheability(spec: Spec) -> Result:
    """Calls vs distinct arguments of each domain rule over ``limit`` rows of transform."""
    from benchmarks.profiling import cache_stats, count_domain_calls

    with psycopg.connect(libpq_url(spec["url"])) as conn:
        sponsors, version = _load_sponsors(conn)
        rows = _read_legacy(conn, spec.get("limit"))
    from student_sync.engine.transform import transform

    with count_domain_calls() as calls:
        t0 = perf_counter()
        for row in rows:
            transform(row, known_sponsors=sponsors, mapping_version=version)
        seconds = perf_counter() - t0
    return {
        "seconds": seconds,
        "rows": len(rows),
        "domain_calls": calls.summary(),
        "lru_caches": cache_stats(),
    }


SCENARIOS: dict[str, Callable[[Spec], Result]] = {
    "load": load,
    "edits": edits,
    "sync": sync,
    "profile": profile,
    "raw_copy": raw_copy,
    "write_floor": write_floor,
    "row_by_row": row_by_row,
    "dlt_merge": dlt_merge,
    "cacheability": cacheability,
}

"""Legacy date and timestamp text -> ``date`` / naive local ``datetime``.

Formats seen in the SQL Server export (domain.md): ``Jan 15 1990 12:00AM``,
``Sep  3 1990 12:00:00:000AM``, ``2009-04-07 00:00:00.000``, ``04/07/2009`` (m/d/Y) and
sometimes d/m/Y. Numeric day/month order policy: month first (the server's US default)
unless the first number cannot be a month (> 12), then day first; both > 12 is invalid.
Timestamps are naive wall-clock times in the school's zone (Asia/Phnom_Penh); an ISO value
with an explicit offset is converted into that zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from .common import Parsed, clean_text, warn

SCHOOL_TZ = ZoneInfo("Asia/Phnom_Penh")
MIN_YEAR, MAX_YEAR = 1900, 2099
# SQL Server stores an empty string cast to datetime as 1900-01-01: a null, not a date.
_SQLSERVER_EMPTY = date(1900, 1, 1)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_TIME = (
    r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.:](?P<f>\d{1,7}))?)?"
    r"\s*(?P<ampm>[AaPp][Mm])?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)
_ISO = re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME + r"$")
_NUMERIC = re.compile(r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4})" + _TIME + r"$")
_MON_FIRST = re.compile(
    r"^(?P<mon>[A-Za-z]{3,9})\.?[ -]+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?[ -]+(?P<y>\d{4})"
    + _TIME
    + r"$"
)
_DAY_FIRST = re.compile(
    r"^(?P<d>\d{1,2})(?:st|nd|rd|th)?[ -]+(?P<mon>[A-Za-z]{3,9})\.?,?[ -]+(?P<y>\d{4})"
    + _TIME
    + r"$"
)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")


class _BadDate(ValueError):
    """Text has a date shape but is not a real calendar date/time."""


def _clock(match: re.Match[str]) -> tuple[time, str | None]:
    if match.group("h") is None:
        return time(0, 0), None
    hour, minute = int(match.group("h")), int(match.group("mi"))
    second = int(match.group("s") or 0)
    micro = int((match.group("f") or "0")[:6].ljust(6, "0"))
    ampm = (match.group("ampm") or "").upper()
    if ampm:
        if not 1 <= hour <= 12:
            raise _BadDate("hour out of range for AM/PM")
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    try:
        return time(hour, minute, second, micro), match.group("tz")
    except ValueError as exc:
        raise _BadDate(str(exc)) from exc


def _parts(text: str) -> tuple[int, int, int, re.Match[str] | None]:
    """(year, month, day, match-with-time) or raise _BadDate / return match None if no shape."""
    if m := _ISO.match(text):
        return int(m["y"]), int(m["m"]), int(m["d"]), m
    if m := _NUMERIC.match(text):
        first, second = int(m["a"]), int(m["b"])
        if first > 12 and second > 12:
            raise _BadDate("neither number can be the month")
        month, day = (second, first) if first > 12 else (first, second)
        return int(m["y"]), month, day, m
    for pattern in (_MON_FIRST, _DAY_FIRST):
        if m := pattern.match(text):
            month = _MONTHS.get(m["mon"].lower())
            if month is None:
                raise _BadDate("unknown month name")
            return int(m["y"]), month, int(m["d"]), m
    if m := _COMPACT.match(text):
        return int(m["y"]), int(m["m"]), int(m["d"]), None
    raise _BadDate("unrecognized format")


@lru_cache(maxsize=16384)
def _parse(text: str) -> datetime:
    year, month, day, match = _parts(text)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _BadDate(f"year outside {MIN_YEAR}-{MAX_YEAR}")
    try:
        day_value = date(year, month, day)
    except ValueError as exc:
        raise _BadDate(str(exc)) from exc
    clock, tz = _clock(match) if match is not None else (time(0, 0), None)
    value = datetime.combine(day_value, clock)
    if tz:
        offset = datetime.strptime(tz.replace("Z", "+0000").replace(":", ""), "%z").tzinfo
        value = value.replace(tzinfo=offset).astimezone(SCHOOL_TZ).replace(tzinfo=None)
    return value


def parse_date(raw: object, field: str) -> Parsed[date | None]:
    """A calendar date; null -> None silently; impossible or unreadable -> None + INVALID_DATE.

    Already-typed ``date``/``datetime`` values (from a database driver) pass through.
    """
    if isinstance(raw, datetime):
        return Parsed(raw.date())
    if isinstance(raw, date):
        return Parsed(raw)
    text = clean_text(raw)
    if text is None:
        return Parsed(None)
    try:
        value = _parse(text).date()
    except (_BadDate, ValueError, OverflowError) as exc:
        return Parsed(None, (warn("INVALID_DATE", field, str(exc), text),))
    if value == _SQLSERVER_EMPTY:
        return Parsed(
            None, (warn("INVALID_DATE", field, "SQL Server empty-date placeholder", text),)
        )
    return Parsed(value)


def parse_timestamp(raw: object) -> datetime | None:
    """Naive school-local datetime for modified_date/created_date; None when null or unreadable.

    Aware datetimes are converted to the school zone; naive ones are taken as school time.
    """
    if isinstance(raw, datetime):
        if raw.tzinfo is not None:
            return raw.astimezone(SCHOOL_TZ).replace(tzinfo=None)
        return raw
    if isinstance(raw, date):
        return datetime.combine(raw, time(0, 0))
    text = clean_text(raw)
    if text is None:
        return None
    try:
        value = _parse(text)
    except (_BadDate, ValueError, OverflowError):
        return None
    return None if value.date() == _SQLSERVER_EMPTY else value

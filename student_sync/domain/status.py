"""Legacy transfer text -> boolean and legacy status text -> current_status."""

from __future__ import annotations

from .common import Parsed, clean_text, fold, warn

_NOT_TRANSFER = frozenset(
    {
        "no",
        "n",
        "0",
        "false",
        "f",
        "none",
        "nil",
        "non",
        "not",
        "no transfer",
        "not transfer",
        "not transferred",
        "nope",
        "x",
        "\u1791\u17c1",
    }
)


def transfer_flag(raw: object) -> bool:
    """True for any non-empty transfer text except No/N/0/False/None and null markers."""
    text = clean_text(raw)
    if text is None:
        return False
    key = fold(text)
    return bool(key) and key not in _NOT_TRANSFER


STATUSES = (
    "ACTIVE",
    "INACTIVE",
    "GRADUATED",
    "DROPPED",
    "SUSPENDED",
    "TRANSFERRED",
    "FROZEN",
    "UNKNOWN",
)
NULL_STATUS = "UNKNOWN"
"""Status of a row whose legacy status is null (see :func:`status_choice`)."""

_STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "ACTIVE": (
        "active",
        "a",
        "act",
        "enrolled",
        "enroll",
        "studying",
        "current",
        "present",
        "in progress",
        "registered",
        "continuing",
        "ongoing",
    ),
    "INACTIVE": (
        "inactive",
        "i",
        "in active",
        "not active",
        "on leave",
        "leave",
        "break",
        "deferred",
        "defer",
        "postponed",
        "paused",
        "stopped",
        "stop",
    ),
    "GRADUATED": (
        "graduated",
        "graduate",
        "grad",
        "g",
        "completed",
        "complete",
        "finished",
        "alumni",
        "alumnus",
        "alumna",
    ),
    "DROPPED": (
        "dropped",
        "drop",
        "dropout",
        "drop out",
        "dropped out",
        "d",
        "withdrawn",
        "withdraw",
        "withdrew",
        "quit",
        "left",
        "expelled",
        "dismissed",
        "terminated",
    ),
    "SUSPENDED": ("suspended", "suspend", "suspension", "s", "on hold", "hold", "blocked"),
    "TRANSFERRED": (
        "transferred",
        "transfer",
        "transfered",
        "transfer out",
        "transferred out",
        "t",
    ),
    "FROZEN": ("frozen", "freeze", "froze", "f"),
}
_STATUS_INDEX = {fold(w): choice for choice, words in _STATUS_WORDS.items() for w in words}
_STATUS_INDEX.update({choice.lower(): choice for choice in STATUSES})


def status_choice(raw: object, *, is_frozen: bool) -> Parsed[str]:
    """current_status from the legacy status text.

    ``is_frozen`` (a ``$$`` in the name) wins: FROZEN. A null status gives UNKNOWN with no
    warning: the legacy table leaves it empty for students of every kind, and calling them
    ACTIVE would be a guess that puts graduates on active lists (deleted rows are handled
    by the engine, not here). Unmapped text gives UNKNOWN with UNKNOWN_STATUS.
    """
    if is_frozen:
        return Parsed("FROZEN")
    text = clean_text(raw)
    if text is None:
        return Parsed(NULL_STATUS)
    found = _STATUS_INDEX.get(fold(text))
    if found is None:
        return Parsed("UNKNOWN", (warn("UNKNOWN_STATUS", "status", "unmapped", text),))
    return Parsed(found)

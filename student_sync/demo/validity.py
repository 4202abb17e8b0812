"""What a correct sync should make of a demo row: tests and the day of edits ask this.

Null markers are the domain's (:func:`student_sync.domain.is_null`): one definition for the
sync, the demo and the tests.
"""

from __future__ import annotations

import re

from student_sync.domain import is_null

LegacyRow = dict[str, str | None]

# Every name marker of domain.md: $$, <CODE>, {AF}, (ST), [remark].
NAME_MARKER_RE = re.compile(r"\$\$|<[^<>]*>|\{[^{}]*\}|\([^()]*\)|\[[^\[\]]*\]")


def bare_name(name: str | None) -> str:
    """The name with every marker removed and whitespace collapsed ('' when nothing is left)."""
    if name is None:
        return ""
    text = " ".join(NAME_MARKER_RE.sub(" ", name).split())
    return "" if is_null(text) else text


def is_valid_row(row: LegacyRow) -> bool:
    """Would a correct sync accept the row (ignoring school-email clashes)?"""
    student_id = (row.get("id") or "").strip()
    ipk = (row.get("ipk") or "").strip()
    return (
        student_id.isascii()
        and student_id.isdigit()
        and ipk.isascii()
        and ipk.isdigit()
        and bool(bare_name(row.get("name")))
    )


def school_email_key(value: str | None) -> str | None:
    """The school e-mail as the sync compares it (None when null)."""
    return None if value is None or is_null(value) else value.strip().lower()

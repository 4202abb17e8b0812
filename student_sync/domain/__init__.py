"""Legacy-data knowledge as pure functions: strings in, values out.

No database, no dagster, no engine imports. Problems in the data come back as
:class:`DomainWarning` values inside :class:`Parsed`; only :func:`parse_name` raises
(:class:`DomainRejection`) for a row that cannot become a person.

``MAPPING_VERSION`` goes into every row's fingerprint: bump ``RULES_VERSION`` whenever any
rule's output changes for some input (the Limon converter has its own ``LIMON_VERSION``),
so the next run updates exactly the rows whose output changed.
"""

from .common import (
    NULL_MARKERS,
    ZERO_DATE,
    DomainRejection,
    DomainWarning,
    Parsed,
    clean_text,
    is_null,
)
from .contact import normalize_email, relationship_choice, split_phones
from .dates import parse_date, parse_timestamp
from .gender import parse_gender
from .khmer import khmer_name
from .limon import LIMON_VERSION, khmer_problems, limon_to_unicode
from .names import ParsedName, parse_name
from .nationality import nationality_to_citizenship
from .places import birth_province
from .status import status_choice, transfer_flag

RULES_VERSION = "2"  # 2: Limon vs Latin kname decided by the English name, not case
MAPPING_VERSION = f"rules-{RULES_VERSION};limon-{LIMON_VERSION}"

__all__ = [
    "LIMON_VERSION",
    "MAPPING_VERSION",
    "NULL_MARKERS",
    "RULES_VERSION",
    "ZERO_DATE",
    "DomainRejection",
    "DomainWarning",
    "Parsed",
    "ParsedName",
    "birth_province",
    "clean_text",
    "is_null",
    "khmer_name",
    "khmer_problems",
    "limon_to_unicode",
    "nationality_to_citizenship",
    "normalize_email",
    "parse_date",
    "parse_gender",
    "parse_name",
    "parse_timestamp",
    "relationship_choice",
    "split_phones",
    "status_choice",
    "transfer_flag",
]

"""Checks shared by the annotation objects: UIDs, coordinates, text, times, enums and exact key sets.

Every failure is an :class:`AnnotationError` naming the offending field.
"""

from __future__ import annotations

import math
import numbers
import re
import uuid
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Mapping, Optional

_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_MAX_TEXT = 1000
_MAX_NAME = 64


class AnnotationError(ValueError):
    """An annotation value or serialised field is invalid.

    Parameters
    ----------
    field
        The offending field, as a path into the serialised form (``"rois[2].row1"``).
    problem
        What is wrong with it.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def within(self, prefix: str) -> "AnnotationError":
        """The same error with ``prefix`` prepended to the field path."""
        return AnnotationError(_join(prefix, self.field), self.problem)


def utc_now() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------------------------------
# Field validation shared by the constructors and from_dict


def _check_uid(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise AnnotationError(name, f"must be a UID string, got {type(value).__name__}")
    if not value or len(value) > 64 or not _UID_RE.match(value):
        raise AnnotationError(name, f"{value!r} is not a DICOM UID (digits and dots, at most 64)")
    return value


def _check_coordinate(name: str, value: Any) -> float:
    # numbers.Real admits numpy scalars; bool is an int subclass but never a coordinate
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise AnnotationError(name, f"must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise AnnotationError(name, f"must be finite, got {value!r}")
    return number


def _check_text(name: str, value: Any, limit: int, *, optional: bool) -> Optional[str]:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise AnnotationError(name, f"must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise AnnotationError(name, f"is longer than {limit} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise AnnotationError(name, "contains control characters")
    return value


def _check_time(name: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise AnnotationError(name, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise AnnotationError(name, "must be timezone-aware (UTC)")
    return value.astimezone(timezone.utc)


def _check_enum(name: str, enum: type[Enum], value: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)  # type: ignore[attr-defined]
        raise AnnotationError(name, f"{value!r} is not one of {allowed}") from None


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _check_id(value: Any) -> str:
    if not isinstance(value, str):
        raise AnnotationError("id", f"must be a UUID string, got {type(value).__name__}")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        raise AnnotationError("id", f"{value!r} is not a UUID") from None
    if canonical != value:
        raise AnnotationError("id", f"{value!r} is not in canonical lower-case UUID form")
    return value


def _format_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_time(name: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise AnnotationError(name, f"must be an ISO 8601 timestamp string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AnnotationError(name, f"{value!r} is not an ISO 8601 timestamp") from None
    return _check_time(name, parsed)


def _exact_keys(data: Any, keys: frozenset[str], where: str, *,
                optional: frozenset[str] = frozenset()) -> Mapping[str, Any]:
    """``data`` as a mapping with every key of ``keys``, any of ``optional`` and nothing else."""
    if not isinstance(data, Mapping):
        raise AnnotationError(where or "document", f"must be an object, got {type(data).__name__}")
    missing = sorted(keys - data.keys())
    if missing:
        raise AnnotationError(_join(where, missing[0]), "is missing")
    unknown = sorted(str(k) for k in data.keys() - keys - optional)
    if unknown:
        raise AnnotationError(_join(where, unknown[0]), "is not a known field")
    return data


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name

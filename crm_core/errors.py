"""One error hierarchy. Each error carries a kind (ErrorCode), a message code and data: no words.

`Conflict("deal.already_closed", ref="D-7", status=Term("status", "won"))`: the message code names a
sentence in the catalogs under cards/ (area "errors", cards/locales/*.po); the data fills it. cards/errors.py
renders it in the reader's language (the runner's error card, the REST API's body). Values that are words are
handed over as data the catalog can say in any language: a `Term` (a closed vocabulary: status, role,
priority …), a `FieldName`, a bilingual label from the configuration (anything with `.en` and `.zh_CN`), or a
list of those.

The runner in handlers/ catches DomainError, rolls back and turns it into an error card in the
actor's language. Anything else is an internal error: logged with an id, the user sees the id.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Protocol, TypeVar

T = TypeVar("T")


class ErrorCode(str, Enum):
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    INVALID = "invalid"
    MISSING_FIELDS = "missing_fields"
    CONFLICT = "conflict"
    STALE = "stale"
    CONFIG = "config"


class Bilingual(Protocol):
    """A label the configuration declares in both languages (a stage name, a field's name)."""

    en: str
    zh_CN: str


@dataclass(frozen=True)
class Term:
    """A word of a closed vocabulary that cards/ says in the reader's language (catalog area "terms",
    key "<vocab>.<key>"; an unknown key is shown as it is)."""

    vocab: str
    key: str


@dataclass(frozen=True)
class FieldName:
    """A field as an error names it: its key (what a person types) and, if declared, its labels; `record`, the
    kind of record it belongs to, where its built-in name depends on it (a deal's name is not a person's)."""

    key: str
    label: Bilingual | None = None
    record: str | None = None


class DomainError(Exception):
    """`key` is the message code (a msgid of area "errors"); `frame`, if set, is a sentence around it."""

    code: ClassVar[ErrorCode] = ErrorCode.INVALID
    frame: ClassVar[str | None] = None

    def __init__(self, key: str, /, **data: Any) -> None:
        self.key = key
        self.data = data
        self.also: tuple[DomainError, ...] = ()  # more problems of the same input, told with this one (Problems)
        super().__init__(f"{key} {data}")


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND

    def __init__(self, ref: str) -> None:
        super().__init__("not_found", ref=ref)


class Forbidden(DomainError):
    """`key` says what was refused ("forbidden.work_on" = "work on {ref}"); the frame says who to ask."""

    code = ErrorCode.FORBIDDEN
    frame = "forbidden"


class RoleForbidden(Forbidden):
    """Refused for the person's role, not for a record (approving workspaces, handing over records, routes):
    the message says who may, so the frame does not send them to "the record's owner"."""

    frame = "forbidden.role"


class InvalidValue(DomainError):
    """`key` is the hint (what to type instead); the frame names the field and what was typed."""

    code = ErrorCode.INVALID
    frame = "invalid"

    def __init__(self, field: str | FieldName, value: Any, key: str, /, **data: Any) -> None:
        name = field if isinstance(field, FieldName) else FieldName(field)
        super().__init__(key, field=name, value=value, **data)

    @property
    def field(self) -> str:
        return self.data["field"].key


@dataclass(frozen=True)
class FieldList:
    """The fields a record takes, said so that a reader of any language sees what to type (cards/errors.py)."""

    fields: tuple[FieldName, ...]


@dataclass(frozen=True)
class FillIn:
    """`field=…` for each field, as a person of the reader's language types it (cards/errors.py says it)."""

    fields: tuple[FieldName, ...]


class MissingFields(DomainError):
    code = ErrorCode.MISSING_FIELDS

    def __init__(self, ref: str, stage: Bilingual, fields: list[FieldName]) -> None:
        super().__init__("missing_fields", ref=ref, stage=stage, fields=list(fields), example=FillIn(tuple(fields)))

    @property
    def missing(self) -> list[str]:
        return [f.key for f in self.data["fields"]]


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class StaleAction(DomainError):
    """A click on something that has moved on (already decided, superseded, older version)."""

    code = ErrorCode.STALE


class ConfigError(Exception):
    """The configuration file is invalid; `problems` lists (key path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{path}: {msg}" for path, msg in problems))


class UnknownField(DomainError):
    """A `key=value` whose key is not a field of this record (crm_core/fields.py); nothing is stored."""

    code = ErrorCode.INVALID

    def __init__(self, field: str, suggestions: list[str], known: list[FieldName]) -> None:
        super().__init__("unknown_field.near" if suggestions else "unknown_field", field=field,
                         suggestions=list(suggestions), known=FieldList(tuple(known)))



class Problems:
    """The checks of one input (a lead typed or a CSV row), all run: every problem is told at once, so a person
    fixes the row once, not once per field. The first problem is raised, the others in its `also`:

        problems = Problems()
        email = problems.check(normalise_email, raw)   # None when it failed
        problems.raise_any()
    """

    def __init__(self) -> None:
        self.found: list[DomainError] = []

    def check(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T | None:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            self.found.append(exc)
            return None

    def add(self, exc: DomainError) -> None:
        self.found.append(exc)

    def raise_any(self) -> None:
        if self.found:
            first = self.found[0]
            first.also = tuple(self.found[1:])
            raise first

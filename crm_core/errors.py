"""One error hierarchy. Each error carries a code and a message in every supported locale.

The runner in handlers/ catches DomainError, rolls back and turns it into an error card in the
actor's language. Anything else is an internal error: logged with an id, the user sees the id.
"""
from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar


class ErrorCode(str, Enum):
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    INVALID = "invalid"
    MISSING_FIELDS = "missing_fields"
    CONFLICT = "conflict"
    STALE = "stale"
    CONFIG = "config"


class DomainError(Exception):
    code: ClassVar[ErrorCode] = ErrorCode.INVALID
    messages: ClassVar[dict[str, str]] = {"en": "{detail}", "zh_CN": "{detail}"}

    def __init__(self, **data: Any) -> None:
        self.data = data
        super().__init__(self.msg_format("en"))

    def msg_format(self, locale: str = "en") -> str:
        template = self.messages.get(locale) or self.messages["en"]
        try:
            return template.format(**self.data)
        except (KeyError, IndexError):
            return template


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND
    messages = {
        "en": "{ref} was not found. Check the reference (for example D-7) and try again.",
        "zh_CN": "找不到 {ref}。请检查编号（例如 D-7）后重试。",
    }


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN
    messages = {
        "en": "You are not allowed to {what}. Ask the record's owner or their manager.",
        "zh_CN": "你没有权限{what_zh}。请联系记录负责人或其经理。",
    }

    def __init__(self, what: str, what_zh: str | None = None) -> None:
        super().__init__(what=what, what_zh=what_zh or what)


class InvalidValue(DomainError):
    code = ErrorCode.INVALID
    messages = {
        "en": "{field} “{value}” is not valid: {hint}",
        "zh_CN": "{field}「{value}」无效：{hint_zh}",
    }

    def __init__(self, field: str, value: Any, hint: str, hint_zh: str | None = None) -> None:
        super().__init__(field=field, value=value, hint=hint, hint_zh=hint_zh or hint)


class MissingFields(DomainError):
    code = ErrorCode.MISSING_FIELDS
    messages = {
        "en": "{ref} cannot enter {stage} yet. Missing: {fields}. Fill them with: deal set {ref} {example}",
        "zh_CN": "{ref} 还不能进入「{stage_zh}」。缺少：{fields}。请先填写：商机 set {ref} {example}",
    }

    def __init__(self, ref: str, stage: str, stage_zh: str, fields: list[str]) -> None:
        example = " ".join(f"{f}=…" for f in fields)
        super().__init__(ref=ref, stage=stage, stage_zh=stage_zh, fields=", ".join(fields),
                         example=example, missing=list(fields))

    @property
    def missing(self) -> list[str]:
        return list(self.data["missing"])


class Conflict(DomainError):
    code = ErrorCode.CONFLICT
    messages = {"en": "{detail}", "zh_CN": "{detail_zh}"}

    def __init__(self, detail: str, detail_zh: str | None = None) -> None:
        super().__init__(detail=detail, detail_zh=detail_zh or detail)


class StaleAction(DomainError):
    """A click on something that has moved on (already decided, superseded, older version)."""

    code = ErrorCode.STALE
    messages = {"en": "{detail}", "zh_CN": "{detail_zh}"}

    def __init__(self, detail: str, detail_zh: str | None = None) -> None:
        super().__init__(detail=detail, detail_zh=detail_zh or detail)


class ConfigError(Exception):
    """The configuration file is invalid; `problems` lists (key path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{path}: {msg}" for path, msg in problems))


class UnknownField(DomainError):
    """A `key=value` whose key is not a field of this record (crm_core/fields.py); nothing is stored."""

    code = ErrorCode.INVALID
    messages = {
        "en": "Unknown field “{field}”.{hint} Known: {known}. Nothing was changed.",
        "zh_CN": "未知字段「{field}」。{hint_zh}可用字段：{known}。未做任何修改。",
    }

    def __init__(self, field: str, suggestions: list[str], known: list[str]) -> None:
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        hint_zh = f"你是不是想输入：{'、'.join(suggestions)}？" if suggestions else ""
        super().__init__(field=field, hint=hint, hint_zh=hint_zh, known=", ".join(known),
                         suggestions=list(suggestions))


class InvalidFieldValue(InvalidValue):
    """InvalidValue that names the field in Chinese too (crm_core/fields.py)."""

    messages = {
        "en": "{field} “{value}” is not valid: {hint}",
        "zh_CN": "{field_zh}「{value}」无效：{hint_zh}",
    }

    def __init__(self, field: str, value: Any, hint: str, hint_zh: str | None = None,
                 field_zh: str | None = None) -> None:
        DomainError.__init__(self, field=field, value=value, hint=hint, hint_zh=hint_zh or hint,
                             field_zh=field_zh or field)

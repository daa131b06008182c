"""cards/errors.py says a DomainError (a code and data from crm_core) in the reader's language."""
from __future__ import annotations

from cards.errors import error_text, error_texts
from crm_core.config import LocalName
from crm_core.errors import Conflict, FieldName, Forbidden, InvalidValue, MissingFields, NotFound, Term


def test_status_words_are_said_in_the_readers_language() -> None:
    exc = Conflict("deal.closed_no_change", ref="D-7", status=Term("status", "won"))
    assert error_texts(exc) == {"en": "D-7 is closed (won); reopen is not supported.",
                                "zh_CN": "D-7 已关闭（赢单），不能再修改。"}


def test_a_chinese_refusal_names_fields_by_their_labels_not_their_keys() -> None:
    budget = FieldName("budget", LocalName(en="Budget", zh_CN="预算"))
    exc = MissingFields("D-1", LocalName(en="Proposal", zh_CN="方案报价"), [FieldName("amount"), FieldName("close_date"), budget])
    assert "缺少：金额、预计成交日期、预算。请先填写：商机 设置 D-1 金额=… 预计成交日期=… 预算=…" in error_text(exc, "zh_CN")
    assert ("cannot enter Proposal yet. Missing: amount, close_date, budget. Fill them with: deal set D-1 amount=… "
            "close_date=… budget=…") in error_text(exc, "en")
    assert exc.missing == ["amount", "close_date", "budget"]


def test_a_field_error_names_the_field_and_what_was_typed() -> None:
    exc = InvalidValue("amount", "abc", "money.format")
    assert error_text(exc, "en").startswith("amount “abc” is not valid: use a number")
    assert error_text(exc, "zh_CN").startswith("金额「abc」无效：请填写数字")
    assert exc.field == "amount" and exc.key == "money.format"


def test_an_unknown_word_is_shown_as_it_is_and_platform_locales_find_their_catalog() -> None:
    assert error_text(Conflict("deal.already_closed", ref="D-1", status=Term("status", "paused")), "zh_CN") \
        == "D-1 已经是paused状态。"
    assert error_text(NotFound("D-9"), "zh-TW").startswith("找不到 D-9")
    assert error_text(NotFound("D-9"), "fr-FR").startswith("D-9 was not found")


def test_a_value_left_empty_is_said_missing_not_quoted() -> None:
    """'原因「」无效' quoted nothing at the reader; an empty value is named as missing, in both languages."""
    exc = InvalidValue("reason", "", "deal.lost_reason", ref="D-1")
    assert error_text(exc, "zh_CN").startswith("缺少原因：") and "「」" not in error_text(exc, "zh_CN")
    assert error_text(exc, "en").startswith("reason is missing: ")
    typed = InvalidValue("amount", "abc", "payment.positive")
    assert "「abc」" in error_text(typed, "zh_CN")


def test_a_refusal_for_the_role_does_not_send_the_person_to_a_records_owner() -> None:
    from crm_core.errors import RoleForbidden

    exc = RoleForbidden("forbidden.workspaces")
    assert error_text(exc, "zh_CN") == "你没有权限决定哪些工作区可以使用本 CRM（仅管理员）。"
    assert "owner" not in error_text(exc, "en") and error_text(exc, "en").startswith("You are not allowed to ")
    assert "请联系记录负责人" in error_text(Forbidden("forbidden.work_on", ref="D-7"), "zh_CN")  # records still do

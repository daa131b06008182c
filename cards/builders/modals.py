"""The Slack modals' text (titles, labels, hints, field errors) in every language: {key: {locale: text}}.

The view builders (cards/render/slack_modals.py) and the submission checks (bot/slack/modals.py) read it
through `t`; tests/cards/test_modal_catalog.py checks that every key has every locale.
"""
from __future__ import annotations

from cards.i18n import translator

CATALOG = {
    "title.log": {"en": "Log activity", "zh_CN": "记录跟进"},
    "title.advance": {"en": "Advance stage", "zh_CN": "推进阶段"},
    "title.quote": {"en": "New quote", "zh_CN": "新建报价"},
    "title.reject": {"en": "Reject", "zh_CN": "驳回审批"},
    "title.log_message": {"en": "Log to CRM", "zh_CN": "记录到 CRM"},
    "submit": {"en": "Save", "zh_CN": "保存"},
    "close": {"en": "Cancel", "zh_CN": "取消"},
    "kind": {"en": "Kind", "zh_CN": "类型"},
    "text": {"en": "What happened", "zh_CN": "内容"},
    "deal": {"en": "Deal", "zh_CN": "商机"},
    "product": {"en": "Product", "zh_CN": "产品"},
    "quantity": {"en": "Quantity", "zh_CN": "数量"},
    "discount": {"en": "Discount %", "zh_CN": "折扣 %"},
    "reason": {"en": "Reason", "zh_CN": "原因"},
    "log.on": {"en": "Log on *{ref}*", "zh_CN": "记录到 *{ref}*"},
    "advance.intro": {"en": "Move *{ref}* to *{stage}*. These fields are needed first:",
                      "zh_CN": "将 *{ref}* 推进到「{stage}」，需先填写以下字段："},
    "quote.intro": {"en": "New quote on *{ref}*. A discount above the approval threshold asks for approval.",
                    "zh_CN": "为 *{ref}* 新建报价。折扣超过审批门槛时会发起审批。"},
    "reject.intro": {"en": "Reject *{ref}*. The requester sees your reason.", "zh_CN": "驳回 *{ref}*，申请人会看到原因。"},
    "log_message.from": {"en": "From a message in {channel}", "zh_CN": "来自 {channel} 的消息"},
    "no_deals.title": {"en": "No open deals", "zh_CN": "没有进行中的商机"},
    "no_deals.text": {"en": "You have no open deal to log this on. Create one with /crm deal new <account> amount=<n>.",
                      "zh_CN": "你还没有可记录的进行中商机。可输入 /crm 商机 新建 <客户> amount=<金额>。"},
    "e.quantity": {"en": "Type a whole number of at least 1, e.g. 10.", "zh_CN": "请填写不小于 1 的整数，例如 10。"},
    "e.discount": {"en": "Type a percentage from 0 to 100, e.g. 15.", "zh_CN": "请填写 0 到 100 之间的百分比，例如 15。"},
    "e.product": {"en": "Choose a product from the list.", "zh_CN": "请从列表中选择产品。"},
    "e.empty": {"en": "This cannot be empty.", "zh_CN": "不能为空。"},
    "e.deal": {"en": "Choose a deal from the list.", "zh_CN": "请从列表中选择商机。"},
    "f.amount": {"en": "Amount", "zh_CN": "金额"},
    "f.close_date": {"en": "Close date", "zh_CN": "预计成交日期"},
    "f.contact": {"en": "Contact", "zh_CN": "联系人"},
    "f.name": {"en": "Deal name", "zh_CN": "商机名称"},
    "f.account": {"en": "Account", "zh_CN": "客户"},
    "hint.amount": {"en": "e.g. 250000, 250,000 or 25万", "zh_CN": "例如 250000、250,000 或 25万"},
}
t = translator(CATALOG)


def field_label(locale: str, name: str) -> str:
    """A deal field's label in a form ("close_date" -> "Close date"); an unknown field shows its name."""
    label = t(locale, f"f.{name}")
    return label if label != f"f.{name}" else name

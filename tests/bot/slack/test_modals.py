"""Buttons that open modals, and what a submission does: log activity, advance with the missing fields,
new quote, reject with reason, and the "Log to CRM" message shortcut."""
from __future__ import annotations

import json

import pytest

from sqlalchemy import select

from crm_core.models import Activity, Contact, Deal, OutboxMessage
from tests.bot.slack.harness import blocks_text, buttons, date, number, select as chosen, text


def _deal(slack, user="U01EMMA", extra=""):
    slack.command(user, f"deal new Acme amount=250000 {extra}".strip())
    return slack.last_response()


def test_log_activity_button_opens_a_modal_and_the_submission_logs_it(slack, fake_slack, slack_wiring):
    card = _deal(slack)
    assert ("Log activity", "deal.log", "D-1") in buttons(card)
    slack.click("U01EMMA", "deal.log", "D-1")
    view = slack.opened_view()
    assert view["callback_id"] == "crm.log" and view["title"]["text"] == "Log activity"
    assert json.loads(view["private_metadata"])["ref"] == "D-1"
    r = slack.submit("U01EMMA", view, {"kind": chosen("meeting"), "text": text('Met the CFO & "legal" 👍')})
    assert r.status_code == 200 and r.text == ""  # the modal closes
    with slack_wiring.session_factory() as s:
        assert s.scalars(select(Activity.text)).all() == ['Met the CFO & "legal" 👍']
    assert "Logged a meeting on D-1" in blocks_text(slack.last_response())


def test_an_empty_log_comes_back_as_an_error_on_the_text_field(slack):
    _deal(slack)
    slack.click("U01EMMA", "deal.log", "D-1")
    r = slack.submit("U01EMMA", slack.opened_view(), {"kind": chosen("call"), "text": text("   ")})
    assert r.json() == {"response_action": "errors", "errors": {"text": "This cannot be empty."}}


def test_advance_with_missing_fields_asks_for_them_in_a_modal(slack, slack_wiring):
    _deal(slack)
    slack.command("U01EMMA", "deal set D-1 contact=Ann")
    slack.command("U01EMMA", "advance D-1")  # into discovery; proposal needs amount, close_date, budget
    slack.click("U01EMMA", "deal.advance", "D-1")
    view = slack.opened_view()
    assert view["callback_id"] == "crm.advance"
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == ["field:close_date", "field:budget"]  # amount is already set
    assert "*Proposal*" in blocks_text({"blocks": view["blocks"]})
    with slack_wiring.session_factory() as s:
        assert s.get(Deal, 1).stage == "discovery"  # opening the form changed nothing

    r = slack.submit("U01EMMA", view, {"field:close_date": date("2027-03-31"), "field:budget": text("yes")})
    assert r.status_code == 200 and r.text == ""
    with slack_wiring.session_factory() as s:
        deal = s.get(Deal, 1)
        assert (deal.stage, deal.close_date.isoformat(), deal.fields["budget"]) == ("proposal", "2027-03-31", "yes")
    assert "Moved from Discovery to Proposal" in blocks_text(slack.last_response())


def test_the_advance_modal_labels_each_field_in_the_readers_language(slack):  # type: ignore[no-untyped-def]
    """A declared field (budget) by its own label from the configuration, as a built-in one by the catalog's:
    a Chinese reader read 'budget' in the form."""
    for user, create, labels in (("U01EMMA", "deal new Acme amount=5000", ["Close date", "Budget"]),
                                 ("U01LI", "商机 新建 某某科技 金额=5000", ["预计成交日期", "预算"])):
        slack.command(user, create)
        ref = "D-1" if user == "U01EMMA" else "D-2"
        slack.command(user, f"deal set {ref} contact=Ann")
        slack.command(user, f"advance {ref}")
        slack.click(user, "deal.advance", ref)
        view = slack.opened_view()
        shown = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
        assert shown == labels, shown


def test_a_bad_amount_in_the_advance_modal_is_an_error_on_that_field(slack, slack_wiring):
    slack.command("U01EMMA", "deal new Acme amount=0")
    slack.command("U01EMMA", "deal set D-1 contact=Ann")
    slack.command("U01EMMA", "advance D-1")
    slack.click("U01EMMA", "deal.advance", "D-1")
    view = slack.opened_view()
    r = slack.submit("U01EMMA", view, {"field:amount": text("lots"), "field:close_date": date("2027-03-31"),
                                        "field:budget": text("yes")})
    body = r.json()
    assert body["response_action"] == "errors" and list(body["errors"]) == ["field:amount"]
    assert "“lots” is not valid" in body["errors"]["field:amount"]
    with slack_wiring.session_factory() as s:
        assert s.get(Deal, 1).stage == "discovery"


def test_advance_with_nothing_missing_moves_at_once(slack, fake_slack, slack_wiring):
    _deal(slack)
    slack.command("U01EMMA", "deal set D-1 contact=Ann")
    slack.click("U01EMMA", "deal.advance", "D-1")
    assert fake_slack.calls_to("views.open") == []
    assert "Moved from Qualify to Discovery" in blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        assert s.get(Deal, 1).stage == "discovery"


def test_a_submitted_modal_applies_once(slack, slack_wiring):
    _deal(slack)
    slack.click("U01EMMA", "deal.log", "D-1")
    view = slack.opened_view()
    for _ in range(2):
        slack.submit("U01EMMA", view, {"kind": chosen("call"), "text": text("once")}, view_id="V777")
    with slack_wiring.session_factory() as s:
        assert len(s.scalars(select(Activity)).all()) == 1


def test_new_quote_modal_checks_each_field_and_creates_the_quote(slack, slack_wiring):
    _deal(slack)
    slack.click("U01EMMA", "deal.quote", "D-1")
    view = slack.opened_view()
    assert view["callback_id"] == "crm.quote"
    products = [o["value"] for b in view["blocks"] if b.get("block_id") == "product"
                for o in b["element"]["options"]]
    assert products == ["PRO", "STD", "ENT", "SVC"]
    bad = slack.submit("U01EMMA", view, {"product": chosen("PRO"), "quantity": number("0"), "discount": number("120")})
    assert set(bad.json()["errors"]) == {"quantity", "discount"}
    ok = slack.submit("U01EMMA", view, {"product": chosen("PRO"), "quantity": number("10"), "discount": number("25")})
    assert ok.status_code == 200 and ok.text == ""
    text_ = blocks_text(slack.last_response())
    assert "Q-1" in text_
    with slack_wiring.session_factory() as s:
        kinds = [r.kind for r in s.scalars(select(OutboxMessage))]
    assert "approval.request" in kinds


def test_the_log_to_crm_shortcut_logs_a_channel_message_on_a_chosen_deal(slack, slack_wiring):
    _deal(slack)
    slack.command("U01EMMA", "deal new Globex amount=1000")
    slack.log_message_shortcut("U01EMMA", "Customer says the invoice address is wrong & needs <fix>")
    view = slack.opened_view()
    assert view["callback_id"] == "crm.log_message"
    picker = next(b for b in view["blocks"] if b.get("block_id") == "deal")["element"]
    assert picker["type"] == "external_select"  # a type-ahead backed by the search (tests/bot/slack/test_search.py)
    deal_options = [o["value"] for o in slack.suggest("U01EMMA", view, "deal", "").json()["options"]]
    assert sorted(deal_options) == ["D-1", "D-2"]
    initial = next(b for b in view["blocks"] if b.get("block_id") == "text")["element"]["initial_value"]
    assert initial == "Customer says the invoice address is wrong & needs <fix>"
    slack.submit("U01EMMA", view, {"deal": chosen("D-2"), "kind": chosen("note"), "text": text(initial)})
    with slack_wiring.session_factory() as s:
        activity = s.scalars(select(Activity)).one()
        assert (activity.deal_id, activity.kind, activity.text) == (2, "note", initial)


def test_the_shortcut_without_open_deals_says_so(slack):
    slack.log_message_shortcut("U01TOM", "hello")
    view = slack.opened_view()
    assert "No open deals" in blocks_text({"blocks": view["blocks"]}) and "submit" not in view


def test_a_crash_while_submitting_replaces_the_modal_with_a_reference_id(slack, monkeypatch, caplog):
    from bot.slack import modals

    _deal(slack)
    slack.click("U01EMMA", "deal.log", "D-1")
    view = slack.opened_view()

    def boom(*_a, **_k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(modals, "log_invocation", boom)
    r = slack.submit("U01EMMA", view, {"kind": chosen("call"), "text": text("hello")})
    body = r.json()
    assert body["response_action"] == "update" and body["view"]["type"] == "modal"
    shown = blocks_text({"blocks": body["view"]["blocks"]})
    ref = shown.split("：")[-1].split("。")[0] if "参考编号" in shown else shown.split("Reference: ")[1].split(".")[0]
    assert any(ref in rec.getMessage() for rec in caplog.records)


def test_the_quote_document_lands_in_the_requesters_dm_as_a_file(slack, fake_slack):
    _deal(slack)
    slack.command("U01EMMA", "quote D-1 PRO x10 discount=5")
    assert "Quote document: " in blocks_text(slack.last_response())
    by_title = {meta["title"]: file_id for file_id, meta in fake_slack.files.items()}
    assert sorted(by_title) == ["quote-Q-1-D-1-v1.html", "quote-Q-1-D-1-v1.pdf"]  # the HTML and the print PDF
    assert {meta["channel"] for meta in fake_slack.files.values()} == {"D01EMMA"}
    html = fake_slack.uploads[by_title["quote-Q-1-D-1-v1.html"]]
    assert "Acme" in html and "<html" in html.lower()
    assert fake_slack.upload_bytes[by_title["quote-Q-1-D-1-v1.pdf"]].startswith(b"%PDF-")


def test_a_contact_typed_like_one_of_the_accounts_people_is_an_error_in_the_advance_modal(slack, slack_wiring):
    """A form has no buttons to ask with: `Malory` beside Mallory Brown made a second contact from the advance
    modal. The form now says whom it may mean and how to add a new one, and changes nothing."""
    slack.command("U01EMMA", "deal new Acme amount=5000")
    slack.command("U01EMMA", 'deal new Acme amount=10 name="Phase 2"')
    slack.command("U01EMMA", 'deal set D-2 contact="Mallory Brown"')
    slack.click("U01EMMA", "deal.advance", "D-1")  # into discovery, which needs a contact
    view = slack.opened_view()
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["field:contact", "new_contact"]
    body = slack.submit("U01EMMA", view, {"field:contact": text("Malory"), "new_contact": unticked()}).json()
    assert body["response_action"] == "errors", body
    assert "did you mean Mallory Brown?" in body["errors"]["field:contact"], body
    assert "tick “New contact” below" in body["errors"]["field:contact"]
    with slack_wiring.session_factory() as s:
        assert (s.get(Deal, 1).stage, s.get(Deal, 1).contact_id) == ("qualify", None)
        assert list(s.scalars(select(Contact.name))) == ["Mallory Brown"]
    r = slack.submit("U01EMMA", view, {"field:contact": text("mallory brown")})  # the name, in any case
    assert r.status_code == 200 and r.text == ""
    with slack_wiring.session_factory() as s:
        assert (s.get(Deal, 1).stage, s.get(Deal, 1).contact.name) == ("discovery", "Mallory Brown")


def ticked(option_text: str) -> dict:
    """A checkboxes element's state as Slack sends it in a view_submission, one option ticked."""
    return {"type": "checkboxes", "selected_options": [
        {"text": {"type": "plain_text", "text": option_text, "emoji": True}, "value": "yes"}]}


def unticked() -> dict:
    return {"type": "checkboxes", "selected_options": []}


@pytest.mark.parametrize("user, typed, option", [
    ("U01EMMA", "Malory", "This is a new person at the account: add them as typed"),
    ("U01LI", "张伟强", "这是该客户的新联系人：按所填姓名添加"),
])
def test_the_advance_form_adds_a_new_contact_named_like_another_when_ticked(slack, slack_wiring, user, typed,
                                                                            option):
    """The form's answer to "did you mean …?": tick "New contact" and the person is added as typed and the deal
    moves on, in one submission — where the chat has its "New contact" button."""
    other = "Mallory Brown" if user == "U01EMMA" else "张伟"
    slack.command(user, "deal new Acme amount=5000")
    slack.command(user, 'deal new Acme amount=10 name="Phase 2"')
    slack.command(user, f'deal set D-2 contact="{other}"')
    slack.click(user, "deal.advance", "D-1")
    view = slack.opened_view()
    box = next(b for b in view["blocks"] if b.get("block_id") == "new_contact")
    assert box["optional"] is True and box["element"]["type"] == "checkboxes"
    assert [o["text"]["text"] for o in box["element"]["options"]] == [option]
    r = slack.submit(user, view, {"field:contact": text(typed), "new_contact": ticked(option)})
    assert r.status_code == 200 and r.text == "", r.text
    with slack_wiring.session_factory() as s:
        deal = s.get(Deal, 1)
        assert deal.stage == "discovery" and deal.contact is not None and deal.contact.name == typed
        assert sorted(s.scalars(select(Contact.name))) == sorted([other, typed])


def test_a_refused_value_in_the_advance_form_is_shown_beside_its_own_field(slack, slack_wiring):
    """Proposal asks for two fields; a budget pasted with a control character in it is refused by the rules (not
    by the form's own format check), and the error stands under "Budget", not under the first field."""
    slack.command("U01EMMA", "deal new Acme amount=5000")
    slack.command("U01EMMA", 'deal set D-1 contact="Ann Lee"')
    slack.command("U01EMMA", "advance D-1")  # to discovery
    slack.click("U01EMMA", "deal.advance", "D-1")  # proposal needs a close date and a budget
    view = slack.opened_view()
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["field:close_date", "field:budget"]
    body = slack.submit("U01EMMA", view, {"field:close_date": date("2099-06-30"),
                                          "field:budget": text("approved\u0007")}).json()
    assert body["response_action"] == "errors", body
    assert list(body["errors"]) == ["field:budget"], body
    with slack_wiring.session_factory() as s:
        assert (s.get(Deal, 1).stage, s.get(Deal, 1).close_date) == ("discovery", None)

"""A signature pasted after `/crm lead paste` (Slack keeps the line breaks of a slash command's text, and
escapes &, < and >): the card shows what was read; its Create button, clicked through Bolt's signature check,
makes the lead once — a retried click does not make a second."""
from __future__ import annotations

from sqlalchemy import select

from crm_core.models import Lead
from tests.bot.slack.harness import blocks_text, buttons

# as typed; the harness escapes & < > as Slack does. Slack's own links (<mailto:…|…>) arrive as they are.
SIG = ("Best regards,\nJohn Smith\nSales Director, APAC\nAcme & Sons Inc.\nM: +1 415 555 0100\n"
       "<mailto:john.smith@acme.com|john.smith@acme.com>\n<http://www.acme.com|www.acme.com>")


def test_paste_then_create_through_slack(slack, slack_wiring):  # type: ignore[no-untyped-def]
    r = slack.command("U01EMMA", "lead paste " + SIG)
    assert r.status_code == 200
    shown = blocks_text(slack.last_response())
    assert "From the paste" in shown and "John Smith" in shown and "Sales Director" in shown
    assert "Acme &amp; Sons Inc." in shown and "john.smith@acme.com" in shown  # mrkdwn-escaped once, as Slack wants
    [(create_label, create_id, value), (edit_label, _, _)] = buttons(slack.last_response())
    assert (create_label, edit_label) == ("Create", "Edit")
    slack.click("U01EMMA", create_id, value)
    assert "Lead L-1 · John Smith" in blocks_text(slack.last_response())
    slack.click("U01EMMA", create_id, value)  # clicked again: the same person, updated, not a second lead
    with slack_wiring.session_factory() as s:
        assert [(lead.name, lead.company, lead.email) for lead in s.scalars(select(Lead))] == [
            ("John Smith", "Acme & Sons Inc.", "john.smith@acme.com")]

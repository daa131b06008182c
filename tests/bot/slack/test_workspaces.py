"""Only invited Slack workspaces get in; users are keyed by (workspace, user id).

Single-workspace mode serves the bot token's own team (learnt from auth.test through SLACK_API_URL, or
SLACK_TEAM_ID); OAuth mode installs and serves only SLACK_ALLOWED_TEAMS. A request from any other
workspace is refused before any listener and changes nothing — not even a known user's stored team.
Requests are the recorded payloads in tests/bot/payloads/slack/.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import func, select
from sqlalchemy import text as sql

from bot.app import create_app
from bot.wiring import Wiring, build
from handlers.invocation import Invocation
from crm_core.models import ChatIdentity, ChatWorkspace, Deal, Lead, OutboxMessage, User
from tests.bot.slack import payloads
from tests.bot.slack.fake_slack import INSTALLED_TOKEN_2, TEAM, TEAM_2, TOKEN
from tests.bot.slack.harness import SECRET, InlineExecutor, SlackPlayer, blocks_text
from tests.reliability.snapshot import changes, snapshot

FOREIGN = "T0BAD"


def _identities(w: Wiring, slack_id: str) -> list[tuple[str | None, str]]:
    """(team, user key) of every Slack identity with this id."""
    with w.session_factory() as s:
        return sorted(s.execute(select(ChatIdentity.team, User.key).join(User).where(
            ChatIdentity.platform == "slack", ChatIdentity.external_id == slack_id)).all(), key=repr)


def _user_count(w: Wiring) -> int:
    with w.session_factory() as s:
        return int(s.scalar(select(func.count(User.id))) or 0)


def _refusal_text(r: Any) -> str:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["response_type"] == "ephemeral"
    return str(body["text"])


# --- single-workspace mode -----------------------------------------------------------------------------

class TestSingleWorkspace:
    def test_the_own_workspace_is_learnt_from_auth_test_and_served(self, slack, slack_wiring, fake_slack):
        r = slack.command("U01EMMA", "my")
        assert r.status_code == 200 and "My open deals" in r.text  # answered in the HTTP response itself
        assert slack.responses(), "the command ran and answered"
        assert fake_slack.calls_to("auth.test"), "the own team came from auth.test (through SLACK_API_URL)"
        assert slack_wiring.slack.workspaces.allowed == (TEAM,)
        # Emma is configured with slack = "U01EMMA" (no team): bound to the workspace she was seen in.
        assert _identities(slack_wiring, "U01EMMA") == [(TEAM, "emma")]

    def test_a_foreign_team_request_with_a_known_user_id_is_refused_and_changes_nothing(
            self, slack, slack_wiring, fake_slack):
        slack.command("U01EMMA", "my")  # Emma of T0001, known and bound
        before, calls = snapshot(slack_wiring.engine), len(fake_slack.calls)

        r = payloads.post_form(slack, payloads.form("command_foreign_team_known_user", slack, "foreign"))

        text = _refusal_text(r)
        assert "not connected to this CRM" in text and "未接入本 CRM" in text and FOREIGN in text
        assert changes(before, snapshot(slack_wiring.engine)) == {}  # no deal "Evil", no identity touched
        assert len(fake_slack.calls) == calls  # no handler ran: no reply, no users.info
        assert _identities(slack_wiring, "U01EMMA") == [(TEAM, "emma")]  # her team was not overwritten

    def test_a_foreign_request_is_refused_without_touching_the_database(self, slack, assert_query_count):
        slack.command("U01EMMA", "my")  # the own workspace is learnt (auth.test) on a first request
        with assert_query_count(0):
            _refusal_text(payloads.post_form(slack, payloads.form("command_foreign_team_known_user", slack, "q")))

    def test_a_foreign_request_arriving_first_neither_runs_as_nor_binds_the_configured_user(
            self, slack, slack_wiring):
        before = snapshot(slack_wiring.engine)
        _refusal_text(payloads.post_form(slack, payloads.form("command_foreign_team_known_user", slack, "f1")))
        assert changes(before, snapshot(slack_wiring.engine)) == {}
        assert _identities(slack_wiring, "U01EMMA") == [(None, "emma")]
        slack.command("U01EMMA", "deal new Acme amount=5")  # then the real Emma, from her own workspace
        assert _identities(slack_wiring, "U01EMMA") == [(TEAM, "emma")]
        with slack_wiring.session_factory() as s:
            deal = s.scalars(select(Deal)).one()
            assert deal.owner_id == s.scalar(select(User.id).where(User.key == "emma"))

    def test_a_stranger_of_a_foreign_team_is_never_created(self, slack, slack_wiring, fake_slack):
        users = _user_count(slack_wiring)
        _refusal_text(payloads.post_form(slack, payloads.form("command_foreign_team_stranger", slack, "s1")))
        assert _user_count(slack_wiring) == users
        assert fake_slack.calls_to("users.info") == []

    def test_a_foreign_click_is_told_at_its_response_url_and_changes_nothing(self, slack, slack_wiring, fake_slack):
        slack.command("U01EMMA", "deal new Acme amount=250000")
        slack.command("U01EMMA", "quote D-1 PRO x10 discount=15")  # A-1 waits for Sam
        before = snapshot(slack_wiring.engine)

        r = slack.post(payloads.interaction("block_actions_foreign_team", slack, "fclick"), payloads.FORM)

        assert r.status_code == 200 and r.text == ""
        told = slack.last_response()
        assert "not connected to this CRM" in told["text"] and told["response_type"] == "ephemeral"
        assert changes(before, snapshot(slack_wiring.engine)) == {}  # A-1 still waits; Sam's team untouched

    @pytest.mark.parametrize("retry_num", [None, 1])
    def test_a_foreign_event_gets_a_plain_200_and_nothing_happens(self, slack, slack_wiring, fake_slack, retry_num):
        before, calls = snapshot(slack_wiring.engine), len(fake_slack.calls)
        r = payloads.post_json(slack, payloads.event("event_app_home_opened_foreign_team"), retry_num=retry_num)
        assert r.status_code == 200 and r.text == ""
        assert changes(before, snapshot(slack_wiring.engine)) == {}  # not even the event id was claimed
        assert [c.method for c in fake_slack.calls[calls:]] in ([], ["auth.test"])  # no views.publish


@pytest.fixture
def slack_with(settings, fake_slack, engine, clock, config) -> Iterator[Callable[..., tuple[SlackPlayer, Wiring]]]:
    """A Slack app built with extra settings (SLACK_TEAM_ID, SLACK_ALLOWED_TEAMS, OAuth)."""
    clients: list[TestClient] = []

    def make(**update: Any) -> tuple[SlackPlayer, Wiring]:
        base = {"slack_signing_secret": SECRET, "slack_api_url": fake_slack.api_url}
        if "slack_client_id" not in update:
            base["slack_bot_token"] = TOKEN
        w = build(settings.model_copy(update={**base, **update}), clock=clock, config=config, engine=engine)
        w.prepare_database()
        w.slack.listener_executor = InlineExecutor()
        tc = TestClient(create_app(wiring=w, prepare_database=False), base_url="https://testserver")
        tc.__enter__()
        clients.append(tc)
        return SlackPlayer(tc, fake_slack), w

    yield make
    for tc in clients:
        tc.__exit__(None, None, None)


class TestConfiguredTeamId:
    def test_slack_team_id_wins_over_the_tokens_workspace(self, slack_with):
        slack, w = slack_with(slack_team_id="T0009")
        users = _user_count(w)
        text = _refusal_text(slack.command("U01EMMA", "deal new Acme amount=1"))  # from T0001
        assert "T0001" in text and slack.responses() == []
        assert _user_count(w) == users and _identities(w, "U01EMMA") == [(None, "emma")]

    def test_on_enterprise_grid_the_enterprise_id_admits_its_workspaces(self, slack_with, fake_slack):
        slack, w = slack_with(slack_team_id="E0001")
        fake_slack.add_user("W01GRID", "Grace Grid")
        r = payloads.post_form(slack, payloads.form("command_grid_other_workspace", slack, "grid"))
        assert r.status_code == 200 and "My leads" in r.text
        assert slack.responses(), "a workspace of the allowed enterprise is served"
        assert _identities(w, "W01GRID") == [("T0005", "slack-w01grid")]  # keyed by its own team


# --- OAuth mode: SLACK_ALLOWED_TEAMS -------------------------------------------------------------------

def _install(client: TestClient, code: str) -> Any:
    page = client.get("/slack/install")
    assert page.status_code == 200
    state = re.search(r"state=([^&\"']+)", page.text).group(1)  # type: ignore[union-attr]
    return client.get(f"/slack/oauth_redirect?code={code}&state={state}")


def _bot_teams(w: Wiring) -> list[str]:
    with w.engine.connect() as conn:
        return sorted(conn.execute(sql("SELECT team_id FROM slack_bots")).scalars())


OAUTH = {"slack_client_id": "111.222", "slack_client_secret": "client-secret"}


class TestAllowList:
    def test_a_strangers_install_is_not_installed_and_waits_for_an_admin(self, slack_with, fake_slack):
        slack, w = slack_with(**OAUTH, slack_allowed_teams=TEAM)
        done = _install(slack.client, "good-code-2")  # workspace T0002, not invited
        assert done.status_code == 403
        assert "T0002" in done.text and "waiting for approval" in done.text and "安装等待审批" in done.text
        assert _bot_teams(w) == []  # its token was not kept
        assert _install(slack.client, "good-code").status_code == 200  # the invited one installs
        assert _bot_teams(w) == [TEAM]

    def test_a_refused_workspace_gets_the_refusal_page_on_every_install(self, slack_with, console_bot):
        slack, w = slack_with(**OAUTH, slack_allowed_teams=TEAM)
        _install(slack.client, "good-code-2")
        assert "T0002" in console_bot("admin").exec("workspace refuse T0002")
        again = _install(slack.client, "good-code-2")
        assert again.status_code == 403 and "安装被拒绝" in again.text and "SLACK_ALLOWED_TEAMS" in again.text
        assert _bot_teams(w) == []

    def test_an_uninvited_workspace_gets_no_users_no_leads_and_reads_nothing(self, slack_with, fake_slack, clock):
        slack, w = slack_with(**OAUTH, slack_allowed_teams=TEAM)
        assert _install(slack.client, "good-code").status_code == 200
        # T0002 was installed before the allow-list existed (the store of an older version kept it).
        plain = SQLAlchemyInstallationStore(client_id=OAUTH["slack_client_id"], engine=w.engine)
        plain.save(Installation(app_id="A0001", team_id=TEAM_2, bot_token=INSTALLED_TOKEN_2, bot_id="B0BOT",
                                bot_user_id="U0BOT", user_id="U02BOB", installed_at=clock.now().timestamp()))
        fake_slack.tokens.add(INSTALLED_TOKEN_2)
        fake_slack.token_teams[INSTALLED_TOKEN_2] = TEAM_2
        fake_slack.add_user("U02BOB", "Bob Beta", team=TEAM_2)
        slack.command("U01EMMA", "lead add Ann company=Acme", team=TEAM)  # somebody real, for comparison
        users = _user_count(w)

        for text_ in ("lead list", "my", "lead L-1"):
            assert "not connected" in _refusal_text(slack.command("U02BOB", text_, team=TEAM_2))
        assert _user_count(w) == users and _identities(w, "U02BOB") == []
        # Leads from the web form go to the company's reps only: nobody of T0002 exists to receive one.
        for n in range(6):
            r = slack.client.post("/api/leads", json={"name": f"Web {n}", "email": f"w{n}@example.com"},
                                  headers={"X-API-Key": "test-key"})
            assert r.status_code in (200, 201), r.text
        with w.session_factory() as s:
            owners = set(s.scalars(select(User.key).join(Lead, Lead.owner_id == User.id)))
        assert owners and not any(k.startswith("slack-") for k in owners)

    def test_two_allowed_workspaces_with_the_same_user_id_are_two_people_in_one_crm(self, slack_with, fake_slack):
        slack, w = slack_with(**OAUTH, slack_allowed_teams=f"{TEAM},{TEAM_2}")
        assert _install(slack.client, "good-code").status_code == 200
        assert _install(slack.client, "good-code-2").status_code == 200
        fake_slack.add_user("U07SAME", "Same Id")
        slack.command("U07SAME", "deal new Alpha amount=1", team=TEAM)
        slack.command("U07SAME", "deal new Beta amount=2", team=TEAM_2)
        ids = _identities(w, "U07SAME")
        assert [team for team, _ in ids] == [TEAM, TEAM_2] and ids[0][1] != ids[1][1]
        with w.session_factory() as s:
            deals = s.execute(select(Deal.name, Deal.owner_id).order_by(Deal.id)).all()
        assert len(deals) == 2 and deals[0].owner_id != deals[1].owner_id  # one CRM, D-1 and D-2, two owners
        slack.command("U07SAME", "deal list", team=TEAM)
        mine = blocks_text(slack.last_response())
        assert "Alpha" in mine and "Beta" not in mine  # each ran as their own user

    def test_a_configured_id_binds_to_the_first_allowed_workspace_only(self, slack_with):
        slack, w = slack_with(**OAUTH, slack_allowed_teams=f"{TEAM},{TEAM_2}")
        assert _install(slack.client, "good-code").status_code == 200
        assert _install(slack.client, "good-code-2").status_code == 200
        slack.command("U01EMMA", "my", team=TEAM_2)  # the same id in the second workspace: somebody else
        slack.command("U01EMMA", "my", team=TEAM)
        assert _identities(w, "U01EMMA") == [(TEAM, "emma"), (TEAM_2, "slack-u01emma")]


# --- idempotency keys ------------------------------------------------------------------------------------

class TestIdempotencyKeys:
    def test_commands_without_a_trigger_id_each_run_and_nobody_gets_anothers_reply(self, slack, slack_wiring):
        emma = payloads.form("command_empty_trigger_id", slack, "e1", user="U01EMMA", text="deal new Acme amount=5")
        tom = payloads.form("command_empty_trigger_id", slack, "t1", user="U01TOM", text="deal new Globex amount=7")
        assert payloads.post_form(slack, emma).status_code == 200
        assert payloads.post_form(slack, tom).status_code == 200
        emma_reply, tom_reply = (blocks_text(m) for m in slack.responses()[-2:])
        assert "Acme" in emma_reply and "Globex" in tom_reply and "Acme" not in tom_reply
        again = payloads.form("command_empty_trigger_id", slack, "e2", user="U01EMMA", text="deal new Acme amount=5")
        payloads.post_form(slack, again)  # the same text again, no trigger id: it runs again
        with slack_wiring.session_factory() as s:
            assert sorted(s.scalars(select(Deal.name))) == ["Acme", "Acme", "Globex"]

    def test_the_same_trigger_id_from_two_people_runs_for_each(self, slack, slack_wiring):
        for user, name in (("U01EMMA", "Acme"), ("U01TOM", "Globex")):
            body = slack.command_body(user, f"deal new {name} amount=1")
            body = re.sub(r"trigger_id=[^&]*", "trigger_id=777.777.same", body)
            assert slack.post(body, payloads.FORM).status_code == 200
        with slack_wiring.session_factory() as s:
            assert sorted(s.scalars(select(Deal.name))) == ["Acme", "Globex"]


# --- OAuth mode: a workspace that is not invited asks, an admin decides in chat --------------------------

class TestPendingApproval:
    def test_the_admins_are_asked_and_an_approval_lets_the_workspace_install_and_work(
            self, slack_with, fake_slack, console_bot):
        slack, w = slack_with(**OAUTH, slack_allowed_teams=TEAM)
        assert _install(slack.client, "good-code-2").status_code == 403
        assert _install(slack.client, "good-code-2").status_code == 403  # asking twice asks the admins once
        with w.session_factory() as s:
            asks = s.execute(select(OutboxMessage.target_id, OutboxMessage.payload).where(
                OutboxMessage.kind == "workspace.requested")).all()
            admin_id = s.scalar(select(User.id).where(User.key == "admin"))
        assert [a.target_id for a in asks] == [admin_id]
        card = asks[0].payload
        assert card["title"] == "Workspace T0002 asks to use the CRM"
        assert [b[1] if isinstance(b, list) else b["action"] for b in card["buttons"]] == \
            ["workspace.approve", "workspace.refuse"]

        rep = console_bot("emma").exec("workspace approve T0002")
        assert "not allowed" in rep  # only admins decide
        admin = console_bot("admin")
        assert "T0002" in admin.exec("workspace list") and "pending" in admin.exec("workspace list")
        assert "approved" in admin.exec("workspace approve T0002")
        assert "approved" in admin.exec("workspace list")

        assert _install(slack.client, "good-code-2").status_code == 200
        assert _bot_teams(w) == [TEAM_2]
        fake_slack.add_user("U02BOB", "Bob Beta", team=TEAM_2)
        slack.command("U02BOB", "deal new Beta amount=2", team=TEAM_2)
        assert "Beta" in blocks_text(slack.last_response())
        assert [team for team, _ in _identities(w, "U02BOB")] == [TEAM_2]

    def test_the_chinese_commands_and_a_bad_id(self, slack_with, console_bot):
        slack, w = slack_with(**OAUTH, slack_allowed_teams=TEAM)
        _install(slack.client, "good-code-2")
        admin = console_bot("admin")
        assert "T0002" in admin.exec("工作区 列表")
        assert "T0002 is refused" in admin.exec("工作区 拒绝 T0002")  # Ada reads English
        bad = admin.exec("workspace approve hello")
        assert "workspace list" in bad  # says what to type instead
        assert "T0009" in admin.exec("workspace approve T0009")  # unknown id: not found, nothing created
        with w.session_factory() as s:
            assert s.scalar(select(func.count(ChatWorkspace.id))) == 1

    def test_the_approve_button_on_the_admins_card_approves(self, slack_with):
        slack, w = slack_with(**OAUTH, slack_allowed_teams=TEAM)
        _install(slack.client, "good-code-2")
        with w.session_factory() as s:
            admin_id = s.scalar(select(User.id).where(User.key == "admin"))
            emma_id = s.scalar(select(User.id).where(User.key == "emma"))
        click = Invocation(actor_id=emma_id, kind="action", name="workspace.approve", args={"value": TEAM_2},
                           platform="slack")
        assert w.runner.run(click).cards[0].kind == "error"  # a rep's click (a forwarded card) decides nothing
        reply = w.runner.run(Invocation(actor_id=admin_id, kind="action", name="workspace.approve",
                                        args={"value": TEAM_2}, platform="slack"))
        assert reply.replace_original and "T0002 is approved" in reply.cards[0].blocks[0].text  # type: ignore[union-attr]
        assert w.slack.workspaces.admits(TEAM_2, None)
        assert not w.slack.workspaces.admits("T0003", None)

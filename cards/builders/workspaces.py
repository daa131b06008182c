"""Words for people in a Slack workspace the CRM does not serve (bot/slack/workspaces.py).

Such a person has no CRM user, so their language is unknown: every text here is shown in English and
Chinese together."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from html import escape

from cards.builders.common import list_card
from cards.i18n import translator
from cards.model import Button, Card, Context, Section

LOCALES = ("en", "zh_CN")


@dataclass(frozen=True)
class WorkspaceRow:
    team: str
    name: str | None
    status: str
    requested: str  # date, company timezone


def workspace_request_card(locale: str, row: WorkspaceRow) -> Card:
    """To each admin: a workspace asks to install. Buttons decide; the text command is in the body."""
    return Card(title=t(locale, "ws.request.title", team=row.team), locale=locale, kind="info",
                blocks=(Section(t(locale, "ws.request.body", team=row.team, name=row.name or row.team)),),
                buttons=(Button(t(locale, "ws.approve"), "workspace.approve", row.team, "primary"),
                         Button(t(locale, "ws.refuse"), "workspace.refuse", row.team, "danger")),
                ref=f"workspace:{row.team}")


def workspace_list_card(locale: str, rows: Sequence[WorkspaceRow]) -> Card:
    """Workspaces that asked to join (newest first). Those invited in the settings are not listed."""
    lines = [f"{r.team} · {r.name or '—'} · {t(locale, 'ws.status.' + r.status)} · {r.requested}" for r in rows]
    card = list_card(locale, t(locale, "ws.list.title"), lines)
    return replace(card, blocks=(*card.blocks, Context(t(locale, "ws.list.hint"))))


def workspace_decided_card(locale: str, team: str, status: str) -> Card:
    return Card(title=t(locale, "ws.decided.title", team=team), locale=locale, kind="info",
                blocks=(Section(t(locale, f"ws.decided.{status}", team=team)),), ref=f"workspace:{team}")
t = translator("workspaces")


def refused_text(team: str | None) -> str:
    """The ephemeral answer to a command or click from a workspace the CRM does not serve."""
    return "\n".join(t(loc, "refused", team=team or "?") for loc in LOCALES)


def install_refused_page(team: str | None, *, pending: bool = False) -> str:
    """The HTML page shown at /slack/oauth_redirect when a workspace that is not invited installs: its
    request is waiting for an admin (`pending`), or it was refused."""
    team_html = escape(team or "?")
    title, body = ("install.pending.title", "install.pending.body") if pending else ("install.title", "install.body")
    parts = [f"<h2>{escape(t(loc, title))}</h2><p>{escape(t(loc, body, team='{team}'))}</p>"
             .replace("{team}", f"<code>{team_html}</code>") for loc in LOCALES]
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>chatcrm</title></head><body>'
            + "".join(parts) + "</body></html>")

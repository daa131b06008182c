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

CATALOG = {
    "refused": {
        "en": "This Slack workspace ({team}) is not connected to this CRM, so nothing was done. "
              "Ask the CRM's administrator to invite it.",
        "zh_CN": "此 Slack 工作区（{team}）未接入本 CRM，未执行任何操作。请联系 CRM 管理员邀请该工作区。"},
    "install.pending.title": {"en": "Installation waiting for approval", "zh_CN": "安装等待审批"},
    "install.pending.body": {
        "en": "The Slack workspace {team} is not yet invited to this CRM. Its request has been sent to the CRM's "
              "administrators; nothing was installed or stored. Once an administrator approves it, install again.",
        "zh_CN": "Slack 工作区 {team} 尚未受邀使用本 CRM。安装请求已发送给 CRM 管理员，未安装也未保存任何信息。"
                 "管理员批准后，请重新安装。"},
    "install.title": {"en": "Installation refused", "zh_CN": "安装被拒绝"},
    "install.body": {
        "en": "The Slack workspace {team} is not on this CRM's list of invited workspaces, so chatcrm was not "
              "installed there and nothing was stored. If it should be, ask the CRM's administrator to add "
              "{team} to SLACK_ALLOWED_TEAMS, then install again.",
        "zh_CN": "Slack 工作区 {team} 不在本 CRM 邀请的工作区名单中，因此未在该工作区安装 chatcrm，也未保存任何信息。"
                 "如需接入，请联系 CRM 管理员将 {team} 加入 SLACK_ALLOWED_TEAMS，然后重新安装。"},
}
CATALOG.update({
    "ws.request.title": {"en": "Workspace {team} asks to use the CRM", "zh_CN": "工作区 {team} 申请使用本 CRM"},
    "ws.request.body": {
        "en": "Slack workspace {name} ({team}) tried to install chatcrm. Approve to let its people in "
              "(they can then install and use the bot), or refuse. Text: workspace approve {team}.",
        "zh_CN": "Slack 工作区 {name}（{team}）尝试安装 chatcrm。批准后其成员可以安装并使用机器人；也可以拒绝。"
                 "文字命令：工作区 批准 {team}。"},
    "ws.approve": {"en": "Approve", "zh_CN": "批准"},
    "ws.refuse": {"en": "Refuse", "zh_CN": "拒绝"},
    "ws.list.title": {"en": "Workspaces that asked to join", "zh_CN": "申请接入的工作区"},
    "ws.status.pending": {"en": "pending", "zh_CN": "待审批"},
    "ws.status.approved": {"en": "approved", "zh_CN": "已批准"},
    "ws.status.refused": {"en": "refused", "zh_CN": "已拒绝"},
    "ws.list.hint": {"en": "Workspaces invited in the settings (SLACK_ALLOWED_TEAMS) are not listed.",
                     "zh_CN": "配置（SLACK_ALLOWED_TEAMS）中邀请的工作区不在此列出。"},
    "ws.decided.approved": {"en": "Workspace {team} is approved: its people can install and use chatcrm now.",
                            "zh_CN": "工作区 {team} 已批准：其成员现在可以安装并使用 chatcrm。"},
    "ws.decided.refused": {"en": "Workspace {team} is refused: it cannot install or use chatcrm.",
                           "zh_CN": "工作区 {team} 已拒绝：无法安装或使用 chatcrm。"},
    "ws.decided.title": {"en": "Workspace {team}", "zh_CN": "工作区 {team}"},
})
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
t = translator(CATALOG)


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

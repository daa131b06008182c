"""Words for people in a Slack workspace the CRM does not serve (bot/slack/workspaces.py).

Such a person has no CRM user, so their language is unknown: every text here is shown in English and
Chinese together."""
from __future__ import annotations

from html import escape

from cards.i18n import translator

CATALOG = {
    "refused": {
        "en": "This Slack workspace ({team}) is not connected to this CRM, so nothing was done. "
              "Ask the CRM's administrator to invite it.",
        "zh_CN": "此 Slack 工作区（{team}）未接入本 CRM，未执行任何操作。请联系 CRM 管理员邀请该工作区。"},
    "install.title": {"en": "Installation refused", "zh_CN": "安装被拒绝"},
    "install.body": {
        "en": "The Slack workspace {team} is not on this CRM's list of invited workspaces, so chatcrm was not "
              "installed there and nothing was stored. If it should be, ask the CRM's administrator to add "
              "{team} to SLACK_ALLOWED_TEAMS, then install again.",
        "zh_CN": "Slack 工作区 {team} 不在本 CRM 邀请的工作区名单中，因此未在该工作区安装 chatcrm，也未保存任何信息。"
                 "如需接入，请联系 CRM 管理员将 {team} 加入 SLACK_ALLOWED_TEAMS，然后重新安装。"},
}
LOCALES = ("en", "zh_CN")
t = translator(CATALOG)


def refused_text(team: str | None) -> str:
    """The ephemeral answer to a command or click from a workspace the CRM does not serve."""
    return "\n".join(t(loc, "refused", team=team or "?") for loc in LOCALES)


def install_refused_page(team: str | None) -> str:
    """The HTML page shown at /slack/oauth_redirect when a workspace that is not invited installs."""
    team_html = escape(team or "?")
    parts = [f"<h2>{escape(t(loc, 'install.title'))}</h2><p>{escape(t(loc, 'install.body', team='{team}'))}</p>"
             .replace("{team}", f"<code>{team_html}</code>") for loc in LOCALES]
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>chatcrm</title></head><body>'
            + "".join(parts) + "</body></html>")

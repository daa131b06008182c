"""Process settings from the environment (INTERFACE.md). Built once per entry point, passed down."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Variables that only work together (docs/operations.md "Start-up refusals"). A process that finds some of
# a group set and others missing refuses to start, naming what is missing, rather than run half wired.
WECOM_VARIABLES = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")
WECOM_AIBOT_VARIABLES = ("WECOM_AIBOT_TOKEN", "WECOM_AIBOT_AES_KEY")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///chatcrm.db"
    chatcrm_config: str | None = None
    port: int = 8000
    chatcrm_api_key: str | None = None
    chatcrm_embedded_workers: bool = True
    # A font file with Chinese glyphs for PDF quotes and chart pictures (docs/documents.md); unset: searched.
    chatcrm_cjk_font: str | None = None
    # How long the process that acknowledged an inbound request owns it before recovery may redo it.
    chatcrm_inbox_lease_seconds: float = 60.0
    # TEST ONLY (tests/reliability/test_kill_after_ack.py): exit the process right after the first inbound
    # request was recorded and acknowledged, before its work. Inert unless set to 1.
    chatcrm_test_crash_after_ack: bool = False
    # Log lines: "text" (one line a record, for a terminal) or "json" (one JSON object a line, with the
    # request id of the HTTP request being served; docs/operations.md).
    chatcrm_log_format: Literal["text", "json"] = "text"

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_scopes: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Workspaces (docs/slack.md "Workspaces"): single-workspace mode serves only its own team — this id,
    # else the team auth.test reports for SLACK_BOT_TOKEN; OAuth mode installs and serves only these
    # comma-separated team (T…) or Enterprise Grid (E…) ids, and nobody when the list is empty.
    slack_team_id: str | None = None
    slack_allowed_teams: str | None = None
    # Seconds one Slack Web API call may take before it counts as failed (an ambiguous failure: the
    # deliverer checks the channel's history before posting again). slack_sdk's default is 30.
    slack_timeout: float = 8.0
    # Seconds a slash command's work may take and still be answered in the HTTP response itself (one round
    # trip); slower work is acked when this runs out and answered through the response_url. Slack allows
    # 3 s for the whole response: 0 to 2.5; 0 always answers through the response_url.
    chatcrm_slack_reply_within: float = Field(default=1.0, ge=0.0, le=2.5)
    # Slack requests whose work may run or wait in one web process at once; beyond that the person is told
    # "busy, your command is queued" and the request waits in the inbox (docs/operations.md).
    chatcrm_slack_queue: int = Field(default=200, ge=1)
    # Threads of one web process that run Slack use cases after the ack (database and CPU; what waits on
    # Slack's network runs on a pool of its own). Unset: 2 on SQLite, where more threads only fight over the
    # GIL, 8 on PostgreSQL, where each also waits on the database's round trips (docs/operations.md).
    chatcrm_slack_work_threads: int | None = Field(default=None, ge=1, le=64)
    # SQLite only: "full" (SQLite's default) waits for the disk at every commit; "normal" (WAL mode) keeps
    # every commit through a crash of the process, but a power loss may undo the last ones — and a commit
    # then costs microseconds instead of an fsync (docs/operations.md "SQLite durability").
    chatcrm_sqlite_synchronous: Literal["full", "normal"] = "full"

    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    # Seconds one WeCom API call may take (connect and read each); a send repeated within
    # wecom_duplicate_check_interval seconds is dropped by WeCom (message/send enable_duplicate_check).
    wecom_timeout: float = 8.0
    wecom_duplicate_check_interval: int = 1800
    # WeCom AI bot (智能机器人, API mode): the Token and EncodingAESKey of its 接收消息 URL. It is the one way
    # a message typed in a WeCom group reaches chatcrm (an @-mention of the bot); docs/wecom.md "Group chats".
    wecom_aibot_token: str | None = None
    wecom_aibot_aes_key: str | None = None

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_oauth_enabled))

    @property
    def slack_oauth_enabled(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_allowed_team_ids(self) -> tuple[str, ...]:
        """SLACK_ALLOWED_TEAMS as a tuple of ids, in the order given (the first binds configured users)."""
        ids = [t.strip() for t in (self.slack_allowed_teams or "").split(",") if t.strip()]
        return tuple(dict.fromkeys(ids))

    @property
    def wecom_enabled(self) -> bool:
        return bool(self.wecom_corp_id and self.wecom_secret and self.wecom_token and self.wecom_aes_key)

    @property
    def wecom_aibot_enabled(self) -> bool:
        return bool(self.wecom_aibot_token and self.wecom_aibot_aes_key)

    def missing_variables(self) -> list[tuple[str, list[str]]]:
        """Half configurations, as (platform, the variables still missing); empty when every platform is
        either fully configured or not configured at all."""
        def unset(*names: str) -> list[str]:
            return [n for n in names if not getattr(self, n.lower())]

        problems: list[tuple[str, list[str]]] = []
        oauth = unset("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
        if len(oauth) == 1:
            problems.append(("Slack OAuth", oauth))
        slack_any = unset("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET")
        if len(slack_any) < 4:  # something of Slack is set
            if not self.slack_signing_secret:
                problems.append(("Slack", ["SLACK_SIGNING_SECRET"]))
            elif not self.slack_bot_token and not self.slack_client_id and not self.slack_client_secret:
                problems.append(("Slack", ["SLACK_BOT_TOKEN"]))  # the operator line names OAuth as the other way
        wecom = unset(*WECOM_VARIABLES)
        if 0 < len(wecom) < len(WECOM_VARIABLES):
            problems.append(("WeCom", wecom))
        aibot = unset(*WECOM_AIBOT_VARIABLES)
        if len(aibot) == 1:
            problems.append(("WeCom AI bot", aibot))
        return problems


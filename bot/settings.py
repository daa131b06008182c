"""Process settings from the environment (INTERFACE.md). Built once per entry point, passed down."""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


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

"""The WeCom adapter's object graph (bot/wecom/parts.py), built once per process from Settings and the Wiring."""
from __future__ import annotations

from datetime import timedelta

from bot.wecom.client import WeComClient
from bot.wecom.crypto import WeComCrypto
from bot.wecom.parts import WeComRuntime
from bot.wecom.identity import WeComIdentity
from bot.wecom.inbound import CallbackHandler
from bot.wecom.messenger import WeComMessenger
from bot.wecom.store import CardStore, InboundLog
from crm_core import inbox
from bot.wiring import Wiring
from crm_core.pacing import Pacer


def wecom_runtime(w: Wiring) -> WeComRuntime | None:
    """The process's WeCom runtime, or None when the WECOM_* variables are not set."""
    s = w.settings
    if not s.wecom_enabled:
        return None
    if w.wecom is not None:
        return w.wecom
    agent = (s.wecom_agent_id or "").strip()
    if not agent.isdigit():
        raise ValueError("WECOM_AGENT_ID must be set to the app's AgentId (a number, e.g. 1000002)")
    assert s.wecom_corp_id and s.wecom_secret and s.wecom_token and s.wecom_aes_key  # wecom_enabled
    client = WeComClient(s.wecom_corp_id, s.wecom_secret, api_url=s.wecom_api_url,
                         session_factory=w.session_factory, clock=w.clock,
                         timeout=(min(3.05, s.wecom_timeout), s.wecom_timeout))
    cards = CardStore(w.session_factory, w.clock)
    messenger = WeComMessenger(client, int(agent), cards, locale=w.config.company.locale,
                               duplicate_check_interval=s.wecom_duplicate_check_interval)
    handler = CallbackHandler(session_factory=w.session_factory, runner=w.runner,
                              identity=WeComIdentity(w.session_factory, client, w.clock), messenger=messenger,
                              clock=w.clock, pacer=Pacer(w.session_factory),
                              lease=timedelta(seconds=s.chatcrm_inbox_lease_seconds))
    rt = WeComRuntime(crypto=WeComCrypto(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id), client=client,
                      messenger=messenger, inbound=InboundLog(w.session_factory, w.clock), handler=handler,
                      clock=w.clock, crash_after_ack=s.chatcrm_test_crash_after_ack)
    w.wecom = rt
    return rt


def wecom_messenger(w: Wiring) -> WeComMessenger | None:
    """For the outbox deliverer: the WeCom messenger when WeCom is configured."""
    rt = wecom_runtime(w)
    return rt.messenger if rt else None


def recover(w: Wiring, item: inbox.Item) -> None:
    """The recovery pass (bot/processes.py) hands over a row left by a process that died.

    It lives here, beside the runtime it needs, so that inbound.py does not import runtime.py back."""
    rt = wecom_runtime(w)
    if rt is not None:
        rt.handler.process(item, late=True)

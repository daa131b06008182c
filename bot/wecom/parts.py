"""The WeCom adapter's parts, made once per process by bot/wecom/runtime.py and kept on the Wiring."""
from __future__ import annotations

from dataclasses import dataclass

from bot.wecom.client import WeComClient
from bot.wecom.crypto import WeComCrypto
from bot.wecom.inbound import CallbackHandler
from bot.wecom.messenger import WeComMessenger
from bot.wecom.store import InboundLog
from crm_core.clock import Clock


@dataclass
class WeComRuntime:
    crypto: WeComCrypto
    client: WeComClient
    messenger: WeComMessenger
    inbound: InboundLog
    handler: CallbackHandler
    clock: Clock  # callback freshness (routes: a timestamp more than 5 minutes off is refused)
    crash_after_ack: bool = False  # test only (bot/crashpoint.py): CHATCRM_TEST_CRASH_AFTER_ACK

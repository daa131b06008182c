"""WeCom userid → CRM user. Users not in the configuration are created as reps, named from user/get."""
from __future__ import annotations

import logging

import requests
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from wechatpy.exceptions import WeChatClientException

from bot.wecom.client import WeComClient
from crm_core.clock import Clock
from crm_core.models import ChatIdentity, User
from crm_core.services.users import create_chat_user, user_by_identity

log = logging.getLogger("chatcrm.wecom.identity")


def wecom_user_id(session: Session, userid: str) -> int | None:
    """The CRM user with this WeCom userid (WeCom userids are case-insensitive), in the caller's session."""
    user = user_by_identity(session, "wecom", userid) or session.scalar(
        select(User).join(ChatIdentity).where(ChatIdentity.platform == "wecom",
                                              func.lower(ChatIdentity.external_id) == userid.lower()))
    return user.id if user is not None else None


class WeComIdentity:
    def __init__(self, session_factory: sessionmaker[Session], client: WeComClient, clock: Clock) -> None:
        self._factory = session_factory
        self._client = client
        self._clock = clock

    def find(self, userid: str) -> int | None:
        """The CRM user with this WeCom userid (WeCom userids are case-insensitive)."""
        with self._factory() as session:
            return wecom_user_id(session, userid)

    def resolve(self, userid: str) -> int:
        """The user's id, creating a rep on first contact."""
        found = self.find(userid)
        if found is not None:
            return found
        name = self._name_of(userid)
        try:
            with self._factory.begin() as session:
                user = create_chat_user(session, platform="wecom", external_id=userid, name=name,
                                        now=self._clock.now())
                log.info("created CRM user %s (rep) for WeCom user %s", user.key, userid)
                return user.id
        except IntegrityError:  # two first messages at once: the other one created the user
            found = self.find(userid)
            if found is None:
                raise
            return found

    def _name_of(self, userid: str) -> str:
        try:
            info = self._client.user.get(userid)
        except (WeChatClientException, requests.RequestException) as exc:
            log.warning("WeCom user/get %s failed (%s); naming the new user after the userid", userid, exc)
            return userid
        name = str(info.get("name") or "").strip() if isinstance(info, dict) else ""
        return name or userid

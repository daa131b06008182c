"""The WeCom API client: wechatpy's enterprise `WeChatClient`, corrected for running several processes.

What differs from wechatpy 1.8.18 and why:

- Every call goes to `WECOM_API_URL`, `gettoken` included (wechatpy hard-codes the real host there).
- The access token lives in the database (`wecom_access_tokens`), with its expiry, so the web, worker and
  scheduler processes share one token instead of each fetching their own (gettoken is rate limited).
  A token is used until 5 minutes before it expires.
- `auto_retry=False`: wechatpy's own retry on 40001/40014/42001 recurses without a bound. Here a call that
  gets one of those codes drops the stored token, fetches a new one and retries exactly once.
- Timeouts are always set (wechatpy's default is to wait forever).

The client is synchronous (requests); FastAPI code calls it from a worker thread.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from crm_core.clock import Clock
from crm_core.models import WeComAccessToken

log = logging.getLogger("chatcrm.wecom.client")

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
REFRESH_MARGIN = timedelta(minutes=5)
DEFAULT_TIMEOUT = (3.05, 10.0)  # connect, read (seconds)


class TokenStore:
    """The access token shared through the database."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, key: str) -> None:
        self._factory = session_factory
        self._clock = clock
        self.key = key

    def get(self, *, margin: timedelta = REFRESH_MARGIN) -> str | None:
        """The stored token unless it expires within `margin`."""
        with self._factory() as session:
            row = session.get(WeComAccessToken, self.key)
            if row is None or row.expires_at - margin <= self._clock.now():
                return None
            return row.token

    def put(self, token: str, expires_in: int) -> None:
        now = self._clock.now()
        expires_at = now + timedelta(seconds=max(int(expires_in), 0))
        values = {"token": token, "expires_at": expires_at, "fetched_at": now}
        for _ in range(2):  # write first (no read), so racing processes never deadlock on a lock upgrade
            try:
                with self._factory.begin() as session:
                    changed = session.execute(update(WeComAccessToken).where(WeComAccessToken.key == self.key)
                                              .values(**values)).rowcount
                    if not changed:
                        session.add(WeComAccessToken(key=self.key, **values))
                return
            except IntegrityError:
                log.info("access token stored concurrently by another process; updating it")
        raise RuntimeError("could not store the WeCom access token")

    def drop(self, token: str | None = None) -> None:
        """Forget the token (WeCom said it is invalid); only that token, so a fresher one survives."""
        with self._factory.begin() as session:
            stmt = delete(WeComAccessToken).where(WeComAccessToken.key == self.key)
            if token is not None:
                stmt = stmt.where(WeComAccessToken.token == token)
            session.execute(stmt)


def token_key(corp_id: str, secret: str) -> str:
    return f"{corp_id}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"


class WeComClient(WeChatClient):
    """`WeChatClient` bound to one base URL, a database token store and a single token refresh."""

    def __init__(self, corp_id: str, secret: str, *, api_url: str, session_factory: sessionmaker[Session],
                 clock: Clock, timeout: Any = DEFAULT_TIMEOUT) -> None:
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_url if api_url.endswith("/") else api_url + "/"
        self.tokens = TokenStore(session_factory, clock, token_key(corp_id, secret))

    def fetch_access_token(self) -> dict[str, Any]:
        """gettoken at WECOM_API_URL (wechatpy's version always calls qyapi.weixin.qq.com)."""
        res = self._http.get(url=self.API_BASE_URL + "gettoken",
                             params={"corpid": self.corp_id, "corpsecret": self.secret}, timeout=self.timeout)
        try:
            res.raise_for_status()
            result = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatClientException(None, f"gettoken answered HTTP {res.status_code}", client=self,
                                        request=res.request, response=res) from exc
        errcode = int(result.get("errcode", 0) or 0)
        if errcode != 0:
            raise WeChatClientException(errcode, result.get("errmsg", ""), client=self, request=res.request,
                                        response=res)
        self.tokens.put(result["access_token"], int(result.get("expires_in", 7200)))
        log.info("fetched a new WeCom access token (expires in %ss)", result.get("expires_in", 7200))
        return dict(result)

    @property
    def access_token(self) -> str:
        token = self.tokens.get()
        if token is None:
            self.fetch_access_token()
            token = self.tokens.get(margin=timedelta(0))  # WeCom may hand out a token close to its expiry
        if token is None:
            raise WeChatClientException(None, "no access token after gettoken")
        return token

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        params = dict(kwargs.pop("params", None) or {})
        params.pop("access_token", None)
        token = self.access_token
        try:
            return super()._request(method, url_or_endpoint, params={**params, "access_token": token}, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeCom answered %s for %s: refreshing the access token once", exc.errcode, url_or_endpoint)
            self.tokens.drop(token)
            self.fetch_access_token()
            return super()._request(method, url_or_endpoint, params={**params, "access_token": self.access_token},
                                    **kwargs)

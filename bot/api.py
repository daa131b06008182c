"""The REST API: lead capture from web forms and ad platforms (X-API-Key)."""
from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.wiring import Wiring
from crm_core.errors import DomainError
from crm_core.services.leads import LeadInput, do_create_lead
from handlers.notify import flush_events

router = APIRouter(prefix="/api", tags=["api"])


def wiring(request: Request) -> Wiring:
    return request.app.state.wiring  # type: ignore[no-any-return]


def require_api_key(w: Annotated[Wiring, Depends(wiring)],
                    x_api_key: Annotated[str | None, Header()] = None) -> None:
    expected = w.settings.chatcrm_api_key
    if not expected:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "The REST API is disabled: set CHATCRM_API_KEY.")
    if not x_api_key or not hmac.compare_digest(x_api_key.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Missing or wrong X-API-Key header.")


class LeadIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    company: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    source: str = Field(default="api", max_length=50)
    region: str | None = Field(default=None, max_length=100)
    industry: str | None = Field(default=None, max_length=100)
    product: str | None = Field(default=None, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=20)


class LeadOut(BaseModel):
    id: int
    ref: str
    created: bool
    duplicate_matched_on: str | None
    owner: str
    score: int


class ErrorOut(BaseModel):
    error: str
    message: str
    message_zh: str


def domain_error_response(exc: DomainError, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT) -> JSONResponse:
    return JSONResponse(status_code=code, content={"error": exc.code.value, "message": exc.msg_format("en"),
                                                   "message_zh": exc.msg_format("zh_CN")})


@router.post("/leads", response_model=LeadOut, status_code=201, dependencies=[Depends(require_api_key)],
             responses={200: {"model": LeadOut, "description": "A duplicate: the existing lead was updated"},
                        422: {"model": ErrorOut}})
def create_lead(body: LeadIn, w: Annotated[Wiring, Depends(wiring)]) -> JSONResponse:
    data = LeadInput(name=body.name, company=body.company, email=body.email, phone=body.phone,
                     source=body.source, region=body.region, industry=body.industry, product=body.product,
                     tags=body.tags)
    try:
        with w.runner.uow() as uow:
            result = do_create_lead(uow, data, actor=None, now=w.clock.now())
            flush_events(uow, w.clock)
            out = LeadOut(id=result.lead.id, ref=result.lead.ref, created=result.created,
                          duplicate_matched_on=result.matched_on, owner=result.lead.owner.key,
                          score=result.lead.score)
    except DomainError as exc:
        return domain_error_response(exc)
    return JSONResponse(status_code=201 if out.created else 200, content=out.model_dump())

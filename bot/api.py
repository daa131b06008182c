"""The REST API: lead capture from web forms and ad platforms, payment write-back (X-API-Key)."""
from __future__ import annotations

import hmac
from datetime import datetime
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from bot.wiring import Wiring
from crm_core.errors import Conflict, DomainError, NotFound
from crm_core.services.leads import LeadInput, do_create_lead
from crm_core.services.orders import PaymentInput, PaymentResult, do_record_payment
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


# --- payments: write-back from the finance system (issue 3 A) ------------------------------------

class PaymentIn(BaseModel):
    external_id: str = Field(min_length=1, max_length=128, description="the payment's id in the finance system")
    order_id: int | None = None
    invoice_no: str | None = Field(default=None, max_length=32, description="e.g. INV-2026-000123")
    amount: Decimal
    paid_at: datetime | None = Field(default=None, description="ISO 8601; without a zone: company time")


class PaymentOut(BaseModel):
    payment_id: int
    external_id: str
    order_id: int
    invoice_no: str
    amount: str
    currency: str
    order_amount: str
    order_paid: str
    order_status: str
    duplicate: bool
    order_overpaid: str = Field(default="0.00", description="money received beyond the invoice total (flagged)")


def _payment_out(result: PaymentResult) -> PaymentOut:
    p, o = result.payment, result.order
    return PaymentOut(payment_id=p.id, external_id=p.external_id, order_id=o.id, invoice_no=o.invoice_no,
                      amount=str(p.amount), currency=o.currency, order_amount=str(o.amount), order_paid=str(o.paid),
                      order_status=o.status, duplicate=not result.created, order_overpaid=str(o.overpaid))


def _record_payment(w: Wiring, data: PaymentInput) -> PaymentOut:
    with w.runner.uow() as uow:
        result = do_record_payment(uow, data, now=w.clock.now())
        flush_events(uow, w.clock)
        return _payment_out(result)


@router.post("/payments", response_model=PaymentOut, status_code=201, dependencies=[Depends(require_api_key)],
             responses={200: {"model": PaymentOut, "description": "This external_id was already recorded"},
                        404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def record_payment(body: PaymentIn, w: Annotated[Wiring, Depends(wiring)]) -> JSONResponse:
    """Record a payment against an order (by order_id or invoice_no); idempotent by external_id."""
    paid_at = body.paid_at
    if paid_at is not None and paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=ZoneInfo(w.config.company.timezone))
    data = PaymentInput(external_id=body.external_id.strip(), amount=body.amount, order_id=body.order_id,
                        invoice_no=body.invoice_no, paid_at=paid_at)
    try:
        try:
            out = _record_payment(w, data)
        except IntegrityError:
            out = _record_payment(w, data)  # the same external_id raced in: the retry finds it and answers as a repeat
    except NotFound as exc:
        return domain_error_response(exc, status.HTTP_404_NOT_FOUND)
    except Conflict as exc:
        return domain_error_response(exc, status.HTTP_409_CONFLICT)
    except DomainError as exc:
        return domain_error_response(exc)
    return JSONResponse(status_code=200 if out.duplicate else 201, content=out.model_dump())

"""The REST API: lead capture from web forms and ad platforms, payment write-back (X-API-Key)."""
from __future__ import annotations

import hmac
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.exc import IntegrityError

from bot.wiring import Wiring
from cards.errors import error_texts
from cards.operator import operator_line
from crm_core.company_time import company_tz
from crm_core.errors import Conflict, DomainError, NotFound
from crm_core.fields import (COMPANY_MAX, EMAIL_MAX, FIELD_MAX, NAME_MAX, PHONE_MAX, SHORT_MAX, TAG_MAX, TAGS_MAX,
                             control_problem)
from crm_core.services.leads import LeadInput, do_create_lead
from crm_core.services.orders import PaymentInput, PaymentResult, do_record_payment

router = APIRouter(prefix="/api", tags=["api"])


def wiring(request: Request) -> Wiring:
    return request.app.state.wiring  # type: ignore[no-any-return]


def require_api_key(w: Annotated[Wiring, Depends(wiring)],
                    x_api_key: Annotated[str | None, Header()] = None) -> None:
    expected = w.settings.chatcrm_api_key
    if not expected:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, operator_line("api.disabled"))
    if not x_api_key or not hmac.compare_digest(x_api_key.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, operator_line("api.bad_key"))


# --- limits: every string (a body's size: bot/body_limit.py) ---------------------------------------

class _Clean(BaseModel):
    """Strings without control characters (NUL, escape …): 422 naming the field, never a database error."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, v: Any) -> Any:
        for item in (v if isinstance(v, list) else [v]):
            if isinstance(item, str) and (bad := control_problem(item)):
                raise ValueError(f"control character {bad} is not allowed")
        return v


class LeadIn(_Clean):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    company: str | None = Field(default=None, max_length=COMPANY_MAX)
    email: str | None = Field(default=None, max_length=EMAIL_MAX)
    phone: str | None = Field(default=None, max_length=PHONE_MAX)
    source: str = Field(default="api", max_length=50, description="a key, label or alias of [picklists.source]")
    region: str | None = Field(default=None, max_length=SHORT_MAX)
    industry: str | None = Field(default=None, max_length=SHORT_MAX)
    product: str | None = Field(default=None, max_length=SHORT_MAX)
    tags: list[Annotated[str, Field(max_length=TAG_MAX)]] = Field(default_factory=list, max_length=TAGS_MAX)
    fields: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=FIELD_MAX)]] = Field(
        default_factory=dict, max_length=50, description="declared [[fields.lead]] by key, e.g. {\"level\": \"a\"}")

    @field_validator("fields", mode="after")
    @classmethod
    def _clean_fields(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if (bad := control_problem(key) or control_problem(value)):
                raise ValueError(f"control character {bad} is not allowed")
        return v


class LeadOut(BaseModel):
    id: int
    ref: str
    created: bool
    duplicate_matched_on: str | None
    owner: str
    score: int
    merge_id: int | None = None  # a duplicate: the merge record (split it back with lead split L-n)
    differences: dict[str, str] = {}  # a duplicate: values you sent that differ from the lead's (kept in the record)
    same_company_as: str | None = None  # a new lead: the oldest other lead at the same company, e.g. "L-1"


class ErrorOut(BaseModel):
    error: str  # the kind: not_found, forbidden, invalid, conflict, …
    code: str  # the message code, e.g. deal.already_closed (stable; cards/locales/*.po, area "errors")
    message: str
    message_zh: str


def domain_error_response(exc: DomainError, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT) -> JSONResponse:
    texts = error_texts(exc)
    return JSONResponse(status_code=code, content={"error": exc.code.value, "code": exc.key, "message": texts["en"],
                                                   "message_zh": texts["zh_CN"]})


@router.post("/leads", response_model=LeadOut, status_code=201, dependencies=[Depends(require_api_key)],
             responses={200: {"model": LeadOut, "description": "A duplicate: the existing lead was updated"},
                        422: {"model": ErrorOut}})
def create_lead(body: LeadIn, w: Annotated[Wiring, Depends(wiring)]) -> JSONResponse:
    data = LeadInput(name=body.name, company=body.company, email=body.email, phone=body.phone,
                     source=body.source, region=body.region, industry=body.industry, product=body.product,
                     tags=body.tags, fields=body.fields)
    try:
        with w.uow() as uow:
            result = do_create_lead(uow, data, actor=None, now=w.clock.now())
            out = LeadOut(id=result.lead.id, ref=result.lead.ref, created=result.created,
                          duplicate_matched_on=result.matched_on, owner=result.lead.owner.key,
                          score=result.lead.score, merge_id=result.merge.id if result.merge else None,
                          differences=result.differences,
                          same_company_as=result.same_company.ref if result.same_company else None)
    except DomainError as exc:
        return domain_error_response(exc)
    return JSONResponse(status_code=201 if out.created else 200, content=out.model_dump())


# --- payments: write-back from the finance system (issue 3 A) ------------------------------------

class PaymentIn(_Clean):
    external_id: str = Field(min_length=1, max_length=128, description="the payment's id in the finance system")
    order_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    invoice_no: str | None = Field(default=None, max_length=32, description="e.g. INV-2026-000123")
    amount: Decimal = Field(gt=Decimal("-1e15"), lt=Decimal("1e15"), allow_inf_nan=False)
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
    with w.uow() as uow:
        result = do_record_payment(uow, data, now=w.clock.now())
        return _payment_out(result)


@router.post("/payments", response_model=PaymentOut, status_code=201, dependencies=[Depends(require_api_key)],
             responses={200: {"model": PaymentOut, "description": "This external_id was already recorded"},
                        404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def record_payment(body: PaymentIn, w: Annotated[Wiring, Depends(wiring)]) -> JSONResponse:
    """Record a payment against an order (by order_id or invoice_no); idempotent by external_id."""
    paid_at = body.paid_at
    if paid_at is not None and paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=company_tz(w.config))
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

"""Lead and deal views."""
from __future__ import annotations

from datetime import datetime

from cards.builders.sales import DealView, LeadView, kind_label
from cards.format import (custom_label, field_name, local_date, local_time, money, picklist_label, reader_time,
                          stage_name)
from crm_core.models import Deal, Lead
from crm_core.queries.glance import account_overpaid, latest_quotes, live_swarms_of, open_task_of
from crm_core.services.activities import recent_activities
from crm_core.services.deals import missing_fields, weighted_amount
from crm_core.uow import UnitOfWork
from handlers.presentation.glance import quote_state_view, swarm_label, task_view


def lead_view(uow: UnitOfWork, lead: Lead, locale: str | None = None, *, zone: str | None = None) -> LeadView:
    """`zone`: the reader's own time zone (users.timezone); times show in it when it is not the company's."""
    config = uow.config
    source = picklist_label(config, "source", lead.source, locale) if locale else lead.source
    extra: list[tuple[str, str]] = []
    if locale:  # picklisted and declared fields, labelled in the reader's language
        for name, key in (("region", lead.region), ("industry", lead.industry)):
            if key:
                extra.append((name, picklist_label(config, name, key, locale) or key))
        extra += [custom_label(config, "lead", k, str(v), locale) for k, v in sorted((lead.fields or {}).items())]
    return LeadView(ref=lead.ref, name=lead.name, company=lead.company, email=lead.email, phone=lead.phone,
                    owner=lead.owner.name, score=lead.score, source=source or lead.source, status=lead.status,
                    extra=tuple(extra),
                    respond_by=reader_time(config, lead.first_response_due_at, locale, zone)
                    if lead.first_responded_at is None and lead.status == "open" else None)


def deal_view(uow: UnitOfWork, deal: Deal, locale: str, now: datetime, *, has_swarm: bool = False) -> DealView:
    config = uow.config
    pipeline = config.pipeline
    next_stage = None
    missing: list[str] = []
    if deal.status == "open":
        i = pipeline.index(deal.stage)
        if i + 1 < len(pipeline.open_stages):
            target = pipeline.stages[i + 1]
            next_stage = stage_name(config, target.key, locale)
            missing = missing_fields(uow, deal, target)
    recent = [f"{kind_label(locale, kind)} {text[:40]}" for kind, text in recent_activities(uow, deal_id=deal.id, limit=3)]
    days = max(0, int((now - deal.stage_entered_at).total_seconds() // 86400))
    overpaid = account_overpaid(uow.session, deal.account_id)
    quote = quote_state_view(latest_quotes(uow.session, [deal.id]).get(deal.id))
    task = task_view(open_task_of(uow.session, deal.id), local_date(uow.config, now), uow.config, locale) if deal.status == "open" else None
    swarms = tuple(swarm_label(s) for s in live_swarms_of(uow.session, [deal.id], []))
    return DealView(
        ref=deal.ref, name=deal.name, stage=stage_name(config, deal.stage, locale), status=deal.status,
        amount=money(deal.amount, deal.currency),
        weighted=money(weighted_amount(uow, deal), deal.currency) if deal.amount is not None else None,
        close_date=deal.close_date, account=deal.account.name, contact=deal.contact.name if deal.contact else None,
        owner=deal.owner.name, days_in_stage=days, custom=dict(custom_label(config, "deal", k, str(v), locale) for k, v in (deal.fields or {}).items()),
        next_stage=next_stage, missing_for_next=[field_name(config, "deal", k, locale) for k in missing], recent=recent, has_swarm=has_swarm, stage_key=deal.stage,
        account_overpaid=money(overpaid, deal.currency) if overpaid > 0 else None,
        quote=quote, next_task=task, swarms=swarms,
    )

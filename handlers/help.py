"""help / 帮助, and `my` / 我的: what is on my plate."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from cards.builders.common import list_card
from cards.builders.tasks import overdue_deal_line, t as t_tasks, task_lines
from cards.format import money_or_dash, stage_name
from cards.i18n import translator
from cards.model import Card, Reply, Section
from cards.templates import render
from crm_core.clock import Clock
from crm_core.company_time import local_date
from crm_core.models import User
from crm_core.services.deals import list_deals
from crm_core.services.leads import list_leads
from crm_core.services.tasks import deals_past_close, my_tasks
from crm_core.uow import UnitOfWork
from handlers.grammar import UsageError, help_specs
from handlers.invocation import Invocation
from handlers.registry import command
from handlers.tasks import task_view
from handlers.usage import usage_reply

t = translator("chat")

# Later areas (approvals, tickets) add sections to `my` here: fn(uow, actor, locale, clock) -> Card | None.
MY_SECTIONS: list[Callable[[UnitOfWork, User, str, Clock], Card | None]] = []


def my_sections(uow: UnitOfWork, actor: User, locale: str, clock: Clock) -> list[Card]:
    """The registered sections that have something to show (`my` and the home surface both end with them)."""
    return [card for section in MY_SECTIONS if (card := section(uow, actor, locale, clock)) is not None]


@command("help", writes=False)
def show_help(inv: Invocation, locale: str) -> Reply:
    topic = str(inv.args.get("topic") or "").strip()
    usage: list[str] = []
    if topic:
        specs = help_specs(topic)
        if isinstance(specs, UsageError):  # `help dael`: did you mean deal?
            return usage_reply(locale, specs)
        for spec in specs:
            usage.extend(spec.usage(locale))
    text = render(locale, "help.txt.j2", topic_usage=_each_command_once(usage))
    title = t(locale, "help.title")
    return Reply(cards=(Card(title=title, locale=locale, blocks=(Section(text),), kind="help"),))


def _each_command_once(lines: list[str]) -> list[str]:
    """The usage lines of a topic's commands, a command's first line kept: `help deal` gathers `deal new`'s own
    lines and `deal`'s, which names `deal new` again more briefly. A command is its words and what it acts on
    (`quote <D-id>` is not `quote <Q-id>`); options and notes aside."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        words = line.split()
        command = list(itertools.takewhile(lambda w: not any(c in w for c in "<[=(（"), words))
        if len(words) > len(command) and words[len(command)].startswith("<"):
            command.append(words[len(command)].partition(">")[0])  # `<Q-编号>（查看…）` is `<Q-编号>`
        head = " ".join(command)
        if head not in seen:
            seen.add(head)
            kept.append(line)
    return kept


MY_ROWS = 10  # of each list in `my`; a longer one says where the whole list is


@command("my", writes=False)
def show_my(uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    # One more row than shown of each: whether to point at the whole list.
    leads = list_leads(uow, actor, limit=MY_ROWS + 1)
    deals = list_deals(uow, actor, limit=MY_ROWS + 1)
    now = clock.now()
    tasks = my_tasks(uow, actor, limit=MY_ROWS + 1)

    def more(rows: Sequence[object], key: str) -> str | None:
        return t(locale, key, n=MY_ROWS) if len(rows) > MY_ROWS else None

    cards = [
        list_card(locale, t(locale, "my.leads"),
                  [f"{x.ref} · {x.name} · {x.company or '—'} · {x.score}" for x in leads[:MY_ROWS]],
                  hint=more(leads, "my.more_leads")),
        list_card(locale, t(locale, "my.deals"),
                  [f"{d.ref} · {d.name} · {stage_name(uow.config, d.stage, locale)} · {money_or_dash(d.amount, d.currency)}"
                   for d in deals[:MY_ROWS]], hint=more(deals, "my.more_deals")),
        list_card(locale, t(locale, "my.tasks"),
                  task_lines(locale, [task_view(uow, x, now, locale) for x in tasks[:MY_ROWS]]),
                  hint=more(tasks, "my.more_tasks")),
    ]
    late = deals_past_close(uow.session, [actor.id], local_date(uow.config, now))
    if late:  # flagged: an open deal whose expected close date has passed
        cards.append(list_card(locale, t_tasks(locale, "my.deals_past_close"),
                               [overdue_deal_line(locale, d.ref, d.name, d.close_date) for d in late if d.close_date]))
    return Reply(cards=(*cards, *my_sections(uow, actor, locale, clock)))

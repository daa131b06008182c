"""The TOML configuration (INTERFACE.md), loaded into pydantic models and validated at start-up."""
from __future__ import annotations

import difflib
import unicodedata
import tomllib
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crm_core.errors import ConfigError

Role = Literal["rep", "manager", "director", "vp", "admin"]
ROLE_RANK: dict[str, int] = {"rep": 0, "manager": 1, "director": 2, "vp": 3, "admin": 4}
Locale = Literal["zh_CN", "en"]


def label_language(locale: str) -> Locale:
    """Which of the configuration's two label languages a reader's locale reads (zh_CN, zh-TW … → zh_CN; any
    other → en): the one rule for bilingual labels (cards.i18n.base_locale, product names, generated names)."""
    return "zh_CN" if locale.replace("-", "_").lower().startswith("zh") else "en"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zone(name: str, example: str) -> str:
    """An IANA time zone name, or a ValueError that says what to write instead."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "America" is a folder: IsADirectoryError
        raise ValueError(f"unknown timezone {name!r} (use an IANA name such as {example})") from exc
    return name


class Company(_Strict):
    name: str = "chatcrm"
    locale: Locale = "zh_CN"
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _zone(v, "Asia/Shanghai")


class UserConfig(_Strict):
    key: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str
    role: Role = "rep"
    manager: str | None = None
    slack: str | None = None
    wecom: str | None = None
    email: str | None = None
    locale: Locale | None = None
    tags: list[str] = []
    away: bool = False
    primary: Literal["slack", "wecom"] | None = None
    quota: Decimal | None = None
    timezone: str | None = None  # IANA name; reminders and "today" for this person (default: company.timezone)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else _zone(v, "Europe/London")


class LocalName(_Strict):
    zh_CN: str
    en: str


class Product(_Strict):
    sku: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    name: str | LocalName  # one name, or one per language: { zh_CN = "…", en = "Professional" }
    price: Decimal = Field(ge=0)
    aliases: list[str] = []  # other names people type in a quote line (a product's Chinese name, say)

    def names(self) -> list[str]:
        return [self.name] if isinstance(self.name, str) else [self.name.zh_CN, self.name.en]

    def spellings(self) -> list[str]:
        return [self.sku, *self.names(), *self.aliases]

    def name_for(self, locale: str) -> str:
        """The name a reader of `locale` reads (label_language)."""
        return self.name if isinstance(self.name, str) else str(getattr(self.name, label_language(locale)))


class TaskTemplate(_Strict):
    """A task a stage creates: `"Send the proposal"`, or a table with its Chinese title and days to do it:
    `{ title = "Send the proposal", title_zh = "<the title in Chinese>", due_days = 3 }`."""
    title: str = Field(min_length=1, max_length=200)
    title_zh: str | None = Field(default=None, min_length=1, max_length=200)
    due_days: int = 2


class Stage(_Strict):
    key: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    name: LocalName
    probability: int = Field(ge=0, le=100)
    required: list[str] = []
    tasks: list[str | TaskTemplate] = []
    swarm: bool = False
    stale_days: int | None = Field(default=None, ge=1)

    def task_templates(self) -> list[TaskTemplate]:
        return [TaskTemplate(title=t) if isinstance(t, str) else t for t in self.tasks]


class Pipeline(_Strict):
    stages: list[Stage]
    won_requires_amount: bool = True  # `won D-1` is refused until the deal has an amount

    @field_validator("stages")
    @classmethod
    def _at_least_three(cls, v: list[Stage]) -> list[Stage]:
        if len(v) < 3:
            raise ValueError("needs at least one open stage followed by the won and lost stages")
        keys = [s.key for s in v]
        if len(set(keys)) != len(keys):
            raise ValueError("stage keys must be unique")
        return v

    @property
    def open_stages(self) -> list[Stage]:
        return self.stages[:-2]

    @property
    def won(self) -> Stage:
        return self.stages[-2]

    @property
    def lost(self) -> Stage:
        return self.stages[-1]

    def get(self, key: str) -> Stage | None:
        for s in self.stages:
            if s.key == key:
                return s
        return None

    def index(self, key: str) -> int:
        return [s.key for s in self.stages].index(key)


class ApprovalLevel(_Strict):
    above_discount: Decimal = Field(ge=0, le=100)
    role: Role


class Approvals(_Strict):
    levels: list[ApprovalLevel] = []

    @field_validator("levels")
    @classmethod
    def _ascending(cls, v: list[ApprovalLevel]) -> list[ApprovalLevel]:
        thresholds = [lv.above_discount for lv in v]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError("levels must be in strictly ascending order of above_discount")
        return v


class Swarm(_Strict):
    min_amount: Decimal = Decimal("100000")
    invite_tags: list[str] = []
    archive_on_close: bool = True


class AssignmentRule(_Strict):
    match: dict[Literal["region", "industry", "product", "source"], str]
    pool_tag: str


class Assignment(_Strict):
    rules: list[AssignmentRule] = []


class Scoring(_Strict):
    """Lead score = sum of the source weight and the fit weights that match, capped at 100."""

    sources: dict[str, int] = {"referral": 40, "web": 25, "event": 20, "ads": 15, "api": 15, "chat": 10, "import": 10}
    industry: dict[str, int] = {}
    region: dict[str, int] = {}
    product: dict[str, int] = {}
    has_email: int = 10
    has_phone: int = 10
    has_company: int = 10


class LeadSla(_Strict):
    first_response_minutes: int = Field(default=15, gt=0)
    warn_before_minutes: int = Field(default=5, ge=0)
    on_breach: Literal["reassign", "escalate"] = "reassign"


class TicketSla(_Strict):
    respond_minutes: int = Field(gt=0)
    resolve_minutes: int = Field(gt=0)
    warn_before_minutes: int = Field(default=15, ge=0)


def _default_ticket_sla() -> dict[str, TicketSla]:
    return {
        "urgent": TicketSla(respond_minutes=60, resolve_minutes=1440),
        "high": TicketSla(respond_minutes=240, resolve_minutes=2880),
        "normal": TicketSla(respond_minutes=480, resolve_minutes=7200),
        "low": TicketSla(respond_minutes=1440, resolve_minutes=14400),
    }


class Sla(_Strict):
    lead: LeadSla = LeadSla()
    ticket: dict[Literal["urgent", "high", "normal", "low"], TicketSla] = Field(default_factory=_default_ticket_sla)


class Renewals(_Strict):
    remind_days: list[int] = [90, 60, 30]
    default_term_days: int = 365


class Digest(_Strict):
    daily_at: str = "08:30"
    weekly_on: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"

    @field_validator("daily_at")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        try:
            time.fromisoformat(v)
        except ValueError as exc:
            raise ValueError("use HH:MM, for example 08:30") from exc
        return v


class Quotes(_Strict):
    tax_rate: Decimal = Field(default=Decimal("0.13"), ge=0, le=1)
    payment_terms_days: int = Field(default=30, ge=0, le=365)  # an order's invoice is due this many days later


class Health(_Strict):
    usage: int = 40
    nps: int = 20
    tickets: int = 20
    payments: int = 20


class Stale(_Strict):
    no_activity_days: int = Field(default=14, ge=1)


class WorkingTime(_Strict):
    """When the follow-up ladders act: working days (1 = Monday … 7 = Sunday) and quiet hours (company time,
    "HH:MM-HH:MM", may wrap midnight); days without activity are counted in working days."""
    days: list[int] = [1, 2, 3, 4, 5]
    quiet_hours: str | None = "21:00-08:00"

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if not v or any(d not in range(1, 8) for d in v):
            raise ValueError("working days are 1 (Monday) to 7 (Sunday), at least one")
        return sorted(set(v))

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            start, end = v.split("-")
            time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        except ValueError:
            raise ValueError(f"quiet_hours {v!r}: write HH:MM-HH:MM, e.g. 21:00-08:00") from None
        return v


LadderAction = Literal["tell_rep", "tell_manager", "pool"]


class LadderStep(_Strict):
    days: int = Field(ge=1, le=365)
    action: LadderAction


class Ladder(_Strict):
    """Steps for records with no activity: for leads whose `level` / `source` match (empty = any), or, with
    `record = "deal"`, for open deals with no activity in their stage."""
    record: Literal["lead", "deal"] = "lead"
    level: str | None = None
    source: str | None = None
    steps: list[LadderStep]

    @model_validator(mode="after")
    def _ordered(self) -> "Ladder":
        days = [s.days for s in self.steps]
        if not days or days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("ladder steps need strictly increasing days")
        if self.record == "deal" and any(s.action == "pool" for s in self.steps):
            raise ValueError("a deal ladder cannot send a deal to the lead pool (use tell_rep / tell_manager)")
        return self


class Pool(_Strict):
    """The lead pool: leads nobody works, claimable by reps up to `max_open_leads` open leads each."""
    max_open_leads: int = Field(default=50, ge=1)
    reclaim_after_days: int = Field(default=3, ge=0)  # who lost a lead to the pool may claim it again after this
    slack_channel: str | None = None  # channel id (C…): new pool leads are posted there with a Claim button
    wecom_chat: str | None = None  # WeCom app group chat id: new pool leads with the command to type
    # WeCom group chats cannot carry buttons: with wecom_cards, each pool member on WeCom also gets the lead as
    # a template card of their own with a Claim button, updated for all (who took it) once it is taken.
    wecom_cards: bool = False
    members_tag: str | None = None  # the pool members: users with this tag; not set: every rep (role = "rep")
    ladders: list[Ladder] = []
    working: WorkingTime = WorkingTime()


ROUTE_EVENTS = ("deal.won", "lead.new", "lead.pooled", "ticket.sla_breach")
RouteEvent = Literal["deal.won", "lead.new", "lead.pooled", "ticket.sla_breach"]
# Which conditions each event can be filtered on (the others are refused: they would never match).
ROUTE_FILTERS: dict[str, frozenset[str]] = {
    "deal.won": frozenset({"min_amount", "region"}),
    "lead.new": frozenset({"region"}),
    "lead.pooled": frozenset({"region"}),
    "ticket.sla_breach": frozenset({"priority", "region"}),
}
SLACK_CHANNEL_ID = r"^[CG][A-Z0-9]{2,30}$"
WECOM_CHAT_ID = r"^[0-9A-Za-z_-]{1,32}$"


class RouteTemplate(_Strict):
    """The text of a route's post per locale (a sandboxed Jinja2 template; variables in docs/routes.md)."""
    zh_CN: str | None = Field(default=None, min_length=1, max_length=2000)
    en: str | None = Field(default=None, min_length=1, max_length=2000)


class Route(_Strict):
    """`[[routes]]`: an event, optional conditions, where it is posted (a Slack channel and/or a WeCom app group
    chat), in which language, with which text (default: the catalogs' text for the event)."""
    event: RouteEvent
    min_amount: Decimal | None = Field(default=None, ge=0)
    region: str | None = Field(default=None, min_length=1, max_length=100)
    priority: Literal["urgent", "high", "normal", "low"] | None = None
    slack_channel: str | None = Field(default=None, pattern=SLACK_CHANNEL_ID)
    wecom_chat: str | None = Field(default=None, pattern=WECOM_CHAT_ID)
    locale: Locale | None = None  # default: company.locale
    template: RouteTemplate | None = None

    @model_validator(mode="after")
    def _target_and_filters(self) -> "Route":
        if not self.slack_channel and not self.wecom_chat:
            raise ValueError("a route needs slack_channel = \"C…\" and/or wecom_chat = \"<group chat id>\"")
        allowed = ROUTE_FILTERS[self.event]
        for name in ("min_amount", "region", "priority"):
            if getattr(self, name) is not None and name not in allowed:
                raise ValueError(f"{name} does not apply to {self.event} (it takes {', '.join(sorted(allowed))})")
        return self


PICKLIST_NAMES = ("source", "industry", "region", "level", "priority", "lost_reason")
PicklistName = Literal["source", "industry", "region", "level", "priority", "lost_reason"]
FIELD_TYPES = ("text", "number", "date", "choice")
_CHOICE_KEY = r"^[a-z0-9][a-z0-9_-]{0,49}$"


class PicklistChoice(_Strict):
    """One allowed value: stored as `key`, shown as the label of the reader's language, typed as any of them."""

    key: str = Field(pattern=_CHOICE_KEY)
    zh_CN: str = Field(min_length=1, max_length=100)
    en: str = Field(min_length=1, max_length=100)
    aliases: list[str] = []

    def spellings(self) -> list[str]:
        return [self.key, self.zh_CN, self.en, *self.aliases]


def _check_spellings(choices: list[PicklistChoice]) -> None:
    """Every key and alias of a list of choices names one choice (else ValueError listing each clash)."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for i, c in enumerate(choices):
        for spelling in dict.fromkeys(s.strip().lower() for s in c.spellings()):
            if not spelling:
                problems.append(f"choices.{i}: an empty alias")
            elif spelling in seen and seen[spelling] != c.key:
                problems.append(f"choices.{i}: duplicate alias {spelling!r} (also used by {seen[spelling]!r})")
            elif spelling in seen:
                problems.append(f"choices.{i}: duplicate key {spelling!r}")
            seen.setdefault(spelling, c.key)
    if problems:
        raise ValueError("; ".join(problems))


class Picklist(_Strict):
    choices: list[PicklistChoice] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, v: Any) -> Any:
        return {"choices": v} if isinstance(v, list) else v

    @model_validator(mode="after")
    def _unique(self) -> "Picklist":
        _check_spellings(self.choices)
        return self

    def keys(self) -> list[str]:
        return [c.key for c in self.choices]


class FieldDecl(_Strict):
    """A declared custom field of leads or deals (`[[fields.lead]]`, `[[fields.deal]]`)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    name: LocalName
    type: Literal["text", "number", "date", "choice"] = "text"
    choices: list[PicklistChoice] = []
    picklist: PicklistName | None = None
    max_length: int = Field(default=500, ge=1, le=5000)
    aliases: list[str] = []

    @model_validator(mode="after")
    def _choices(self) -> "FieldDecl":
        if self.type == "choice" and not self.choices and not self.picklist:
            raise ValueError("a choice field needs choices = [...] or picklist = \"<name>\"")
        if self.type != "choice" and (self.choices or self.picklist):
            raise ValueError(f"choices / picklist only apply to type = \"choice\" (this field is {self.type})")
        _check_spellings(self.choices)
        return self


class Fields(_Strict):
    lead: list[FieldDecl] = []
    deal: list[FieldDecl] = []


class Config(_Strict):
    picklists: dict[PicklistName, Picklist] = {}
    fields: Fields = Fields()
    company: Company = Company()
    users: list[UserConfig] = []
    products: list[Product] = []
    pipeline: Pipeline
    approvals: Approvals = Approvals()
    swarm: Swarm = Swarm()
    assignment: Assignment = Assignment()
    scoring: Scoring = Scoring()
    sla: Sla = Sla()
    renewals: Renewals = Renewals()
    digest: Digest = Digest()
    quotes: Quotes = Quotes()
    health: Health = Health()
    stale: Stale = Stale()
    pool: Pool = Pool()
    routes: list[Route] = []

    @model_validator(mode="after")
    def _references(self) -> "Config":
        problems = _reference_problems([(u.key, u.manager) for u in self.users], [p.sku for p in self.products])
        problems += _product_problems([p.model_dump(mode="json") for p in self.products])
        problems += self._field_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Built-in names a declared field may not take (they already mean something).
    _BUILTIN_FIELDS: ClassVar[dict[str, frozenset[str]]] = {
        "lead": frozenset("name company email phone source region industry product tags amount owner".split()),
        "deal": frozenset("name amount close close_date account contact owner stage reason".split()),
    }

    def _field_problems(self) -> list[str]:
        problems: list[str] = []
        for kind in ("lead", "deal"):
            decls: list[FieldDecl] = getattr(self.fields, kind)
            seen: dict[str, str] = {}
            for i, d in enumerate(decls):
                path = f"fields.{kind}.{i}"
                if d.key in self._BUILTIN_FIELDS[kind]:
                    problems.append(f"{path}.key: {d.key!r} is a built-in {kind} field; choose another key")
                if d.picklist and d.picklist not in self.picklists:
                    problems.append(f"{path}.picklist: no [picklists.{d.picklist}] in this file")
                for spelling in dict.fromkeys(x.strip().lower() for x in (d.key, d.name.en, d.name.zh_CN, *d.aliases)):
                    if spelling in seen and seen[spelling] != d.key:
                        problems.append(f"{path}: name or alias {spelling!r} is also used by field {seen[spelling]!r}")
                    seen.setdefault(spelling, d.key)
        for i, rule in enumerate(self.assignment.rules):  # a rule on a value nobody can type never matches
            for name, value in rule.match.items():
                pick = self.picklists.get(name)  # type: ignore[call-overload]
                if pick is not None and value.lower() not in pick.keys():
                    problems.append(f"assignment.rules.{i}.match.{name}: {value!r} is not a key of "
                                    f"[picklists.{name}] ({', '.join(pick.keys())})")
        problems += self._pool_problems()
        region = self.picklists.get("region")
        for i, route in enumerate(self.routes):  # a route on a region nobody can type never matches
            if region is not None and route.region is not None and route.region.lower() not in region.keys():
                problems.append(f"routes.{i}.region: {route.region!r} is not a key of [picklists.region] "
                                f"({', '.join(region.keys())})")
        prio = self.picklists.get("priority")
        if prio is not None:
            for i, key in enumerate(prio.keys()):
                if key not in self.sla.ticket:
                    problems.append(f"picklists.priority.choices.{i}.key: {key!r} has no [sla.ticket.{key}] "
                                    "(use urgent, high, normal or low)")
        return problems

    def _pool_problems(self) -> list[str]:
        """members_tag means something only with wecom_cards, and must be a tag some [[users]] carry, one of
        whom can be reached on WeCom (tags come from this file only)."""
        tag = self.pool.members_tag
        if tag is None:
            return []
        if not self.pool.wecom_cards:
            return ["pool.members_tag: only used with pool.wecom_cards = true (add it, or remove members_tag)"]
        tags = sorted({t for u in self.users for t in u.tags})
        if tag not in tags:
            close = difflib.get_close_matches(tag, tags, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            known = ", ".join(tags) or "none"
            return [f"pool.members_tag: no [[users]] has the tag {tag!r} ({hint}tags in use: {known})"]
        if not any(tag in u.tags and u.wecom for u in self.users):
            return [f"pool.members_tag: nobody tagged {tag!r} has a wecom id, so no pool card could be sent "
                    "(add wecom = \"<userid>\" to them)"]
        return []

    def pool_member(self, role: str, tags: list[str] | None) -> bool:
        """Whether someone with this role and these tags is a member of the lead pool (who gets its cards)."""
        if self.pool.members_tag:
            return self.pool.members_tag in (tags or [])
        return role == "rep"

    def picklist(self, name: str) -> Picklist | None:
        return self.picklists.get(name)  # type: ignore[call-overload, no-any-return]

    def product(self, sku: str) -> Product | None:
        """A product by SKU, name or alias (case-insensitive, full-width folded)."""
        wanted = _spelling(sku)
        for p in self.products:
            if p.sku.upper() == sku.upper():
                return p
        for p in self.products:
            if wanted in {_spelling(x) for x in p.spellings()}:
                return p
        return None

    def user(self, key: str) -> UserConfig | None:
        for u in self.users:
            if u.key == key:
                return u
        return None


def _spelling(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def _product_problems(products: list[Any]) -> list[str]:
    """Every SKU, name and alias names one product only (else a quote line could mean two)."""
    problems: list[str] = []
    owner: dict[str, int] = {}
    for i, p in enumerate(products):
        if not isinstance(p, dict):
            continue
        name = p.get("name")
        names = [p.get("sku"), *(name.values() if isinstance(name, dict) else [name])]
        aliases = list(p.get("aliases") or [])
        for j, name in enumerate(names + aliases):
            if not isinstance(name, str):
                continue
            key = _spelling(name)
            if not key:
                problems.append(f"products.{i}.aliases: an alias may not be empty")
            elif j >= len(names) and any(c.isspace() for c in key):
                problems.append(f"products.{i}.aliases.{j - len(names)}: {name!r} may not contain spaces")
            elif key in owner and owner[key] != i:
                problems.append(f"products.{i}: name or alias {name!r} is also products.{owner[key]}; "
                                "each may name one product only")
            owner.setdefault(key, i)
    return problems


def _reference_problems(users: list[tuple[Any, Any]], skus: list[Any]) -> list[str]:
    """Cross-references between users (unique keys, known managers) and unique product skus, as
    "key.path: message". Also run on the raw file when other parts fail validation (parse_config), so one
    run of check-config lists every problem; entries of the wrong type are left to the schema errors."""
    problems: list[str] = []
    first: dict[str, int] = {}
    for i, (key, _) in enumerate(users):
        if isinstance(key, str):
            if key in first:
                problems.append(f"users.{i}.key: user keys must be unique; {key!r} is also users.{first[key]}")
            first.setdefault(key, i)
    for i, (key, manager) in enumerate(users):
        if isinstance(manager, str) and manager:
            if manager not in first:
                close = difflib.get_close_matches(manager, list(first), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"users.{i}.manager: no user with key {manager!r}{hint}")
            elif manager == key:
                problems.append(f"users.{i}.manager: a user cannot manage themself")
    seen: dict[str, int] = {}
    for i, sku in enumerate(skus):
        if isinstance(sku, str):
            if sku.upper() in seen:
                problems.append(f"products.{i}.sku: skus must be unique; {sku!r} is also products.{seen[sku.upper()]}")
            seen.setdefault(sku.upper(), i)
    return problems


def _raw_reference_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    users = data.get("users") if isinstance(data.get("users"), list) else []
    products = data.get("products") if isinstance(data.get("products"), list) else []
    pairs = [(u.get("key"), u.get("manager")) if isinstance(u, dict) else (None, None) for u in users]
    skus = [p.get("sku") if isinstance(p, dict) else None for p in products]
    found = _reference_problems(pairs, skus) + _product_problems(products)
    return [(path, text) for path, _, text in (p.partition(": ") for p in found)]


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if path == "(top level)" and ": " in msg:  # cross-section checks name their own key paths
            for part in msg.split("; "):
                sub, _, text = part.partition(": ")
                out.append((sub, text) if text else (path, part))
            continue
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), _keys_at(err["loc"][:-1]), n=1)
            msg = f"unknown setting (did you mean {close[0]!r}?)" if close else "unknown setting"
        out.append((path, msg))
    return out


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The settings a table of the file may hold, found by walking the models along a key path (list
    indices and dict keys are stepped over), for "did you mean" on an unknown key; [] when lost."""
    model: Any = Config
    keyed = False  # the last field was a list or a dict: the next part is an index or a key
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if keyed or fields is None:
            keyed = False
            continue
        if part not in fields:
            return []
        annotation = fields[part].annotation
        keyed = getattr(annotation, "__origin__", None) in (list, dict)
        model = _model_in(annotation)
    fields = getattr(model, "model_fields", None)
    return list(fields) if fields else []


def _model_in(annotation: Any) -> Any:
    """The pydantic model a field holds, directly or as list[...] / dict[..., ...] / X | None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(getattr(annotation, "__args__", ()) or ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def parse_config(data: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        # The cross-reference check runs only once the schema is valid; run it on the raw file too, so
        # an unknown manager shows up in the same run as a schema error.
        problems += [p for p in _raw_reference_problems(data) if p not in problems]
        raise ConfigError(problems) from exc


def load_config(path: str | Path | None) -> Config:
    """Load a TOML file, or the built-in sample team when path is None."""
    if path is None:
        path = SAMPLE_CONFIG_PATH
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([(str(p), f"cannot read the file: {exc.strerror}")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([(str(p), f"not valid TOML: {exc}")]) from exc
    return parse_config(data)


SAMPLE_CONFIG_PATH = Path(__file__).with_name("sample_config.toml")

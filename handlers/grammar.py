"""The chat command grammar of INTERFACE.md, as a pure parser.

`parse(text)` returns a `Parsed` command or a `UsageError`; it never raises. Free text (a log entry,
a lost reason, a rejection reason) is cut out of the original string, so whatever a person typed —
quotes, emoji, Chinese, `=` signs — reaches the handler unchanged.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cards.i18n import is_chinese, translator
from crm_core.dates import parse_date
from crm_core.discounts import is_discount_word
from crm_core.fields import COMMAND_MAX, control_problem
from crm_core.refs import RecordName, parse_ref
from crm_core.search_text import normalise_typed
from crm_core.signature import looks_like_signature

QUOTES = {'"': '"', "'": "'", "“": "”", "「": "」", "‘": "’", "『": "』"}
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$|^[\u4e00-\u9fff]{1,8}$")
# A product line: SKU, name or alias (专业版), then x / × / * and the quantity: PRO x10, 专业版x2, PRO×10.
_LINE = re.compile(r"^(\S{1,64}?)\s*[x×*XＸｘ＊]\s*(-?\d{1,9})$")
_QTY = re.compile(r"^[x×*XＸｘ＊](-?\d{1,9})$")
_PRODUCT = re.compile(r"^[^\s=＝]{1,64}$")
USAGE = translator("usage")  # the usage lines of each command, keyed by its name
t = translator("grammar")  # what was wrong with a command as typed
_terms = translator("terms")
_errors = translator("errors")

OPTION_ALIASES = {
    "公司": "company", "邮箱": "email", "电话": "phone", "手机": "phone", "来源": "source", "地区": "region",
    "区域": "region", "行业": "industry", "产品": "product", "金额": "amount", "名称": "name", "名字": "name",
    "姓名": "name",
    "成交日期": "close", "预计成交日期": "close", "日期": "close", "原因": "reason", "折扣": "discount", "标签": "tags",
    "优先级": "priority", "级别": "level", "客户级别": "level", "输单原因": "reason", "负责人": "owner",
    "联系人": "contact", "客户": "account", "阶段": "stage", "竞争对手": "competitor", "评分": "score", "使用率": "usage",
    "截止": "due", "截止日期": "due", "到期": "due", "到期日": "due", "新客户": "new_account",
    "新联系人": "new_contact",
}
CHOICE_ALIASES = {"我的": "mine", "团队": "team"}  # a choice as a Chinese reader types it (deal list 团队)


# Option values read as numbers, dates or choices: full-width digits and trailing punctuation normalised
# (`amount＝１００００，`). Names and free text stay as typed.
TYPED_VALUES = frozenset({"amount", "close", "discount", "priority", "usage", "nps", "scope", "level"})
# Options whose value is one word; the words after any other option, once the command's own words have begun,
# continue its value (`deal set D-7 contact=Mallory Brown`, `lost D-7 reason=price too high`): a name of
# several words is not split between the option and the command's name argument. Dates join by _join_dates.
ONE_WORD_OPTIONS = TYPED_VALUES | {"due", "owner", "stage", "email", "score", "new_account", "new_contact"}


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    quoted: bool = False


def tokenize(text: str) -> list[Token]:
    """Split on whitespace; "…", '…', “…” and 「…」 group words. An unmatched quote is literal."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start, buf, quoted = i, [], False
        while i < n and not text[i].isspace():
            c = text[i]
            if c in QUOTES and (i == start or text[i - 1] in "=＝"):
                j = text.find(QUOTES[c], i + 1)
                if j != -1:
                    buf.append(text[i + 1:j])
                    i = j + 1
                    quoted = True
                    continue
            buf.append(c)
            i += 1
        tokens.append(Token("".join(buf), start, i, quoted))
    return tokens


@dataclass(frozen=True)
class Arg:
    name: str
    kind: str  # ref:deal,lead | word | choice:a,b | rest | text | block | lines | number
    # rest: the remaining words as a name (an unknown key=value there is an error, never part of the name);
    # text: free text (a log entry, a reason): key=value stays in the text as typed.
    # block: free text with its line breaks (a pasted signature): the rest of the message exactly as sent.
    optional: bool = False


@dataclass(frozen=True)
class Spec:
    name: str
    words: tuple[str, ...]
    aliases: tuple[tuple[str, ...], ...]
    args: tuple[Arg, ...]
    options: frozenset[str]
    required_options: frozenset[str] = frozenset()
    inline_usage: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # (en, zh): see _spec

    def usage(self, locale: str) -> tuple[str, ...]:
        """What to type, in the reader's language: the catalog's area "usage", one line per line, by command."""
        text = USAGE.lookup(locale, self.name)
        if text is not None:
            return tuple(text.split("\n"))
        return self.inline_usage[1 if is_chinese(locale) and self.inline_usage[1] else 0]

    def title(self, locale: str) -> str:
        """The command as the reader types it: 「商机 设置」 for a Chinese reader, 「deal set」 otherwise."""
        return " ".join(self.aliases[0] if is_chinese(locale) and self.aliases else self.words)


def _spec(name: str, aliases: list[str], args: list[Arg], options: str, usage_en: list[str] | None = None,
          usage_zh: list[str] | None = None, required: str = "", words: str | None = None) -> Spec:
    """`words` (default: the name) is what people type; specs sharing words are tried in order. The usage
    lines live in the catalogs (area "usage", keyed by the name); `usage_en`/`usage_zh` are only read for a
    command whose lines are not in the catalogs yet."""
    return Spec(name=name, words=tuple((words or name).split()), aliases=tuple(tuple(a.split()) for a in aliases),
                args=tuple(args), options=frozenset(options.split()), required_options=frozenset(required.split()),
                inline_usage=(tuple(usage_en or ()), tuple(usage_zh or ())))


LEAD_OPTS = "company email phone source region industry product tags +"  # +: declared [[fields.lead]], checked by the service
SPECS: tuple[Spec, ...] = (
    _spec("help", ["帮助"], [Arg("topic", "rest", True)], ""),
    _spec("lead add", ["线索 新建", "线索 添加"], [Arg("name", "rest")], LEAD_OPTS),
    _spec("lead paste", ["线索 粘贴"], [Arg("text", "block")], ""),
    _spec("lead list", ["线索 列表"], [Arg("filters", "rest", True)], "owner"),
    _spec("lead convert", ["线索 转化"], [Arg("lead", "ref:lead")], "amount account new_account"),
    _spec("lead merge", ["线索 合并"], [Arg("lead", "ref:lead"), Arg("keep", "ref:lead")], ""),
    _spec("lead split", ["线索 拆分"], [Arg("lead", "ref:lead")], ""),
    _spec("undo", ["撤销"], [], ""),
    _spec("lead", ["线索"], [Arg("lead", "ref:lead")], ""),
    _spec("deal new", ["商机 新建"], [Arg("account", "rest")], "amount name close contact new_account new_contact",
          required="amount"),
    _spec("deal list", ["商机 列表"], [Arg("filters", "rest", True)], "stage owner"),
    _spec("deal set", ["商机 设置", "商机 set"], [Arg("deal", "ref:deal")], "*"),
    _spec("deal", ["商机"], [Arg("deal", "ref:deal")], ""),
    _spec("account", ["客户"], [Arg("name", "rest")], ""),
    _spec("contact", ["联系人"], [Arg("name", "rest")], ""),
    _spec("advance", ["推进"], [Arg("deal", "ref:deal"), Arg("stage", "word", True),
                                Arg("confirm", "choice:confirm,确认", True)], ""),
    _spec("won", ["赢单"], [Arg("deal", "ref:deal")], ""),
    _spec("lost", ["输单"], [Arg("deal", "ref:deal"), Arg("reason", "text", True)], "reason"),
    _spec("log", ["记录"], [Arg("record", "ref:deal,lead,ticket"), Arg("kind", "word"), Arg("text", "text")], ""),
    _spec("quote", ["报价"], [Arg("deal", "ref:deal"), Arg("lines", "lines")], "discount"),
    _spec("quote show", ["报价"], [Arg("quote", "ref:quote")], "", words="quote"),
    _spec("approve", ["批准", "同意"], [Arg("approval", "ref:approval"), Arg("comment", "text", True)], ""),
    _spec("reject", ["驳回", "拒绝"], [Arg("approval", "ref:approval"), Arg("reason", "text")], ""),
    _spec("order", ["订单"], [Arg("quote", "ref:quote")], ""),
    _spec("ticket new", ["工单 新建"], [Arg("account", "word"), Arg("priority", "word"), Arg("subject", "text")],
          "priority new_account"),
    _spec("ticket ack", ["工单 响应", "工单 受理"], [Arg("ticket", "ref:ticket")], ""),
    _spec("ticket close", ["工单 关闭"], [Arg("ticket", "ref:ticket")], ""),
    _spec("ticket list", ["工单 列表"], [Arg("filters", "rest", True)], "owner"),
    _spec("ticket", ["工单"], [Arg("ticket", "ref:ticket")], ""),
    _spec("swarm", ["协作群"], [Arg("record", "ref:deal,ticket")], ""),
    _spec("renewals", ["续费"], [Arg("days", "number", True)], ""),
    _spec("contract set", ["合同 设置", "合同 set"], [Arg("contract", "ref:contract")], "usage nps"),
    _spec("contract renew", ["合同 续约"], [Arg("contract", "ref:contract")], ""),
    _spec("contract", ["合同"], [Arg("contract", "ref:contract")], ""),
    _spec("pipeline chart", ["漏斗图", "漏斗 图"], [], ""),
    _spec("pipeline", ["漏斗", "forecast", "预测", "业绩预测"], [], ""),  # the forecast is part of the pipeline card
    _spec("my", ["我的"], [], ""),
    _spec("pool", ["公海"], [], "region industry source score"),
    _spec("claim", ["领取"], [Arg("lead", "ref:lead")], ""),
    _spec("release", ["退回"], [Arg("lead", "ref:lead"), Arg("reason", "text")], ""),
    _spec("check", ["查重"], [Arg("query", "rest")], ""),
    _spec("search", ["搜索", "查找"], [Arg("words", "text")], ""),
    _spec("task done", ["任务 完成"], [Arg("task", "id")], ""),
    _spec("task reopen", ["任务 重开", "任务 重新打开"], [Arg("task", "id")], ""),
    _spec("task new", ["任务 新建", "任务 添加"], [Arg("text", "text")], "due owner"),
    _spec("tasks", ["任务", "任务 列表", "task list", "我的任务"], [], ""),
    _spec("remind", ["提醒"], [Arg("text", "text")], ""),
    _spec("workspace list", ["工作区 列表"], [], ""),
    _spec("workspace approve", ["工作区 批准"], [Arg("workspace", "word")], ""),
    _spec("workspace refuse", ["工作区 拒绝"], [Arg("workspace", "word")], ""),
    _spec("lead assign", ["线索 分配"], [Arg("lead", "ref:lead"), Arg("owner", "rest")], ""),
    _spec("transfer", ["交接"], [Arg("from", "word"), Arg("to", "word")], ""),
    _spec("notify list", ["通知 列表"], [], ""),
    _spec("notify off", ["通知 关闭", "通知 删除"], [Arg("route", "id")], ""),
    _spec("notify", ["通知"], [Arg("rule", "text", True)], ""),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}


@dataclass(frozen=True)
class Parsed:
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    # Where each argument (by its name) and option (as "key=") was typed: its tokens' (start, end) in the text,
    # so an answer can offer the same command again with another value in its place (handlers.names).
    spans: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class UsageError:
    """What was wrong with a command as typed: a message of the catalog's area "grammar" and its data."""
    command: str | None  # nearest command, for its usage lines
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    suggestions: tuple[str, ...] = ()

    def problem(self, locale: str) -> str:
        params = dict(self.params)
        if "choices" in params:  # as the reader types them: 我的、团队
            params["choices"] = tuple(dict.fromkeys(t.lookup(locale, f"choice.{c}") or c for c in params["choices"]))
        for listed in ("allowed", "near"):  # options as the reader types them: 金额（amount） in Chinese
            if listed in params:
                params[listed] = option_names(locale, params[listed])
        params = {k: t(locale, "sep").join(v) if isinstance(v, tuple) else v for k, v in params.items()}
        if "arg" in params:  # an argument's name, e.g. 商机编号
            params["arg"] = t.lookup(locale, f"arg.{params['arg']}") or params["arg"]
        if "option" in params:  # an option's name as the reader types it, e.g. 金额
            params["option"] = t.lookup(locale, f"opt.{params['option']}") or params["option"]
        if "near" in params:
            params["hint"] = t(locale, "did_you_mean", near=params.pop("near")) if params["near"] else ""
        return t(locale, self.key, **params)

    @property
    def problem_en(self) -> str:
        return self.problem("en")

    @property
    def problem_zh(self) -> str:
        return self.problem("zh_CN")

    def usage(self, locale: str) -> tuple[str, ...]:
        if self.command and self.command in SPEC_BY_NAME:
            return SPEC_BY_NAME[self.command].usage(locale)
        wanted = {w.lower() for w in self.suggestions}  # first words (`deal`), or whole commands (`ticket list`)
        near = [s.usage(locale)[0] for s in SPECS
                if {s.words[0], *(a[0] for a in s.aliases), " ".join(s.words), *(" ".join(a) for a in s.aliases)}
                & wanted]
        return tuple(near) or tuple(dict.fromkeys(s.usage(locale)[0].split()[0] for s in SPECS))


def option_names(locale: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    """Options as a reader may type them: the keys in English; in Chinese each label with its key beside it,
    金额（amount） (both are taken: OPTION_ALIASES)."""
    if not is_chinese(locale):
        return keys
    out = []
    for key in keys:
        label = t.lookup(locale, f"opt.{key}") or _terms.lookup(locale, f"field.{key}")
        out.append(_errors(locale, "field.known", key=key, label=label) if label and label != key else key)
    return tuple(out)


def typed_option(locale: str, key: str) -> str:
    """An option as a reader of `locale` would type it: its Chinese label where the grammar reads that label
    as this option (公司=), else its key (company=)."""
    if is_chinese(locale):
        label = t.lookup(locale, f"opt.{key}") or _terms.lookup(locale, f"field.{key}")
        if label and OPTION_ALIASES.get(label) == key:
            return label
    return key


def _phrases_by_first_word(specs: tuple[Spec, ...]) -> dict[str, tuple[tuple[Spec, tuple[str, ...]], ...]]:
    """Each spec's words and aliases, lowered once, by their first word, in SPECS order."""
    index: dict[str, list[tuple[Spec, tuple[str, ...]]]] = {}
    for spec in specs:
        for words in (spec.words, *spec.aliases):
            lowered = tuple(w.lower() for w in words)
            index.setdefault(lowered[0], []).append((spec, lowered))
    return {first: tuple(phrases) for first, phrases in index.items()}


_PHRASES = _phrases_by_first_word(SPECS)


def _match(tokens: list[Token]) -> tuple[list[Spec], int] | None:
    """The specs whose words match the longest prefix (several when they share words), in SPECS order."""
    lowered = [normalise_typed(tok.text).lower() for tok in tokens]  # ｄｅａｌ, 商机， match too
    best: tuple[list[Spec], int] | None = None
    for spec, words in _PHRASES.get(lowered[0], ()):
        k = len(words)
        if tuple(lowered[:k]) != words:
            continue
        if best is None or k > best[1]:
            best = ([spec], k)
        elif k == best[1] and spec not in best[0]:
            best[0].append(spec)
    return best


def _suggest(word: str) -> tuple[str, ...]:
    vocab = sorted({w for s in SPECS for w in (s.words[0], *(a[0] for a in s.aliases))})
    return tuple(difflib.get_close_matches(word.lower(), vocab, n=3, cutoff=0.5))


def help_specs(topic: str) -> list[Spec] | UsageError:
    """The commands `help <topic>` tells of: those a one-word topic starts (`help ticket`: every ticket
    command), or the one command a topic of several words names (`help ticket list`, `帮助 工单 列表`). A topic
    that is neither is a usage error, with the topics it is nearest to."""
    tokens = tokenize(topic)
    if len(tokens) == 1:
        word = normalise_typed(tokens[0].text).lower()
        specs = [spec for spec, _ in _PHRASES.get(word, ())]
    else:
        matched = _match(tokens) if tokens else None
        specs = matched[0] if matched is not None and matched[1] == len(tokens) else []
    if specs:
        return list(dict.fromkeys(specs))
    typed = " ".join(tok.text for tok in tokens)[:40]
    if len(tokens) == 1:  # a misspelt first word, as for an unknown command
        return UsageError(None, "unknown_topic", {"word": typed}, _suggest(typed))
    phrases = sorted({" ".join(words) for phrases in _PHRASES.values() for _, words in phrases} | set(_PHRASES))
    near = difflib.get_close_matches(" ".join(normalise_typed(typed).lower().split()), phrases, n=3, cutoff=0.5)
    return UsageError(None, "unknown_topic", {"word": typed}, tuple(near))


def parse(text: str) -> Parsed | UsageError:
    text = (text or "").strip()
    if len(text) > COMMAND_MAX:  # before any parsing: a 10 MB paste costs nothing
        return UsageError(None, "too_long", {"length": len(text), "max": COMMAND_MAX})
    bad = control_problem(text, multiline=True)
    if bad:
        return UsageError(None, "control", {"char": bad})
    if text.startswith("/crm"):
        text = text[4:].strip()
    tokens = tokenize(text)
    if not tokens:
        return Parsed("help")
    matched = _match(tokens)
    if matched is None:
        word = tokens[0].text[:40]
        return UsageError(None, "unknown_command", {"word": word}, _suggest(word))
    specs, used = matched
    if specs[0].name == "lead add" and _is_pasted_signature(text, tokens[used:]):
        specs = [SPEC_BY_NAME["lead paste"]]  # a signature typed after `lead add` is read, not taken as a name
    first: Parsed | UsageError | None = None
    for spec in specs:  # e.g. `quote D-7 PRO x10` creates, `quote Q-3` shows: the first that binds wins
        result = _bind(spec, text, tokens[used:])
        if isinstance(result, Parsed):
            return result
        first = first or result
    assert first is not None
    return first


def _is_pasted_signature(text: str, tokens: list[Token]) -> bool:
    if not tokens or any(_option(tok, text) for tok in tokens):
        return False
    return looks_like_signature(text[tokens[0].start:])


def _option(tok: Token, text: str) -> tuple[str, str] | None:
    raw = tok.text
    if tok.quoted and text[tok.start] in QUOTES:  # "a=b" in quotes is a word, not an option
        return None
    for sep in ("=", "＝"):
        if sep in raw and not raw.startswith(sep):
            key, value = raw.split(sep, 1)
            if _KEY.match(key):
                name = OPTION_ALIASES.get(key, key.lower())
                return name, (normalise_typed(value) if name in TYPED_VALUES and not tok.quoted else value)
    return None


def _bind(spec: Spec, text: str, tokens: list[Token]) -> Parsed | UsageError:
    options: dict[str, str] = {}
    rest_tokens: list[Token] = []
    if spec.args and spec.args[0].kind == "block":  # the whole rest, options and line breaks included
        block = text[tokens[0].start:].strip() if tokens else ""
        if not block:
            return _err(spec, "missing", arg=spec.args[0].name)
        return Parsed(spec.name, {spec.args[0].name: block}, {})
    spans: dict[str, tuple[tuple[int, int], ...]] = {}  # an argument's by its name, an option's as "key="
    free_text = any(a.kind == "text" for a in spec.args)
    open_options = bool({"*", "+"} & spec.options)  # the service checks the keys against the configuration
    tokens = _join_dates(tokens, text)
    joining: str | None = None  # the option whose value the plain words that follow it continue
    for tok in tokens:
        opt = _option(tok, text)
        if opt is None and "discount" in spec.options and is_discount_word(tok.text):  # quote D-2 PRO x10 打8折
            opt = ("discount", tok.text)
        if opt and (open_options or opt[0] in spec.options):
            if opt[0] in options:
                return _err(spec, "twice", option=opt[0])
            options[opt[0]] = opt[1]
            spans[f"{opt[0]}="] = ((tok.start, tok.end),)
            # `lead add Zhang San company=Acme Corp`: "Corp" is the company's, not the name's
            joining = opt[0] if rest_tokens and opt[0] not in ONE_WORD_OPTIONS and not tok.quoted else None
        elif opt and not free_text:
            return _unknown_option(spec, opt[0], typed=split_option(tok.text)[0])
        elif joining is not None and not tok.quoted and not opt:
            start = spans[f"{joining}="][0][0]
            options[joining] += text[spans[f"{joining}="][0][1]:tok.end]
            spans[f"{joining}="] = ((start, tok.end),)
        else:
            joining = None
            rest_tokens.append(tok)
    args: dict[str, Any] = {}
    queue = list(rest_tokens)
    for arg in spec.args:
        if arg.kind not in ("rest", "text") and arg.name in options:  # e.g. ticket new Acme VPN down 优先级=紧急
            args[arg.name] = options.pop(arg.name)
            continue
        if arg.kind in ("rest", "text"):
            value = _raw_rest(text, queue)
            spans[arg.name] = tuple((tok.start, tok.end) for tok in queue)
            queue = []
            if not value and not arg.optional:
                return _err(spec, "missing", arg=arg.name)
            args[arg.name] = value or None
            continue
        if arg.kind == "lines":
            lines, problem = _lines(queue)
            queue = []
            if problem:
                return _err(spec, problem[0], **problem[1])
            args[arg.name] = lines
            continue
        if not queue:
            if arg.optional:
                args[arg.name] = None
                continue
            return _err(spec, "missing", arg=arg.name)
        if arg.kind.startswith("ref:") and arg is spec.args[-1] and len(queue) > 1 \
                and _any_ref(queue[0]) is None:  # `deal Acme Corp`: the rest of the words is the name
            args[arg.name] = _name(arg, text, queue)
            queue = []
            continue
        tok = queue.pop(0)
        if arg.kind.startswith("ref:"):
            value, problem = _ref_arg(arg, text, tok)
            if problem:
                return _err(spec, problem[0], **problem[1])
            args[arg.name] = value
            continue
        value, problem = _convert(arg, tok.text if tok.quoted else normalise_typed(tok.text))
        if problem:
            return _err(spec, problem[0], **problem[1])
        args[arg.name] = value
        spans[arg.name] = ((tok.start, tok.end),)
    if queue:
        extra = " ".join(t.text for t in queue)[:60]
        return _err(spec, "unexpected", extra=extra)
    for req in spec.required_options:
        if req not in options:
            return _err(spec, "missing_option", option=req)
    return Parsed(spec.name, args, options, spans)


_DATE_OPTIONS = ("close", "due", "成交日期", "日期", "截止", "截止日期", "到期", "到期日")
_ANY_DAY = date(2000, 1, 3)  # only whether the words are a date matters here; the handler reads them


def split_option(raw: str) -> tuple[str, str, str]:
    """`key=value` (or full-width `key＝value`, "=" first, as `_option` reads it) as (key, sep, value)."""
    return raw.partition("=") if "=" in raw else raw.partition("＝")


def _join_dates(tokens: list[Token], text: str) -> list[Token]:
    """`close=next friday`, `due=end of month`: the words after a date option that continue its date
    join it (as if quoted), so people need no quotes around a date of several words."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        key, sep, value = split_option(tok.text)
        j = i + 1
        if sep and not tok.quoted and key.lower() in _DATE_OPTIONS:
            for k in range(min(len(tokens), i + 4), i + 1, -1):  # the longest run that still reads as a date
                words = " ".join([value, *(x.text for x in tokens[i + 1:k])])
                if parse_date(words, _ANY_DAY) is not None:
                    tok = Token(text[tok.start:tokens[k - 1].end], tok.start, tokens[k - 1].end, tok.quoted)
                    j = k
                    break
        out.append(tok)
        i = j
    return out


def _unknown_option(spec: Spec, key: str, *, typed: str | None = None) -> UsageError:
    """`key`: the option's name as read (阶段 → stage), `typed`: as the person typed it, which the answer quotes."""
    allowed = sorted(spec.options - {"*", "+"})
    shown_key = (typed or key)[:40]
    if not allowed:
        return _err(spec, "no_options", key=shown_key, command=spec.name)
    near = difflib.get_close_matches(key.lower(), allowed, n=3, cutoff=0.5)
    if typed:  # a slip in a Chinese name (金顿=) is near that option, as a slip in its key is
        labels = {label: name for label, name in OPTION_ALIASES.items() if name in allowed}
        near += [labels[x] for x in difflib.get_close_matches(typed, list(labels), n=3, cutoff=0.5)]
    return _err(spec, "unknown_option", key=shown_key, near=tuple(dict.fromkeys(near))[:3], allowed=tuple(allowed))


def _raw_rest(text: str, queue: list[Token]) -> str:
    if not queue:
        return ""
    if len(queue) == 1 and queue[0].quoted:
        return queue[0].text
    # Keep the person's own words: slice the original text, skipping options that were taken out.
    pieces, pos = [], queue[0].start
    for tok in queue:
        if tok.start > pos:
            pieces.append(" ")
        pieces.append(text[tok.start:tok.end])
        pos = tok.end
    joined = "".join(pieces)
    contiguous = text[queue[0].start:queue[-1].end]
    return contiguous if contiguous.split() == joined.split() else joined


Problem = tuple[str, dict[str, Any]]  # a "grammar" message key and its data


def _ref_of(arg: Arg, tok: Token) -> Any:
    return None if tok.quoted else parse_ref(normalise_typed(tok.text).replace(" ", ""), *_kinds(arg))


def _any_ref(tok: Token) -> Any:
    return None if tok.quoted else parse_ref(normalise_typed(tok.text).replace(" ", ""))


def _kinds(arg: Arg) -> tuple[str, ...]:
    return tuple(arg.kind.partition(":")[2].split(","))


def _name(arg: Arg, text: str, queue: list[Token]) -> RecordName:
    """Words where a reference goes: a name the runner resolves (handlers.names) before the use case runs."""
    typed = _raw_rest(text, queue)
    return RecordName(typed if queue[0].quoted and len(queue) == 1 else normalise_typed(typed), _kinds(arg), text,
                      queue[0].start, queue[-1].end)


def _ref_arg(arg: Arg, text: str, tok: Token) -> tuple[Any, Problem | None]:
    """D-7 (any case, full-width, with trailing punctuation) is a Ref; a reference of another kind is an error;
    anything else is a RecordName."""
    ref = _ref_of(arg, tok)
    if ref is not None:
        return ref, None
    plain = normalise_typed(tok.text)
    if tok.quoted and tok.text.strip() or (plain and parse_ref(plain.replace(" ", "")) is None
                                           and not plain.isdecimal()):
        return _name(arg, text, [tok]), None
    return _convert(arg, plain or tok.text)


def _convert(arg: Arg, raw: str) -> tuple[Any, Problem | None]:
    kind, _, param = arg.kind.partition(":")
    if kind == "ref":
        kinds = param.split(",")
        ref = parse_ref(raw, *kinds)
        if ref is None:
            example = {"deal": "D-7", "lead": "L-12", "ticket": "T-9", "approval": "A-5", "quote": "Q-3",
                       "contract": "C-4"}.get(kinds[0], "D-7")
            return None, ("not_a_ref", {"raw": raw[:40], "kinds": "/".join(kinds), "example": example})
        return ref, None
    if kind == "choice":
        choices = param.split(",")
        value = CHOICE_ALIASES.get(raw, raw.lower())
        if value not in choices:
            return None, ("not_a_choice", {"raw": raw[:40], "choices": tuple(choices)})
        return value, None
    if kind == "id":
        digits = raw.lstrip("#")
        if not digits.isdecimal() or len(digits) > 9:
            return None, ("not_a_route_number" if arg.name == "route" else "not_a_task_number", {"raw": raw[:40]})
        return int(digits), None
    if kind == "number":
        if not raw.isdecimal() or len(raw) > 5:
            return None, ("not_days", {"raw": raw[:40]})
        return int(raw), None
    return raw, None


def _lines(queue: list[Token]) -> tuple[list[tuple[str, int]], Problem | None]:
    lines: list[tuple[str, int]] = []
    i = 0
    while i < len(queue):
        raw = normalise_typed(queue[i].text)
        m = _LINE.match(raw)
        if m:
            sku, qty = m.group(1), int(m.group(2))
            i += 1
        elif i + 1 < len(queue) and _QTY.match(normalise_typed(queue[i + 1].text)) and _PRODUCT.match(raw):
            sku, qty = raw, int(_QTY.match(normalise_typed(queue[i + 1].text)).group(1))  # type: ignore[union-attr]
            i += 2
        else:
            return [], ("not_a_line", {"raw": raw[:40]})
        if qty <= 0:
            return [], ("quantity", {"sku": sku})
        lines.append((sku.upper(), qty))
    if not lines:
        return [], ("no_lines", {})
    return lines, None


def _err(spec: Spec, key: str, zh: str | None = None, /, **params: Any) -> UsageError:
    """A "grammar" message. (`_err(spec, english, chinese)`, two literal sentences, is read as well, for code
    written before the catalogs: its text shows as given.)"""
    if zh is not None:
        return UsageError(spec.name, "literal", {"en": key, "zh": zh})
    return UsageError(spec.name, key, params)

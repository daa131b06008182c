"""The chat command grammar of INTERFACE.md, as a pure parser.

`parse(text)` returns a `Parsed` command or a `UsageError`; it never raises. Free text (a log entry,
a lost reason, a rejection reason) is cut out of the original string, so whatever a person typed —
quotes, emoji, Chinese, `=` signs — reaches the handler unchanged.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from crm_core.fields import COMMAND_MAX, control_problem
from crm_core.refs import RecordName, parse_ref
from crm_core.search_text import normalise_typed
from crm_core.signature import looks_like_signature

QUOTES = {'"': '"', "'": "'", "“": "”", "「": "」", "‘": "’", "『": "』"}
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$|^[\u4e00-\u9fff]{1,8}$")
_LINE = re.compile(r"^([A-Za-z0-9_-]{1,32})\s*[x×*X]\s*(-?\d{1,9})$")
_QTY = re.compile(r"^[x×*X](-?\d{1,9})$")

OPTION_ALIASES = {
    "公司": "company", "邮箱": "email", "电话": "phone", "手机": "phone", "来源": "source", "地区": "region",
    "区域": "region", "行业": "industry", "产品": "product", "金额": "amount", "名称": "name", "名字": "name",
    "成交日期": "close", "日期": "close", "原因": "reason", "折扣": "discount", "标签": "tags",
    "优先级": "priority", "级别": "level", "客户级别": "level", "输单原因": "reason", "负责人": "owner",
    "联系人": "contact", "客户": "account", "竞争对手": "competitor",
}


# Option values read as numbers, dates or choices: full-width digits and trailing punctuation normalised
# (`amount＝１００００，`). Names and free text stay as typed.
TYPED_VALUES = frozenset({"amount", "close", "discount", "priority", "usage", "nps", "scope", "level"})


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
    usage_en: tuple[str, ...]
    usage_zh: tuple[str, ...]
    required_options: frozenset[str] = frozenset()

    def usage(self, locale: str) -> tuple[str, ...]:
        return self.usage_zh if locale == "zh_CN" else self.usage_en


def _spec(name: str, aliases: list[str], args: list[Arg], options: str, usage_en: list[str],
          usage_zh: list[str], required: str = "", words: str | None = None) -> Spec:
    """`words` (default: the name) is what people type; specs sharing words are tried in order."""
    return Spec(name=name, words=tuple((words or name).split()), aliases=tuple(tuple(a.split()) for a in aliases),
                args=tuple(args), options=frozenset(options.split()), usage_en=tuple(usage_en),
                usage_zh=tuple(usage_zh), required_options=frozenset(required.split()))


LEAD_OPTS = "company email phone source region industry product tags +"  # +: declared [[fields.lead]], checked by the service
SPECS: tuple[Spec, ...] = (
    _spec("help", ["帮助"], [Arg("topic", "word", True)], "", ["help [topic]"], ["帮助 [主题]"]),
    _spec("lead add", ["线索 新建", "线索 添加"], [Arg("name", "rest")], LEAD_OPTS,
          ["lead add <name> [company= email= phone= source= region= industry= product=]"],
          ["线索 新建 <姓名> [company= email= phone= source= region= industry= product=]"]),
    _spec("lead paste", ["线索 粘贴"], [Arg("text", "block")], "",
          ["lead paste <signature or business card text, one or more lines>"],
          ["线索 粘贴 <签名或名片文字，可多行>"]),
    _spec("lead list", ["线索 列表"], [], "", ["lead list"], ["线索 列表"]),
    _spec("lead convert", ["线索 转化"], [Arg("lead", "ref:lead")], "amount",
          ["lead convert <L-id> [amount=]"], ["线索 转化 <L-编号> [amount=]"]),
    _spec("lead merge", ["线索 合并"], [Arg("lead", "ref:lead"), Arg("keep", "ref:lead")], "",
          ["lead merge <L-id> <L-id>  (merges the first into the second, which is kept)"],
          ["线索 合并 <L-编号> <L-编号>（把第一条合并进第二条，保留第二条）"]),
    _spec("lead split", ["线索 拆分"], [Arg("lead", "ref:lead")], "", ["lead split <L-id>  (within 30 days of the merge)"],
          ["线索 拆分 <L-编号>（合并后 30 天内）"]),
    _spec("undo", ["撤销"], [], "", ["undo  (takes back your most recent lead merge)"], ["撤销（撤回你最近一次线索合并）"]),
    _spec("lead", ["线索"], [Arg("lead", "ref:lead")], "", ["lead <L-id>", "lead list", "lead add <name> …",
          "lead convert <L-id> [amount=]"], ["线索 <L-编号>", "线索 列表", "线索 新建 <姓名> …", "线索 转化 <L-编号> [amount=]"]),
    _spec("deal new", ["商机 新建"], [Arg("account", "rest")], "amount name close", 
          ["deal new <account> amount=<n> [name= close=YYYY-MM-DD]"],
          ["商机 新建 <客户> amount=<金额> [name= close=YYYY-MM-DD]"], required="amount"),
    _spec("deal list", ["商机 列表"], [Arg("scope", "choice:mine,team", True)], "",
          ["deal list [mine|team]"], ["商机 列表 [mine|team]"]),
    _spec("deal set", ["商机 设置", "商机 set"], [Arg("deal", "ref:deal")], "*",
          ["deal set <D-id> key=value …"], ["商机 设置 <D-编号> 字段=值 …"]),
    _spec("deal", ["商机"], [Arg("deal", "ref:deal")], "",
          ["deal <D-id>", "deal list [mine|team]", "deal new <account> amount=<n>", "deal set <D-id> key=value …"],
          ["商机 <D-编号>", "商机 列表 [mine|team]", "商机 新建 <客户> amount=<金额>", "商机 设置 <D-编号> 字段=值 …"]),
    _spec("advance", ["推进"], [Arg("deal", "ref:deal"), Arg("stage", "word", True),
                                Arg("confirm", "choice:confirm,确认", True)], "",
          ["advance <D-id> [stage] [confirm]  (confirm: moving back to an earlier stage)"],
          ["推进 <D-编号> [阶段] [确认]（退回更早的阶段时需要 确认）"]),
    _spec("won", ["赢单"], [Arg("deal", "ref:deal")], "", ["won <D-id>"], ["赢单 <D-编号>"]),
    _spec("lost", ["输单"], [Arg("deal", "ref:deal"), Arg("reason", "text", True)], "reason",
          ["lost <D-id> reason=<text>"], ["输单 <D-编号> reason=<原因>"]),
    _spec("log", ["记录"], [Arg("record", "ref:deal,lead,ticket"), Arg("kind", "word"), Arg("text", "text")], "",
          ["log <D-id|L-id|T-id> <call|meeting|email|note> <text>"],
          ["记录 <D-/L-/T-编号> <call|meeting|email|note> <内容>"]),
    _spec("quote", ["报价"], [Arg("deal", "ref:deal"), Arg("lines", "lines")], "discount",
          ["quote <D-id> <sku>x<qty>… [discount=<pct>]", "e.g. quote D-7 PRO x10 STD x5 discount=15",
           "quote <Q-id>  (show a quote version and its document)"],
          ["报价 <D-编号> <产品>x<数量>… [discount=<百分比>]", "例如：报价 D-7 PRO x10 STD x5 discount=15",
           "报价 <Q-编号>（查看某一版报价及报价单）"]),
    _spec("quote show", ["报价"], [Arg("quote", "ref:quote")], "", ["quote <Q-id>"], ["报价 <Q-编号>"],
          words="quote"),
    _spec("approve", ["批准", "同意"], [Arg("approval", "ref:approval"), Arg("comment", "text", True)], "",
          ["approve <A-id> [comment]"], ["批准 <A-编号> [备注]"]),
    _spec("reject", ["驳回", "拒绝"], [Arg("approval", "ref:approval"), Arg("reason", "text")], "",
          ["reject <A-id> <reason>"], ["驳回 <A-编号> <原因>"]),
    _spec("order", ["订单"], [Arg("quote", "ref:quote")], "", ["order <Q-id>"], ["订单 <Q-编号>"]),
    _spec("ticket new", ["工单 新建"], [Arg("account", "word"), Arg("priority", "word"),
          Arg("subject", "text")], "priority", ["ticket new <account> <urgent|high|normal|low> <subject>",
                                                "ticket new <account> <subject> priority=<urgent|high|normal|low>"],
          ["工单 新建 <客户> <紧急|高|普通|低> <主题>", "工单 新建 <客户> <主题> 优先级=<紧急|高|普通|低>"]),
    _spec("ticket ack", ["工单 响应", "工单 受理"], [Arg("ticket", "ref:ticket")], "", ["ticket ack <T-id>"],
          ["工单 响应 <T-编号>"]),
    _spec("ticket close", ["工单 关闭"], [Arg("ticket", "ref:ticket")], "", ["ticket close <T-id>"],
          ["工单 关闭 <T-编号>"]),
    _spec("ticket", ["工单"], [Arg("ticket", "ref:ticket")], "",
          ["ticket <T-id>", "ticket new <account> <priority> <subject>", "ticket ack <T-id>", "ticket close <T-id>"],
          ["工单 <T-编号>", "工单 新建 <客户> <优先级> <主题>", "工单 响应 <T-编号>", "工单 关闭 <T-编号>"]),
    _spec("swarm", ["协作群"], [Arg("record", "ref:deal,ticket")], "", ["swarm <D-id|T-id>"], ["协作群 <D-/T-编号>"]),
    _spec("renewals", ["续费"], [Arg("days", "number", True)], "", ["renewals [days]"], ["续费 [天数]"]),
    _spec("contract set", ["合同 设置", "合同 set"], [Arg("contract", "ref:contract")], "usage nps",
          ["contract set <C-id> usage=<0-100> nps=<-100..100>"], ["合同 设置 <C-编号> usage=<0-100> nps=<-100..100>"]),
    _spec("contract renew", ["合同 续约"], [Arg("contract", "ref:contract")], "", ["contract renew <C-id>"],
          ["合同 续约 <C-编号>"]),
    _spec("contract", ["合同"], [Arg("contract", "ref:contract")], "",
          ["contract <C-id>", "contract set <C-id> usage=80 nps=30", "contract renew <C-id>"],
          ["合同 <C-编号>", "合同 设置 <C-编号> usage=80 nps=30", "合同 续约 <C-编号>"]),
    _spec("pipeline chart", ["漏斗图", "漏斗 图"], [], "", ["pipeline chart  (the funnel and forecast as a picture)"],
          ["漏斗图（漏斗与预测的图片）"]),
    _spec("pipeline", ["漏斗"], [], "", ["pipeline", "pipeline chart"], ["漏斗", "漏斗图"]),
    _spec("my", ["我的"], [], "", ["my"], ["我的"]),
    _spec("search", ["搜索", "查找"], [Arg("words", "text")], "",
          ["search <words>  (leads, contacts, accounts, deals, tickets, contracts: a name, part of it, pinyin, "
           "initials or a reference)"],
          ["搜索 <关键词>（线索、联系人、客户、商机、工单、合同：名称或其中一部分、拼音、拼音首字母或编号）"]),
    _spec("pool", ["公海"], [], "region industry source score",
          ["pool [region= industry= source= score=]  (leads nobody works, to claim)"],
          ["公海 [地区= 行业= 来源= score=]（无人跟进、可领取的线索）"]),
    _spec("claim", ["领取"], [Arg("lead", "ref:lead")], "", ["claim <L-id>  (take a lead from the pool)"],
          ["领取 <L-编号>（从公海领取线索）"]),
    _spec("release", ["退回"], [Arg("lead", "ref:lead"), Arg("reason", "text")], "",
          ["release <L-id> <reason>  (give a lead back to the pool)"], ["退回 <L-编号> <原因>（把线索退回公海）"]),
    _spec("check", ["查重"], [Arg("query", "rest")], "",
          ["check <company or phone>  (is the customer already someone's? no contacts or amounts shown)"],
          ["查重 <公司名或电话>（客户是否已有负责人；不显示联系人和金额）"]),
    _spec("task done", ["任务 完成"], [Arg("task", "id")], "", ["task done <task number>  (numbers are shown by my)"],
          ["任务 完成 <任务编号>（编号见 我的）"]),
    _spec("workspace list", ["工作区 列表"], [], "", ["workspace list  (admins)"], ["工作区 列表（管理员）"]),
    _spec("workspace approve", ["工作区 批准"], [Arg("workspace", "word")], "", ["workspace approve <T-id>  (admins)"],
          ["工作区 批准 <工作区ID>（管理员）"]),
    _spec("workspace refuse", ["工作区 拒绝"], [Arg("workspace", "word")], "", ["workspace refuse <T-id>  (admins)"],
          ["工作区 拒绝 <工作区ID>（管理员）"]),
    _spec("lead assign", ["线索 分配"], [Arg("lead", "ref:lead"), Arg("owner", "rest")], "",
          ["lead assign <L-id> <person>  (user key, name or @mention)"],
          ["线索 分配 <L-编号> <负责人>（用户名、姓名或 @提及）"]),
    _spec("transfer", ["交接"], [Arg("from", "word"), Arg("to", "word")], "",
          ["transfer <from> <to>  (managers and admins: every open record of a person who leaves)"],
          ["交接 <原负责人> <新负责人>（经理和管理员：离职人员的全部进行中记录）"]),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}


@dataclass(frozen=True)
class Parsed:
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UsageError:
    command: str | None  # nearest command, for its usage lines
    problem_en: str
    problem_zh: str
    suggestions: tuple[str, ...] = ()

    def usage(self, locale: str) -> tuple[str, ...]:
        if self.command and self.command in SPEC_BY_NAME:
            return SPEC_BY_NAME[self.command].usage(locale)
        wanted = {w.lower() for w in self.suggestions}
        near = [s.usage(locale)[0] for s in SPECS if {s.words[0], *(a[0] for a in s.aliases)} & wanted]
        return tuple(near) or tuple(dict.fromkeys(s.usage(locale)[0].split()[0] for s in SPECS))


def _match(tokens: list[Token]) -> tuple[list[Spec], int] | None:
    """The specs whose words match the longest prefix (several when they share words), in SPECS order."""
    lowered = [normalise_typed(tok.text).lower() for tok in tokens]  # ｄｅａｌ, 商机， match too
    best: tuple[list[Spec], int] | None = None
    for spec in SPECS:
        for words in (spec.words, *spec.aliases):
            k = len(words)
            if lowered[:k] != [w.lower() for w in words]:
                continue
            if best is None or k > best[1]:
                best = ([spec], k)
            elif k == best[1] and spec not in best[0]:
                best[0].append(spec)
    return best


def _suggest(word: str) -> tuple[str, ...]:
    vocab = sorted({w for s in SPECS for w in (s.words[0], *(a[0] for a in s.aliases))})
    return tuple(difflib.get_close_matches(word.lower(), vocab, n=3, cutoff=0.5))


def parse(text: str) -> Parsed | UsageError:
    text = (text or "").strip()
    if len(text) > COMMAND_MAX:  # before any parsing: a 10 MB paste costs nothing
        return UsageError(None, f"That message has {len(text)} characters; a command may have at most {COMMAND_MAX}. "
                          "Shorten it, or put long text in several log entries.",
                          f"这条消息有 {len(text)} 个字符，一条命令最多 {COMMAND_MAX} 个。请缩短，或分成几条记录。")
    bad = control_problem(text, multiline=True)
    if bad:
        return UsageError(None, f"The message contains the control character {bad}; remove it and send again.",
                          f"消息中含有控制字符 {bad}，请删除后重新发送。")
    if text.startswith("/crm"):
        text = text[4:].strip()
    tokens = tokenize(text)
    if not tokens:
        return Parsed("help")
    matched = _match(tokens)
    if matched is None:
        word = tokens[0].text[:40]
        return UsageError(None, f"I don't know “{word}”.", f"无法识别「{word}」。", _suggest(word))
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
            return _err(spec, f"Missing {spec.args[0].name}.", f"缺少{_zh_name(spec.args[0].name)}。")
        return Parsed(spec.name, {spec.args[0].name: block}, {})
    free_text = any(a.kind == "text" for a in spec.args)
    open_options = bool({"*", "+"} & spec.options)  # the service checks the keys against the configuration
    for tok in tokens:
        opt = _option(tok, text)
        if opt and (open_options or opt[0] in spec.options):
            if opt[0] in options:
                return _err(spec, f"“{opt[0]}” is given twice; keep one.", f"「{opt[0]}」写了两次，请只保留一个。")
            options[opt[0]] = opt[1]
        elif opt and not free_text:
            return _unknown_option(spec, opt[0])
        else:
            rest_tokens.append(tok)
    args: dict[str, Any] = {}
    queue = list(rest_tokens)
    for arg in spec.args:
        if arg.kind not in ("rest", "text") and arg.name in options:  # e.g. ticket new Acme VPN down 优先级=紧急
            args[arg.name] = options.pop(arg.name)
            continue
        if arg.kind in ("rest", "text"):
            value = _raw_rest(text, queue)
            queue = []
            if not value and not arg.optional:
                return _err(spec, f"Missing {arg.name}.", f"缺少{_zh_name(arg.name)}。")
            args[arg.name] = value or None
            continue
        if arg.kind == "lines":
            lines, problem = _lines(queue)
            queue = []
            if problem:
                return _err(spec, *problem)
            args[arg.name] = lines
            continue
        if not queue:
            if arg.optional:
                args[arg.name] = None
                continue
            return _err(spec, f"Missing {arg.name}.", f"缺少{_zh_name(arg.name)}。")
        if arg.kind.startswith("ref:") and arg is spec.args[-1] and len(queue) > 1 \
                and _any_ref(queue[0]) is None:  # `deal Acme Corp`: the rest of the words is the name
            args[arg.name] = _name(arg, text, queue)
            queue = []
            continue
        tok = queue.pop(0)
        if arg.kind.startswith("ref:"):
            value, problem = _ref_arg(arg, text, tok)
            if problem:
                return _err(spec, *problem)
            args[arg.name] = value
            continue
        value, problem = _convert(arg, tok.text if tok.quoted else normalise_typed(tok.text))
        if problem:
            return _err(spec, *problem)
        args[arg.name] = value
    if queue:
        extra = " ".join(t.text for t in queue)[:60]
        return _err(spec, f"Unexpected “{extra}”.", f"多余的内容「{extra}」。")
    for req in spec.required_options:
        if req not in options:
            return _err(spec, f"Missing {req}=….", f"缺少 {req}=…。")
    return Parsed(spec.name, args, options)


def _unknown_option(spec: Spec, key: str) -> UsageError:
    allowed = sorted(spec.options - {"*", "+"})
    shown_key = key[:40]
    if not allowed:
        return _err(spec, f"“{shown_key}=” is not an option of {spec.name}; it takes none.",
                    f"「{shown_key}=」不是该命令的选项；该命令没有选项。")
    near = difflib.get_close_matches(key.lower(), allowed, n=3, cutoff=0.5)
    hint_en = f" Did you mean: {', '.join(near)}?" if near else ""
    hint_zh = f"你是不是想输入：{'、'.join(near)}？" if near else ""
    return _err(spec, f"Unknown option “{shown_key}”.{hint_en} Allowed: {', '.join(allowed)}. Nothing was changed.",
                f"不支持的选项「{shown_key}」。{hint_zh}可用：{'、'.join(allowed)}。未做任何修改。")


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


def _ref_arg(arg: Arg, text: str, tok: Token) -> tuple[Any, tuple[str, str] | None]:
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


def _convert(arg: Arg, raw: str) -> tuple[Any, tuple[str, str] | None]:
    kind, _, param = arg.kind.partition(":")
    if kind == "ref":
        kinds = param.split(",")
        ref = parse_ref(raw, *kinds)
        if ref is None:
            example = {"deal": "D-7", "lead": "L-12", "ticket": "T-9", "approval": "A-5", "quote": "Q-3",
                       "contract": "C-4"}.get(kinds[0], "D-7")
            return None, (f"“{raw[:40]}” is not a {'/'.join(kinds)} reference like {example}.",
                          f"「{raw[:40]}」不是有效的编号，应类似 {example}。")
        return ref, None
    if kind == "choice":
        choices = param.split(",")
        if raw.lower() not in choices:
            return None, (f"“{raw[:40]}” must be one of {', '.join(choices)}.",
                          f"「{raw[:40]}」应为以下之一：{'、'.join(choices)}。")
        return raw.lower(), None
    if kind == "id":
        digits = raw.lstrip("#")
        if not digits.isdecimal() or len(digits) > 9:
            return None, (f"“{raw[:40]}” is not a task number; my lists them as #12.",
                          f"「{raw[:40]}」不是任务编号；我的 列表中显示为 #12。")
        return int(digits), None
    if kind == "number":
        if not raw.isdecimal() or len(raw) > 5:
            return None, (f"“{raw[:40]}” is not a number of days.", f"「{raw[:40]}」不是有效的天数。")
        return int(raw), None
    return raw, None


def _lines(queue: list[Token]) -> tuple[list[tuple[str, int]], tuple[str, str] | None]:
    lines: list[tuple[str, int]] = []
    i = 0
    while i < len(queue):
        raw = normalise_typed(queue[i].text)
        m = _LINE.match(raw)
        if m:
            sku, qty = m.group(1), int(m.group(2))
            i += 1
        elif i + 1 < len(queue) and _QTY.match(normalise_typed(queue[i + 1].text)) \
                and re.match(r"^[A-Za-z0-9_-]{1,32}$", raw):
            sku, qty = raw, int(_QTY.match(normalise_typed(queue[i + 1].text)).group(1))  # type: ignore[union-attr]
            i += 2
        else:
            return [], (f"“{raw[:40]}” is not a product line; write SKU x QTY, e.g. PRO x10.",
                        f"「{raw[:40]}」不是有效的产品行，请写成 产品 x 数量，例如 PRO x10。")
        if qty <= 0:
            return [], (f"Quantity for {sku} must be positive.", f"{sku} 的数量必须大于 0。")
        lines.append((sku.upper(), qty))
    if not lines:
        return [], ("Add at least one product line, e.g. PRO x10.", "请至少写一行产品，例如 PRO x10。")
    return lines, None


def _zh_name(name: str) -> str:
    return {"name": "姓名", "account": "客户", "text": "内容", "reason": "原因", "subject": "主题",
            "deal": "商机编号", "lead": "线索编号", "record": "记录编号", "kind": "类型",
            "approval": "审批编号", "ticket": "工单编号", "priority": "优先级", "quote": "报价编号",
            "contract": "合同编号", "owner": "负责人", "from": "原负责人", "to": "新负责人",
            "keep": "要保留的线索编号", "words": "关键词"}.get(name, name)


def _err(spec: Spec, en: str, zh: str) -> UsageError:
    return UsageError(spec.name, en, zh)

"""The 指标值 grammar (rules.md §5) and money amounts.

``parse_value`` turns what staff type into a value (operator + number + unit, a deadline, a
frequency, a graded or vague qualitative value, a placeholder, or unrecognised text), always
keeping the text it was given. It never raises: input it cannot read comes back as
``ValueKind.TEXT`` so a rule can report it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache

from perfxl.textnorm import clean_prose, halfwidth, squash


class ValueKind(StrEnum):
    """What kind of thing a 指标值 is; the values are the stable spellings used in outputs."""

    NUMERIC = "numeric"
    DEADLINE = "deadline"
    RELATIVE_DEADLINE = "relative_deadline"
    FREQUENCY = "frequency"
    GRADED = "graded"
    VAGUE = "vague"
    PLACEHOLDER = "placeholder"
    TEXT = "text"

    @property
    def label(self) -> str:
        """Return the Chinese name of the kind, as shown in sheets."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    ValueKind.NUMERIC: "数值",
    ValueKind.DEADLINE: "时限",
    ValueKind.RELATIVE_DEADLINE: "相对时限",
    ValueKind.FREQUENCY: "频次",
    ValueKind.GRADED: "定性分级",
    ValueKind.VAGUE: "模糊定性",
    ValueKind.PLACEHOLDER: "不涉及",
    ValueKind.TEXT: "无法识别",
}


@dataclass(frozen=True)
class ParsedValue:
    """A parsed 指标值; ``text`` is the normalised input, never lost."""

    kind: ValueKind
    text: str
    operator: str | None = None
    operator_explicit: bool = False
    number: Decimal | None = None
    unit: str = ""
    year: int | None = None
    month: int | None = None
    noise: str = ""
    """What OCR made of a leading ≥ (二, %=), read as ≥; empty when the operator was written."""
    hedge: str = ""
    """The word that makes the number an estimate (左右, 约): not a target one can check."""

    @property
    def is_percent(self) -> bool:
        """Return True when the value is a number in percent."""
        return self.kind is ValueKind.NUMERIC and self.unit == "%"


# Canonical operators are the symbols staff see on the official form.
_PREFIX_OPERATORS: tuple[tuple[str, str], ...] = (
    (">=", "≥"),
    ("<=", "≤"),
    ("=>", "≥"),
    ("=<", "≤"),
    ("≥", "≥"),
    ("≧", "≥"),
    ("⩾", "≥"),
    ("≤", "≤"),
    ("≦", "≤"),
    ("⩽", "≤"),
    ("大于等于", "≥"),
    ("大于或等于", "≥"),
    ("不低于", "≥"),
    ("不少于", "≥"),
    ("不小于", "≥"),
    ("至少", "≥"),
    ("达到", "≥"),
    ("小于等于", "≤"),
    ("小于或等于", "≤"),
    ("不高于", "≤"),
    ("不超过", "≤"),
    ("不大于", "≤"),
    ("不多于", "≤"),
    ("控制在", "≤"),
    ("最多", "≤"),
    ("大于", ">"),
    ("高于", ">"),
    ("多于", ">"),
    ("超过", ">"),
    ("小于", "<"),
    ("低于", "<"),
    ("少于", "<"),
    (">", ">"),
    ("<", "<"),
    ("=", "="),
    ("═", "="),
    ("等于", "="),
)
# The spellings by first character, in the order above: only those can start the text.
_PREFIX_OPERATORS_BY_FIRST: dict[str, tuple[tuple[str, str], ...]] = {
    first: tuple(entry for entry in _PREFIX_OPERATORS if entry[0][0] == first)
    for first in dict.fromkeys(spelling[0] for spelling, _ in _PREFIX_OPERATORS)
}
_SUFFIX_OPERATORS: tuple[tuple[str, str], ...] = (
    ("及以上", "≥"),
    ("以上", "≥"),
    ("及以下", "≤"),
    ("以下", "≤"),
    ("以内", "≤"),
    ("之内", "≤"),
)
_SUFFIX_SPELLINGS = tuple(spelling for spelling, _ in _SUFFIX_OPERATORS)
# How text recognition renders ≥ in scanned documents (rules.md §5): "二95%", "%=95%". A
# Chinese numeral never stands before Arabic digits, so the reading is unambiguous.
_OCR_GE = re.compile(r"^(?P<noise>二|%=)(?=\d)")
# Words that turn a number into an estimate: before it (约100人) or after it (100人左右).
_HEDGE_BEFORE = ("大约", "约")
_HEDGE_AFTER = ("左右", "上下")
_PLACEHOLDERS = frozenset({"", "不涉及", "无", "/", "-", "—", "——", "－", "暂无", "不适用", "n/a", "na"})
_GRADED = frozenset(
    {
        "达标",
        "合格",
        "优良",
        "优秀",
        "良好",
        "优",
        "良",
        "中",
        "差",
        "是",
        "否",
        "完成",
        "已完成",
        "全部完成",
        "按时完成",
        "按期完成",
        "如期完成",
        "好",
        "较好",
        "一般",
        "正常",
        "正常运行",
        "稳定运行",
        "有",
        "达到",
        "未达到",
        "通过",
        "验收合格",
        "符合要求",
        "符合标准",
        "零发生",
        "无事故",
        "零事故",
    }
)
_VAGUE_EXACT = frozenset(
    {
        "有所提高",
        "有所提升",
        "有所增加",
        "有所改善",
        "较上年增加",
        "较上年提高",
        "较上年有所提高",
        "持续推动",
        "持续开展",
        "持续提升",
        "持续改善",
        "有效提供",
        "有效提升",
        "有效保障",
        "充分保障",
        "不低于上年",
        "不低于去年",
        "长期",
        "影响程度明显",
        "明显",
        "明显提升",
        "显著",
        "显著提升",
        "提升",
        "提高",
        "增加",
        "改善",
        "巩固提高",
        "逐步提高",
        "稳步提升",
        "进一步提高",
        "进一步提升",
        "大幅提升",
        "得到提升",
        "得到提高",
        "有效",
        "积极",
        "良性",
    }
)
_VAGUE_MARKERS = (
    "有所",
    "持续",
    "有效",
    "充分",
    "逐步",
    "进一步",
    "稳步",
    "明显",
    "显著",
    "较上年",
    "不低于上年",
    "长期",
    "巩固",
    "大幅",
)
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}

_NUMBER = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_NUMERIC_RE = re.compile(rf"^(?P<num>{_NUMBER})(?P<rest>.*)$")
_UNIT_RE = re.compile(r"^[\u4e00-\u9fffA-Za-z%‰㎡㎞°/²³·]{1,10}$")
_CN_NUMBER_RE = re.compile(r"^(?P<num>[零〇一二两三四五六七八九十百]{1,4})(?P<rest>.*)$")

_DEADLINE_TAIL = r"(?:之前|以前|前)?(?:完成|支出|支付|发放|下达|开展|拨付|到位|实施|结束|验收|兑付)?(?:率)?"
_ABS_DEADLINES = (
    re.compile(
        rf"^(?:预计|计划|力争|于|在)?(?P<y>\d{{4}})年(?P<m>\d{{1,2}})月(?:底|末|份|中旬|上旬|下旬|\d{{1,2}}日)?{_DEADLINE_TAIL}$"
    ),
    re.compile(rf"^(?:预计|计划|力争|于|在)?(?P<y>\d{{4}})年(?:年底|年末|底|末|内|度内|全年)?{_DEADLINE_TAIL}$"),
    re.compile(r"^(?P<y0>\d{4})[.\-/年](?P<m0>\d{1,2})月?[-~至到—](?P<y>\d{4})[.\-/年](?P<m>\d{1,2})月?$"),
    re.compile(r"^(?P<y0>\d{4})(?P<m0>\d{2})[-~至到—](?P<y>\d{4})(?P<m>\d{2})$"),
    re.compile(rf"^(?:预计|计划|于|在)?(?P<y>\d{{4}})[.\-/](?P<m>\d{{1,2}})(?:[.\-/]\d{{1,2}})?{_DEADLINE_TAIL}$"),
    re.compile(rf"^(?:年底|年末|年内|当年|本年度?内?|12月底|十二月底)(?:之前|以前|前)?{_DEADLINE_TAIL}$"),
)
_REL_DEADLINE = re.compile(
    r"^(?:(?:季|月|年|季度|半年|活动|会议|项目|合同签订|资金到位|收到资金)(?:结束)?后)?"
    r"(?P<n>\d+)(?:个)?(?:工作日|自然日|日|天|个月|月|周)(?:内|之内|以内|前|之前)?(?:完成|报送|支付|拨付|发放)?$"
)
_FREQUENCY = re.compile(
    r"^(?:每|按)(?:半年|年|年度|季度|季|月|周|旬|日|天|次)(?:度)?(?:一次|\d+次|[一二两三四五六七八九十]+次|报送|开展|监测|检查)?$"
)
_FREQUENCY_LOOSE = re.compile(r"^(?:每|按)(?:半年|年|季度|季|月|周|日|天)")
_DIGIT = re.compile(r"\d")
_YEAR_END_STARTS = ("年", "当年", "本年", "十二月底")
# What a deadline can start with besides a digit: the words before a year, the year-end words,
# and the events a relative deadline counts from (see _ABS_DEADLINES and _REL_DEADLINE).
_DEADLINE_FIRST = frozenset("预计力于在年当本十季月半活会项合资收")
_AMOUNT_RE = re.compile(rf"(?P<num>{_NUMBER})(?P<unit>亿元|万元|元|万)?")
_PERCENT_RE = re.compile(rf"(?P<num>{_NUMBER})%?")


def _normalise(text: str) -> str:
    text = halfwidth(squash(text)).replace("％", "%")
    return text.replace("≧", "≥").replace("≦", "≤").replace("═", "=").strip()


def _cn_int(text: str) -> int | None:
    if text == "十":
        return 10
    if "百" in text:
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _CN_DIGITS.get(tens) if tens else 1
        o = _CN_DIGITS.get(ones) if ones else 0
        return None if t is None or o is None else t * 10 + o
    return _CN_DIGITS.get(text) if len(text) == 1 else None


def _split_operator(text: str) -> tuple[str | None, str]:
    for spelling, op in _PREFIX_OPERATORS_BY_FIRST.get(text[:1], ()):
        if text.startswith(spelling):
            return op, text[len(spelling) :].strip()
    return None, text


def _split_suffix_operator(rest: str) -> tuple[str | None, str]:
    if not rest.endswith(_SUFFIX_SPELLINGS):
        return None, rest
    for spelling, op in _SUFFIX_OPERATORS:
        if rest.endswith(spelling):
            return op, rest[: -len(spelling)]
    return None, rest


def _unit(rest: str) -> tuple[Decimal, str] | None:
    """Return the multiplier and the canonical unit for the text after a number."""
    unit = rest.strip()
    if unit in ("", "%", "‰"):
        return Decimal(1), unit
    if unit == "百分比" or unit == "百分点":
        return Decimal(1), "%"
    if not _UNIT_RE.match(unit):
        return None
    if unit.startswith("万") and not unit.startswith("万元"):
        return Decimal(10000), unit[1:] or ""
    if unit.startswith("亿") and not unit.startswith("亿元"):
        return Decimal(100000000), unit[1:] or ""
    return Decimal(1), unit


def _numeric(text: str) -> ParsedValue | None:
    noise = m[0] if (m := _OCR_GE.match(text)) else ""
    operator, body = ("≥", text[len(noise) :]) if noise else _split_operator(text)
    explicit = operator is not None
    hedge = next((w for w in _HEDGE_BEFORE if body.startswith(w) and body[len(w) : len(w) + 1].isdigit()), "")
    body = body[len(hedge) :]
    m = _NUMERIC_RE.match(body)
    if m:
        try:
            number = Decimal(m["num"].replace(",", ""))
        except InvalidOperation:
            return None
        rest = m["rest"]
    else:
        c = _CN_NUMBER_RE.match(body)
        if not c or (value := _cn_int(c["num"])) is None or not c["rest"]:
            return None
        number, rest = Decimal(value), c["rest"]
    rest = rest.strip()
    after = next((w for w in _HEDGE_AFTER if rest.endswith(w)), "")
    hedge = hedge or after
    rest = rest.removesuffix(after) if after else rest
    suffix_op, rest = _split_suffix_operator(rest.strip())
    if suffix_op is not None and operator is None:
        operator, explicit = suffix_op, True
    unit = _unit(rest)
    if unit is None:
        # "90%以上" puts the suffix after the unit; "≥95%(含)" and similar are not values
        return None
    multiplier, canonical = unit
    return ParsedValue(
        kind=ValueKind.NUMERIC,
        text=text,
        operator=operator or "=",
        operator_explicit=explicit,
        number=number * multiplier,
        unit=canonical,
        noise=noise,
        hedge=hedge,
    )


def _deadline(text: str) -> ParsedValue | None:
    # Every deadline pattern starts with a digit or one of _DEADLINE_FIRST, and needs a digit
    # except for the year-end words the last absolute one takes: most values fail both at once.
    first = text[:1]
    if not (first.isdecimal() or first in _DEADLINE_FIRST):
        return None
    if not _DIGIT.search(text) and not text.startswith(_YEAR_END_STARTS):
        return None
    for pattern in _ABS_DEADLINES:
        m = pattern.match(text)
        if m:
            groups = m.groupdict()
            year = int(groups["y"]) if groups.get("y") else None
            month = int(groups["m"]) if groups.get("m") else 12
            if month < 1 or month > 12:
                return None
            return ParsedValue(kind=ValueKind.DEADLINE, text=text, year=year, month=month)
    if _REL_DEADLINE.match(text):
        return ParsedValue(kind=ValueKind.RELATIVE_DEADLINE, text=text)
    return None


@lru_cache(maxsize=65536)
def parse_value(raw: str) -> ParsedValue:
    """Return the parsed form of an indicator value; unreadable text comes back as TEXT."""
    text = _normalise(raw)
    if text.lower() in _PLACEHOLDERS:
        return ParsedValue(kind=ValueKind.PLACEHOLDER, text=text)
    deadline = _deadline(text)
    if deadline is not None:
        return deadline
    if _FREQUENCY.match(text) or (_FREQUENCY_LOOSE.match(text) and not _DIGIT.search(text)):
        return ParsedValue(kind=ValueKind.FREQUENCY, text=text)
    numeric = _numeric(text)
    if numeric is not None:
        return numeric
    if text in _GRADED:
        return ParsedValue(kind=ValueKind.GRADED, text=text)
    if text in _VAGUE_EXACT or (
        not _DIGIT.search(text) and any(marker in text for marker in _VAGUE_MARKERS) and len(text) <= 12
    ):
        return ParsedValue(kind=ValueKind.VAGUE, text=text)
    return ParsedValue(kind=ValueKind.TEXT, text=text)


# _NUMBER with its first character taken by one class, so that the scanner skips straight to the
# places an amount can start (a pattern opening with an optional sign is tried at every position);
# the look-behinds continue after a sign or a first digit in the order _NUMBER tries them.
_MONEY_NUMBER = r"[+\-\d](?:(?<=[+-])(?:\d{1,3}(?:,\d{3})+|\d+)|(?<=\d)(?:\d{0,2}(?:,\d{3})+|\d*))(?:\.\d+)?"
_MONEY_RE = re.compile(rf"(?P<num>{_MONEY_NUMBER})\s*(?P<unit>亿元|万元|元)(?![/每])")


def parse_amount(raw: str | float | int | Decimal | None) -> Decimal | None:
    """Return a money amount in 万元 (plain numbers are taken as 万元), or None if unreadable."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, (int, float)):
        return Decimal(str(raw))
    text = halfwidth(squash(raw)).replace(" ", "")
    if not text:
        return None
    m = _AMOUNT_RE.fullmatch(text)
    if not m:
        return None
    number = Decimal(m["num"].replace(",", ""))
    unit = m["unit"] or "万元"
    return _to_wan(number, "万元" if unit == "万" else unit)


MONEY_UNITS: dict[str, Decimal] = {"元": Decimal("0.0001"), "万元": Decimal(1), "亿元": Decimal(10000)}
"""Money units and their factor to 万元, the unit of every amount in the model."""


def _to_wan(number: Decimal, unit: str) -> Decimal:
    return number * MONEY_UNITS[unit]


@dataclass(frozen=True)
class MoneyMention:
    """A money amount quoted in prose, normalised to 万元, with the text it came from.

    ``start`` is the offset in the normalised text (half-width, layout spaces removed);
    ``lead`` is what precedes the amount in its clause (at most 12 characters, e.g. 其中:财政资金),
    so a rule can tell a labelled amount from a bare one.
    """

    amount: Decimal
    text: str
    start: int
    lead: str = ""


# A clause ends at sentence or list punctuation; a colon stays, it belongs to labels (其中:财政资金).
_CLAUSE_END = re.compile(r".*[,，。;；、!！?？\n()（）]", re.S)


def _lead(clean: str, start: int) -> str:
    before = clean[max(0, start - 12) : start]
    cut = _CLAUSE_END.match(before)
    return before[cut.end() :].strip() if cut else before.strip()


def find_money(text: str) -> list[MoneyMention]:
    """Return every money amount (…万元, …元, …亿元) quoted in ``text``, in 万元."""
    if "元" not in text:
        return []  # every amount ends in 元, and cleaning the text never makes one
    clean = clean_prose(text)
    return [
        MoneyMention(
            amount=_to_wan(Decimal(m["num"].replace(",", "")), m["unit"]),
            text=m.group(0),
            start=m.start(),
            lead=_lead(clean, m.start()),
        )
        for m in _MONEY_RE.finditer(clean)
    ]


def format_amount(amount: Decimal) -> str:
    """Return an amount in 万元 for messages: two decimals, more only when they are significant."""
    two = amount.quantize(Decimal("0.01"))
    return f"{two:.2f}" if two == amount else f"{amount.normalize():f}"


def parse_percent(raw: str) -> Decimal | None:
    """Return a plan percentage as a number of percent (``"30%"`` → 30), or None if unreadable."""
    text = halfwidth(squash(raw)).replace(" ", "")
    m = _PERCENT_RE.fullmatch(text)
    if not m:
        return None
    return Decimal(m["num"].replace(",", ""))

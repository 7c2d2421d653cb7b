"""Indicator value rules (rules.md §5, §8.2), satisfaction (§7, §8.6) and timeliness (PT-TIME-001).

Every rule here looks at substantive rows only; 不涉及 and empty rows are PT-STR-009/010's
business. Where several rules could explain one unreadable value, the most specific one
reports it and PT-VAL-001 stays silent, so a cell is not listed twice for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

from perfxl.model import Indicator, Project, Severity
from perfxl.rules.registry import Context, Hit, hit, rule
from perfxl.rules.scheme import (
    QUALITY,
    SATISFACTION,
    TIMELINESS,
    canonical_level1,
    canonical_level2,
    is_capped_ratio,
    is_cost,
    is_count_name,
    is_date_name,
    is_rate_name,
    is_reverse_ratio,
    is_satisfaction_block,
    is_substantive,
    substantive_rows,
)
from perfxl.textnorm import label_key
from perfxl.values import ParsedValue, ValueKind, parse_value

_HUNDRED = Decimal(100)
_DATE_KINDS = frozenset({ValueKind.DEADLINE, ValueKind.RELATIVE_DEADLINE, ValueKind.FREQUENCY})
_KIND_WORDS = {
    ValueKind.DEADLINE: "时限",
    ValueKind.RELATIVE_DEADLINE: "时限",
    ValueKind.FREQUENCY: "频次",
    ValueKind.TEXT: "文字表述",
}
_POPULATION_UNITS = frozenset({"人", "户", "家", "个", "名", "位", "所", "村"})
_TIME_UNITS = frozenset({"天", "日", "个工作日", "工作日", "小时", "个月", "月", "周", "年", "分钟"})
_PUNCTUATION = re.compile(r"[。，、；：,.;:!！？?“”\"'‘’（）()《》<>【】\[\]\s]")
# Growth and improvement rates may legitimately exceed 100%.
_GROWTH_WORDS = ("增长", "增速", "增幅", "提升", "提高", "增加", "同比", "环比", "倍")
_DIGIT = re.compile(r"\d")
_EMBEDDED_TARGET = re.compile(
    r"(?:≥|≤|>=|<=|＞|＜|不低于|不少于|不高于|不超过|达到|高于|超过)\s*\d"
    r"|\d+(?:\.\d+)?\s*(?:%|％|个|家|人|次|场|户|项|件)?\s*(?:以上|以下|以内|及以上)"
)


def _value_hit(ind: Indicator, **params: Any) -> Hit:
    """Return a hit on the row's 指标值 with the name and value the messages quote."""
    return hit("value", indicator=ind, value=ind.value, name=ind.level3, shown=ind.value, **params)


_Row = tuple[Indicator, ParsedValue]


def _rows(project: Project, ctx: Context) -> list[_Row]:
    # Fifteen rules walk the same substantive rows of a project in turn: filter and parse once.
    return ctx.once(substantive_rows, project)


# Most rules only look at rows of one kind of value, or in one block: each such selection is made
# once per project (keyed by the project's row list, which lives as long as the run) and keeps
# table order, so a rule walking it meets its rows in the order it would have.
def _by_kind(rows: list[_Row]) -> dict[ValueKind, list[_Row]]:
    found: dict[ValueKind, list[_Row]] = {}
    for row in rows:
        found.setdefault(row[1].kind, []).append(row)
    return found


def _of_kind(project: Project, ctx: Context, kind: ValueKind) -> Sequence[_Row]:
    return ctx.once(_by_kind, _rows(project, ctx)).get(kind, ())


def _wordy(rows: list[_Row]) -> list[_Row]:
    return [row for row in rows if row[1].kind in (ValueKind.TEXT, ValueKind.VAGUE)]


def _satisfaction_rows(rows: list[_Row]) -> list[_Row]:
    return [row for row in rows if _is_satisfaction(row[0])]


def _timeliness_rows(rows: list[_Row]) -> list[_Row]:
    return [row for row in rows if _is_timeliness(row[0])]


def _name(ind: Indicator) -> str:
    return label_key(ind.level3)


@lru_cache(maxsize=1 << 14)
def _norm(text: str) -> str:
    return _PUNCTUATION.sub("", label_key(text))


def _is_satisfaction(ind: Indicator) -> bool:
    return "满意" in ind.level3


def _is_timeliness(ind: Indicator) -> bool:
    return canonical_level2(ind.level2) == TIMELINESS


def _echo(ind: Indicator, parsed: ParsedValue) -> str | None:
    """Return 三级名称 or 绩效指标描述 when the value merely repeats it, else None."""
    if parsed.kind not in (ValueKind.TEXT, ValueKind.VAGUE):
        return None
    value = _norm(ind.value)
    for label, other in (("三级指标名称", ind.level3), ("绩效指标描述", ind.description)):
        target = _norm(other)
        if value and target and (value == target or (len(value) >= 6 and value in target)):
            return label
    return None


def _rate_with_date_or_text(ind: Indicator, parsed: ParsedValue) -> bool:
    return _name(ind).endswith("率") and (parsed.kind in _DATE_KINDS or parsed.kind is ValueKind.TEXT)


def _count_not_numeric(ind: Indicator, parsed: ParsedValue) -> bool:
    return (
        is_count_name(ind.level3) and not is_cost(ind) and parsed.kind not in (ValueKind.NUMERIC, ValueKind.PLACEHOLDER)
    )


def _timeliness_misfit(ind: Indicator, parsed: ParsedValue, year: int | None) -> str | None:
    """Return the PT-TIME-001 variant for a 时效 value that is not a usable deadline, else None."""
    if not _is_timeliness(ind):
        return None
    if parsed.kind is ValueKind.FREQUENCY:
        return "frequency"
    if parsed.kind is ValueKind.NUMERIC and parsed.unit != "%" and parsed.unit not in _TIME_UNITS:
        return "number"
    if parsed.kind is ValueKind.TEXT and not _rate_with_date_or_text(ind, parsed):
        return "text"
    if parsed.kind is ValueKind.DEADLINE and year is not None and parsed.year not in (None, year):
        return "year"
    return None


# --- PT-VAL-001 -----------------------------------------------------------------------------


@rule(
    "PT-VAL-001",
    Severity.WARNING,
    "指标值无法识别",
    "「{name}」的指标值「{shown}」无法识别为「运算符+数值+单位」、定性分级或时限，请改写为可考核的目标",
    variants={
        "noise": "「{name}」的指标值「{shown}」开头的「{noise}」疑似「≥」的识别错误，已按「≥」读取，请改正",
        "hedge": "「{name}」的指标值「{shown}」是约数（{hedge}），无法考核是否达到，"
        "请写明运算符和目标值，如「≥{number}」",
    },
)
def unreadable_value(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per value that parses as unrecognised text and no more specific rule explains.

    A number read despite OCR noise in its operator, or hedged as an estimate, is one too.
    """
    for ind, parsed in _of_kind(project, ctx, ValueKind.NUMERIC):
        if parsed.noise:
            yield _value_hit(ind, template="noise", noise=parsed.noise)
        elif parsed.hedge:
            number = f"{parsed.number.normalize():f}{parsed.unit}" if parsed.number is not None else ""
            yield _value_hit(ind, template="hedge", hedge=parsed.hedge, number=number)
    year = ctx.department.year
    for ind, parsed in _of_kind(project, ctx, ValueKind.TEXT):
        explained = (
            _echo(ind, parsed) is not None
            or _rate_with_date_or_text(ind, parsed)
            or _count_not_numeric(ind, parsed)
            or _timeliness_misfit(ind, parsed, year) is not None
            or _is_satisfaction(ind)
        )
        if not explained:
            yield _value_hit(ind)


# --- PT-VAL-002 -----------------------------------------------------------------------------


@rule(
    "PT-VAL-002",
    Severity.ERROR,
    "比率指标缺少百分号",
    "「{name}」是满意度指标，指标值「{shown}」却没有以百分比（%）表示",
    variants={"rate": "「{name}」是比率类指标，指标值「{shown}」却没有以百分比（%）表示"},
)
def rate_without_percent(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield an error for a numeric satisfaction value without %, a warning for other rates."""
    for ind, parsed in _of_kind(project, ctx, ValueKind.NUMERIC):
        if parsed.unit in ("%", "‰") or is_cost(ind):
            continue
        decimal_ratio = parsed.unit == "" and parsed.number is not None and 0 < parsed.number < 1
        if _is_satisfaction(ind):
            yield _value_hit(ind)
        elif is_rate_name(ind.level3) or decimal_ratio:
            yield _value_hit(ind, severity=Severity.WARNING, template="rate")


# --- PT-VAL-003 -----------------------------------------------------------------------------


def _capped(ind: Indicator) -> bool:
    """Return True when the row's percentage cannot sensibly exceed 100%."""
    if is_reverse_ratio(ind.level3):
        return False
    level2 = canonical_level2(ind.level2)
    # A percentage under 质量 or 满意度 is a compliance or satisfaction share, whatever its name.
    return is_capped_ratio(ind.level3) or level2 == QUALITY or canonical_level1(ind.level1) == SATISFACTION


@rule(
    "PT-VAL-003",
    Severity.ERROR,
    "比率超过100%",
    "「{name}」的指标值「{shown}」为封顶比率却要求达到或超过 100%，应为「=100%」或低于 100% 的目标",
    variants={
        "over": "「{name}」的指标值「{shown}」超过 100%，比率不可能达到",
        "reverse": "「{name}」是逆向指标（越低越好），指标值「{shown}」却使用了「{operator}」，应使用「≤」",
    },
)
def ratio_over_hundred(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield errors for ≥/>100% on capped ratios and for any value above 100%; warn on reverse ≥."""
    for ind, parsed in _of_kind(project, ctx, ValueKind.NUMERIC):
        if not parsed.is_percent or parsed.number is None:
            continue
        name = _name(ind)
        if is_reverse_ratio(name):
            if parsed.operator in ("≥", ">") and parsed.operator_explicit:
                yield _value_hit(ind, severity=Severity.WARNING, template="reverse", operator=parsed.operator)
            continue
        if _capped(ind) and parsed.operator in ("≥", ">") and parsed.number >= _HUNDRED:
            yield _value_hit(ind)
        elif parsed.number > _HUNDRED and not any(w in name for w in _GROWTH_WORDS):
            yield _value_hit(ind, template="over")


# --- PT-VAL-004 -----------------------------------------------------------------------------


@rule(
    "PT-VAL-004",
    Severity.ERROR,
    "指标值重复指标名称或描述",
    "「{name}」的指标值「{shown}」只是重复了{label}，没有给出可衡量的目标",
)
def value_echoes_name(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the value equals, or is a ≥6-character part of, the 三级 or the 描述."""
    for ind, parsed in ctx.once(_wordy, _rows(project, ctx)):
        label = _echo(ind, parsed)
        if label is not None:
            yield _value_hit(ind, label=label)


# --- PT-VAL-005 -----------------------------------------------------------------------------


@rule(
    "PT-VAL-005",
    Severity.WARNING,
    "指标值表述模糊",
    "「{name}」的指标值「{shown}」为模糊表述，无法考核，应改为量化目标或分级（如达标/合格）表述",
)
def vague_value(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per vague qualitative value (有所提高, 持续推动 …) that does not echo the name."""
    for ind, parsed in _of_kind(project, ctx, ValueKind.VAGUE):
        if _echo(ind, parsed) is None:
            yield _value_hit(ind)


# --- PT-VAL-006 -----------------------------------------------------------------------------

_CLICK_WORDS = ("点击量", "访问量", "浏览量", "阅读量", "播放量", "下载量")
_PERSON_WORDS = ("成员", "人员", "学员", "人数", "职工", "群众")
_ORG_WORDS = ("企业数", "企业数量", "单位数", "机构数", "家数", "户数")


# A 三级 name counting one session (每次参加培训人数), which a total in 人次 contradicts.
_PER_SESSION = ("每次", "每场", "每期", "每批", "每班")


def _unit_mismatch(ind: Indicator, parsed: ParsedValue) -> str | None:
    """Return why the unit does not fit the 三级 name, or None when it fits or cannot be told."""
    # The unit is tested first: it rules most rows out before the name is searched.
    name, unit = _name(ind), parsed.unit
    if unit in ("人", "家", "户") and any(w in name for w in _CLICK_WORDS):
        return "点击或访问量应以「次」计量"
    if unit in ("家", "户", "个") and any(w in name for w in _PERSON_WORDS):
        return "人员数量应以「人」或「人次」计量"
    if unit in ("人", "人次") and any(w in name for w in _ORG_WORDS):
        return "企业或单位数量应以「家」「个」或「户」计量"
    if unit == "人" and "人次" in name:
        return "名称为人次，单位却是人"
    if (
        name.startswith(_PER_SESSION)
        and unit in ("人", "人次")
        and (unit == "人次" or "人次" in label_key(ind.description))
    ):
        return "名称是每次（每场、每期）的人数，描述或单位却是累计的人次，请确认填的是每次人数还是全年人次"
    if unit == "人次" and name.endswith("人数"):
        return "名称为人数，单位却是人次"
    if unit in ("%", "万元", "元") and is_count_name(name) and not is_cost(ind):
        return "数量类指标应以个数计量"
    return None


@rule(
    "PT-VAL-006",
    Severity.WARNING,
    "计量单位与指标含义不符",
    "「{name}」的指标值「{shown}」计量单位为「{unit}」，与指标含义不符：{reason}",
)
def unit_semantics(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the value's unit contradicts what the 三级 name counts (keyword heuristic).

    It knows a handful of pairings (点击量 in 人, 成员 in 家, 企业 in 人, 人次 vs 人, counts in % or
    万元, a per-session name with a total in 人次); a rate in a count unit is PT-VAL-002's.
    """
    for ind, parsed in _of_kind(project, ctx, ValueKind.NUMERIC):
        reason = _unit_mismatch(ind, parsed)
        if reason is not None:
            yield _value_hit(ind, unit=parsed.unit, reason=reason)


# --- PT-VAL-007 -----------------------------------------------------------------------------


@rule(
    "PT-VAL-007",
    Severity.INFO,
    "指标值缺少运算符",
    "「{name}」的指标值「{shown}」没有写运算符（≥、≤、= 等），按「=」理解",
)
def implicit_operator(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per numeric value written without an operator."""
    for ind, parsed in _of_kind(project, ctx, ValueKind.NUMERIC):
        # An estimate has PT-VAL-001's warning, which asks for the operator too.
        if not parsed.operator_explicit and not parsed.hedge:
            yield _value_hit(ind)


# --- PT-VAL-008 -----------------------------------------------------------------------------


@rule(
    "PT-VAL-008",
    Severity.WARNING,
    "指标值类型与名称不符",
    "「{name}」是比率类指标，指标值「{shown}」却是{kind}，应填写百分比",
    variants={"date": "「{name}」是时间类指标，指标值「{shown}」却是比率，应填写完成时限"},
)
def value_type_mismatch(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit for a …率 indicator with a date or text value, or a 时限/时间 one with a rate."""
    for ind, parsed in _rows(project, ctx):
        if _rate_with_date_or_text(ind, parsed):
            yield _value_hit(ind, kind=_KIND_WORDS[parsed.kind])
        elif is_date_name(ind.level3) and not is_rate_name(ind.level3) and parsed.is_percent:
            yield _value_hit(ind, template="date")


# --- PT-VAL-009 / PT-VAL-010 ----------------------------------------------------------------


@lru_cache(maxsize=1 << 14)
def _embeds_target(description: str) -> bool:
    key = label_key(description)
    return bool(_DIGIT.search(key) and _EMBEDDED_TARGET.search(key))  # both alternatives need a digit


@rule(
    "PT-VAL-009",
    Severity.INFO,
    "描述中包含目标值",
    "「{name}」的绩效指标描述「{description}」写入了目标值，描述应说明指标的含义或计算方法，目标值填在指标值栏",
)
def description_embeds_target(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the 描述 states a target (…90%以上, ≥95%) instead of defining the measure."""
    for ind, _ in _rows(project, ctx):
        if _embeds_target(ind.description):
            yield hit("description", indicator=ind, value=ind.description, name=ind.level3, description=ind.description)


@rule(
    "PT-VAL-010",
    Severity.INFO,
    "描述只重复指标名称",
    "「{name}」的绩效指标描述与三级指标名称相同，应说明指标的计算方法或统计范围",
)
def description_repeats_name(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the 描述 is just the 三级 name again."""
    for ind, _ in _rows(project, ctx):
        if _norm(ind.description) == _norm(ind.level3):
            yield hit("description", indicator=ind, value=ind.description, name=ind.level3)


# --- PT-VAL-011 -----------------------------------------------------------------------------


@rule(
    "PT-VAL-011",
    Severity.WARNING,
    "数量指标值非数值",
    "「{name}」是数量类指标，指标值「{shown}」却不是数值，应写成如「≥3家」",
)
def count_not_numeric(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per count-type 三级 (…数量, …人数, …企业 …) whose value is not a number."""
    for ind, parsed in _rows(project, ctx):
        if _count_not_numeric(ind, parsed) and _echo(ind, parsed) is None:
            yield _value_hit(ind)


# --- PT-SAT-001 -----------------------------------------------------------------------------


@rule(
    "PT-SAT-001",
    Severity.ERROR,
    "满意度指标值不规范",
    "「{name}」的指标值「{shown}」不是百分比，满意度应写成如「≥90%」",
    variants={
        "operator": "「{name}」的指标值「{shown}」应使用「≥」表示最低满意度目标",
        "low": "「{name}」的目标值 {number}% 低于 {minimum}%，满意度目标偏低",
        "ceiling": "「{name}」的目标值 {number}% 接近或达到 100%，难以通过调查核实",
    },
)
def satisfaction_value(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield an error for a non-% satisfaction value, warnings for the operator or a low target, info at the ceiling."""
    limits = ctx.config.thresholds
    for ind, parsed in ctx.once(_satisfaction_rows, _rows(project, ctx)):
        if not parsed.is_percent or parsed.number is None:
            yield _value_hit(ind)
            continue
        number = parsed.number
        if parsed.operator not in ("≥", ">"):
            yield _value_hit(ind, severity=Severity.WARNING, template="operator")
        if number < limits.satisfaction_min:
            yield _value_hit(
                ind, severity=Severity.WARNING, template="low", number=number, minimum=limits.satisfaction_min
            )
        elif number >= limits.satisfaction_ceiling:
            yield _value_hit(ind, severity=Severity.INFO, template="ceiling", number=number)


# --- PT-SAT-002 -----------------------------------------------------------------------------

_SUPERIOR_BODIES = ("省厅", "工信厅", "工信部", "上级", "领导", "主管部门", "部委", "省委", "市委", "省政府")
_ENFORCEMENT_WORDS = ("执法", "监督", "监管", "检查", "稽查", "处罚")


@rule(
    "PT-SAT-002",
    Severity.INFO,
    "满意度调查对象不当",
    "「{name}」的调查对象是上级机关，满意度应由服务对象或受益群体评价",
    variants={"enforcement": "「{name}」以「用户」为调查对象，而本项目是执法监管工作，请确认被调查的群体是否合适"},
)
def satisfaction_subject(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the satisfaction subject is a superior body, or 用户 of enforcement work.

    A keyword heuristic on the 三级 name (省厅, 上级, 领导 …) and, for 用户, on the project name
    and 资金用途; it cannot tell whether the surveyed population really matches the beneficiaries.
    """
    enforcement = any(w in project.name or w in project.use_of_funds for w in _ENFORCEMENT_WORDS)
    for ind, _ in ctx.once(_satisfaction_rows, _rows(project, ctx)):
        name = _name(ind)
        if any(w in name for w in _SUPERIOR_BODIES):
            yield hit("level3", indicator=ind, value=ind.level3, name=ind.level3)
        elif enforcement and "用户" in name:
            yield hit("level3", indicator=ind, value=ind.level3, template="enforcement", name=ind.level3)


# --- PT-SAT-003 -----------------------------------------------------------------------------


@rule(
    "PT-SAT-003",
    Severity.INFO,
    "受益对象过少的满意度",
    "「{name}」以比率考核满意度，但数量指标「{count_name}」只有 {count} 个对象，比率没有意义",
)
def satisfaction_tiny_population(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when a satisfaction rate rests on a counted population of at most a few.

    Compares each 满意度 row with the project's 数量 rows counting people or units (人, 户, 家, 个…);
    it cannot see whether the survey covers a different, larger population than the one counted.
    """
    limit = Decimal(ctx.config.thresholds.tiny_population)
    counts = [
        (ind, parsed)
        for ind, parsed in _of_kind(project, ctx, ValueKind.NUMERIC)
        if canonical_level1(ind.level1) != SATISFACTION
        and parsed.unit in _POPULATION_UNITS
        and parsed.number is not None
        and parsed.operator in ("=", "≤", "<")
        and parsed.number <= limit
    ]
    if not counts:
        return
    count_ind, count = counts[0]
    for ind, parsed in ctx.once(_satisfaction_rows, _rows(project, ctx)):
        if parsed.is_percent:
            yield _value_hit(ind, count_name=count_ind.level3, count=f"{count.number:f}")


# --- PT-SAT-004 -----------------------------------------------------------------------------


@rule(
    "PT-SAT-004",
    Severity.ERROR,
    "满意度指标缺少满意度测量",
    "满意度指标下没有以百分比衡量的满意度（现有三级指标：{names}）",
)
def satisfaction_block_measure(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the 满意度 block has no 满意 indicator with a numeric (percentage) value.

    A numeric value without % still counts as a measure here; PT-SAT-001 reports the missing %.
    """
    block = [i for i in project.indicators if is_satisfaction_block(i)]
    if not block:
        return
    measured = any(
        _is_satisfaction(i) and is_substantive(i) and parse_value(i.value).kind is ValueKind.NUMERIC for i in block
    )
    if not measured:
        names = "、".join(f"「{i.level3}」" for i in block if label_key(i.level3)) or "无"
        yield hit("level3", indicator=block[0], value=block[0].level3, names=names)


# --- PT-TIME-001 ----------------------------------------------------------------------------


@rule(
    "PT-TIME-001",
    Severity.WARNING,
    "时效指标值不是时限",
    "「{name}」的指标值「{shown}」是频次，不是完成时限；时效指标应写截止时间（如「2025年12月底前」）或及时率",
    variants={
        "number": "「{name}」的指标值「{shown}」只是一个数字，不是完成时限；时效指标应写截止时间或及时率",
        "text": "「{name}」的指标值「{shown}」不是完成时限；时效指标应写截止时间（如「2025年12月底前」）或及时率",
        "year": "「{name}」的截止时间「{shown}」不在预算年度 {year} 年内",
    },
)
def timeliness_value(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per 时效 value that is a frequency, a bare number, text, or a deadline in another year."""
    year = ctx.department.year
    for ind, parsed in ctx.once(_timeliness_rows, _rows(project, ctx)):
        variant = _timeliness_misfit(ind, parsed, year)
        if variant is not None:
            yield _value_hit(ind, template=variant, year=year)

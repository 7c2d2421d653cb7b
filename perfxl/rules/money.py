"""Money and cost rules (rules.md §6, §8.3): 预算数 and its split, amounts in prose, 成本指标.

All amounts are in 万元, the unit the form declares. Amounts are compared at two decimals
(or within ``thresholds.money_tolerance``), the precision the form prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from perfxl.model import Indicator, Project, Severity
from perfxl.rules.registry import Context, Hit, hit, rule
from perfxl.rules.scheme import (
    COST,
    ECOLOGICAL_COST,
    ECONOMIC_COST,
    QUANTITY,
    SOCIAL_COST,
    canonical_level1,
    canonical_level2,
    is_cost_row,
    is_substantive,
    project_scheme,
)
from perfxl.values import MONEY_UNITS, ValueKind, find_money, format_amount, parse_value

CENT = Decimal("0.01")
MAX_BUDGET_DECIMALS = 4
# Amounts in the goal below this share of the budget are unit costs or parts, not "the spend".
SPEND_SHARE = Decimal("0.5")

# Per-unit wording in a 三级 name (每个成员…, 人均…, 单位成本…, 补助标准…).
_PER_UNIT_NAME = re.compile(
    r"每|人均|生均|户均|亩均|场均|次均|日均|平均|单价|定额|"
    r"单位(?:成本|费用|价格|造价|补助|投入)|^单位|(?:补助|补贴|收费|奖励|开支)标准"
)
# Per-unit or per-day wording in a description (PT-CST-006).
_PER_UNIT_DESCRIPTION = re.compile(
    r"人均|生均|户均|日均|每人|每名|每天|每日|每个|每家|每户|每场|每次|每期|单价|单位成本"
)
_TOTAL_NAME = re.compile(r"总成本|总额|总量|总计|合计|总投入|总经费|总费用|总金额|总预算")
# What a per-unit name is "per": the quantity unit it must be multiplied by (PT-CST-003/005).
_PER_MARKERS: tuple[tuple[str, str], ...] = (
    ("人均", "人"), ("每人", "人"), ("每名", "人"), ("每位", "人"), ("生均", "人"), ("每生", "人"),
    ("户均", "户"), ("每户", "户"), ("每家", "户"), ("每个", "个"), ("每场", "场"), ("场均", "场"),
    ("每次", "次"), ("次均", "次"), ("每期", "期"), ("每天", "天"), ("每日", "天"), ("日均", "天"),
    ("亩均", "亩"), ("每亩", "亩"), ("每课时", "课时"),
)  # fmt: skip
_UNIT_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"人", "人次", "名", "位", "生", "学员"}),
    frozenset({"户", "家", "个", "所", "单位", "企业"}),
    frozenset({"场", "次", "期", "批", "批次", "届"}),
    frozenset({"天", "日"}),
    frozenset({"课时", "学时"}),
    frozenset({"亩"}),
)
# Labels of amounts quoted in 资金用途 and the project field each must equal (PT-FIN-003).
_FUND_LABELS: tuple[tuple[str, str, str], ...] = (
    ("预算数", "budget", "预算数"),
    ("预算资金", "budget", "预算数"),
    ("预算金额", "budget", "预算数"),
    ("预算总额", "budget", "预算数"),
    ("项目预算", "budget", "预算数"),
    ("总预算", "budget", "预算数"),
    ("财政资金", "fiscal_funds", "财政资金"),
    ("财政拨款", "fiscal_funds", "财政资金"),
    ("其他资金", "other_funds", "其他资金"),
    ("自筹资金", "other_funds", "其他资金"),
)
_LABEL_TAIL = re.compile(r"(?:为|是|:|共计|合计|共|计)+$")


def q2(amount: Decimal) -> Decimal:
    """Return ``amount`` rounded to the 0.01 万元 the form prints."""
    return amount.quantize(CENT)


def unit_family(unit: str) -> frozenset[str] | None:
    """Return the kind of count a unit belongs to (人 ~ 人次 ~ 名, 家 ~ 户 ~ 个 …), or None."""
    return next((f for f in _UNIT_FAMILIES if unit in f), None)


@dataclass(frozen=True)
class CostValue:
    """A cost indicator whose value is money: the amount in 万元 and what it is per."""

    indicator: Indicator
    operator: str
    amount: Decimal
    per: str
    """The unit the amount is per (人 for 元/人 or 人均…), empty for a total."""

    @property
    def per_unit(self) -> bool:
        """Return True when the value or the name says the amount is per unit."""
        return bool(self.per) or _per_unit_name(self.indicator.level3)

    @property
    def caps(self) -> bool:
        """Return True when the value is an upper bound or an exact amount (≤, <, =)."""
        return self.operator in ("≤", "<", "=")


@lru_cache(maxsize=1 << 12)
def _per_unit_name(name: str) -> bool:
    return bool(_PER_UNIT_NAME.search(name))


def is_spending_cost(ind: Indicator) -> bool:
    """Return True for a substantive cost row about the project's own money, not 社会/生态环境成本."""
    return _spending_block(ind.level1, ind.level2) and is_substantive(ind)


@lru_cache(maxsize=1 << 12)
def _spending_block(level1: str, level2: str) -> bool:
    """Return True when a row under these 一级/二级 is a cost row, but not 社会/生态环境成本."""
    return is_cost_row(level1, level2) and canonical_level2(level2) not in (SOCIAL_COST, ECOLOGICAL_COST)


def _per(ind: Indicator, unit_tail: str) -> str:
    return unit_tail.split("/")[0] if unit_tail else _per_marker(ind.level3)


@lru_cache(maxsize=1 << 12)
def _per_marker(name: str) -> str:
    return next((unit for marker, unit in _PER_MARKERS if marker in name), "")


def cost_value(ind: Indicator) -> CostValue | None:
    """Return the money reading of a spending cost indicator, or None when it is not one or not money."""
    return _money_reading(ind) if is_spending_cost(ind) else None


def _money_reading(ind: Indicator) -> CostValue | None:
    parsed = parse_value(ind.value)
    if parsed.kind is not ValueKind.NUMERIC or parsed.number is None:
        return None
    unit, _, tail = parsed.unit.partition("/")
    factor = MONEY_UNITS.get(unit)
    if factor is None:
        return None
    return CostValue(ind, parsed.operator or "=", parsed.number * factor, _per(ind, tail))


def spending_costs(project: Project) -> list[tuple[Indicator, CostValue | None]]:
    """Return the project's spending cost rows, in table order, each with its money reading (None if not money)."""
    return [(ind, _money_reading(ind)) for ind in project.indicators if is_spending_cost(ind)]


def total_costs(project: Project) -> list[CostValue]:
    """Return the project's total-cost indicators: money cost rows that are not per unit."""
    return _totals(spending_costs(project))


def unit_costs(project: Project) -> list[CostValue]:
    """Return the project's per-unit cost indicators (人均…, 每个…, …元/人)."""
    return _per_units(spending_costs(project))


def _totals(rows: list[tuple[Indicator, CostValue | None]]) -> list[CostValue]:
    return [c for _, c in rows if c is not None and not c.per_unit]


def _per_units(rows: list[tuple[Indicator, CostValue | None]]) -> list[CostValue]:
    return [c for _, c in rows if c is not None and c.per_unit]


@dataclass(frozen=True)
class Quantity:
    """A count promised by a 数量 indicator."""

    indicator: Indicator
    number: Decimal
    unit: str


def quantities(project: Project) -> list[Quantity]:
    """Return the counts of the project's substantive 数量 indicators (not %, not money)."""
    found = []
    for ind in project.indicators:
        if canonical_level2(ind.level2) != QUANTITY or not is_substantive(ind):
            continue
        parsed = parse_value(ind.value)
        unit = parsed.unit
        counted = unit not in ("", "%", "‰") and unit.partition("/")[0] not in MONEY_UNITS
        if parsed.kind is ValueKind.NUMERIC and parsed.number and counted:
            found.append(Quantity(ind, parsed.number, unit))
    return found


def _matching(cost: CostValue, counts: list[Quantity]) -> list[Quantity]:
    family = unit_family(cost.per)
    return [q for q in counts if family is not None and unit_family(q.unit) == family]


# --- PT-FIN -------------------------------------------------------------------------------


@rule(
    "PT-FIN-001",
    Severity.ERROR,
    "预算数与资金来源不符",
    "预算数 {budget} 万元 ≠ 财政资金 {fiscal} 万元 + 其他资金 {other} 万元（相差 {diff} 万元）",
)
def budget_split(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when 预算数 differs from 财政资金 + 其他资金 (blank = 0) beyond the tolerance."""
    budget, fiscal = project.budget, project.fiscal_funds
    if budget is None or fiscal is None:
        return  # a missing amount is PT-STR-001's finding
    other = project.other_funds or Decimal(0)
    diff = budget - fiscal - other
    if abs(diff) > ctx.config.thresholds.money_tolerance:
        yield hit(
            "budget",
            value=budget,
            budget=format_amount(budget),
            fiscal=format_amount(fiscal),
            other=format_amount(other),
            diff=format_amount(abs(diff)),
        )


@rule(
    "PT-FIN-002",
    Severity.ERROR,
    "绩效目标金额与预算数不符",
    "绩效目标写明支出 {amount} 万元，与预算数 {budget} 万元不一致（相差 {diff} 万元）",
    variants={
        "cap": "绩效目标写明支出 {amount} 万元，四舍五入后与预算数 {budget} 万元一致，"
        "但超过成本指标「{name}」的上限 {cap}",
    },
)
def goal_amounts(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per amount in the 绩效目标 that differs from 预算数 at two decimals.

    Only amounts of at least half the budget count as "the spend"; smaller ones are unit costs
    or parts (人均 400 元, 其中培训 2 万元) and are ignored. A goal that itemises the spend
    (12万元用于…、8万元用于…) is consistent when all its amounts add up to 预算数. An amount
    equal after rounding but above a cost cap (4.103 vs ≤4.1万元) is a warning: the goal
    promises more than the cost indicator allows.
    """
    budget = project.budget
    mentions = find_money(project.goal)
    if budget is None or budget <= 0 or not mentions:
        return
    spends = [m for m in mentions if m.amount >= budget * SPEND_SHARE]
    itemised = q2(sum((m.amount for m in mentions), Decimal(0)))
    consistent = itemised == q2(budget) or any(q2(m.amount) == q2(budget) for m in spends)
    if not consistent:
        # One finding per distinct amount: a goal repeating its wrong total is one mistake.
        for m in {m.amount: m for m in spends}.values():
            yield hit(
                "goal",
                value=m.text,
                amount=format_amount(m.amount),
                budget=format_amount(budget),
                diff=format_amount(abs(q2(m.amount) - q2(budget))),
            )
    budget_cents = q2(budget)
    for m in spends:
        if q2(m.amount) != budget_cents:
            continue
        caps = [c for c in _totals(ctx.once(spending_costs, project)) if c.caps]
        cap = next((c for c in caps if m.amount > c.amount), None)
        if cap is not None:
            yield hit(
                "goal",
                value=m.text,
                severity=Severity.WARNING,
                template="cap",
                amount=format_amount(m.amount),
                budget=format_amount(budget),
                name=cap.indicator.level3,
                cap=cap.indicator.value,
            )


@rule(
    "PT-FIN-003",
    Severity.ERROR,
    "资金用途中的金额与预算不符",
    "资金用途写明{label} {amount} 万元，与{field_label} {expected} 万元不一致",
)
def use_amounts(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per labelled amount in 资金用途 (预算数/财政资金/其他资金 X 万元) that differs from its field."""
    tolerance = ctx.config.thresholds.money_tolerance
    for m in find_money(project.use_of_funds):
        lead = _LABEL_TAIL.sub("", m.lead)
        label = next((entry for entry in _FUND_LABELS if lead.endswith(entry[0])), None)
        if label is None:
            continue
        text, field, field_label = label
        expected: Decimal | None = getattr(project, field)
        if expected is None and field == "other_funds":
            expected = Decimal(0)
        if expected is not None and abs(m.amount - expected) > tolerance:
            yield hit(
                "use_of_funds",
                value=m.text,
                label=text,
                amount=format_amount(m.amount),
                field_label=field_label,
                expected=format_amount(expected),
            )


@rule(
    "PT-FIN-004",
    Severity.ERROR,
    "预算数无效",
    "预算数 {budget} 万元不是正数",
    variants={
        "unreadable": "预算数「{raw}」不是有效金额（单位：万元）",
        "decimals": "预算数 {budget} 万元的小数超过 {places} 位，请确认单位是否为万元",
    },
)
def budget_valid(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when 预算数 is unreadable text, not positive, or has more than four decimals."""
    budget = project.budget
    if budget is None:
        raw = project.raw.get("budget", "").strip()
        if raw:
            yield hit("budget", value=raw, template="unreadable", raw=raw)
        return
    if budget <= 0:
        yield hit("budget", value=budget, budget=format_amount(budget))
    elif -int(budget.normalize().as_tuple().exponent) > MAX_BUDGET_DECIMALS:
        yield hit("budget", value=budget, template="decimals", budget=f"{budget:f}", places=MAX_BUDGET_DECIMALS)


# --- PT-CST -------------------------------------------------------------------------------


@rule(
    "PT-CST-001",
    Severity.ERROR,
    "成本指标超过预算数",
    "成本指标「{name}」的指标值 {amount} 万元超过预算数 {budget} 万元",
)
def cost_over_budget(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per total-cost indicator (not per unit) whose amount exceeds 预算数."""
    budget = project.budget
    if budget is None:
        return
    for cost in _totals(ctx.once(spending_costs, project)):
        if cost.amount > budget + ctx.config.thresholds.money_tolerance:
            yield hit(
                "value",
                indicator=cost.indicator,
                value=cost.indicator.value,
                name=cost.indicator.level3,
                amount=format_amount(cost.amount),
                budget=format_amount(budget),
            )


@rule(
    "PT-CST-002",
    Severity.WARNING,
    "缺少经济成本指标",
    "成本指标下没有「经济成本指标」；经济成本（单位成本、分项成本或总成本控制数）是必设的成本指标",
)
def economic_cost_missing(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit for a Scheme C table whose 成本 block has no 经济成本 row.

    The other ways a cost indicator can be missing are structure findings and are not repeated
    here: no 成本 二级 under 产出 in Scheme H is PT-STR-004, no 成本 一级 in Scheme C is
    PT-STR-003, and cost rows that are all 不涉及 are PT-STR-010.
    """
    if project_scheme(project, ctx) != "C":
        return
    block = [i for i in project.indicators if canonical_level1(i.level1) == COST]
    if block and not any(canonical_level2(i.level2) == ECONOMIC_COST for i in block):
        yield hit("level2", indicator=block[0], value=block[0].level2)


def _whole_budget_per_unit(cost: CostValue, counts: list[Quantity], budget: Decimal, ctx: Context) -> bool:
    """Return True when a per-unit amount is the whole budget while more than one unit is counted."""
    if cost.amount < budget - ctx.config.thresholds.money_tolerance:
        return False
    pool = _matching(cost, counts) or counts
    return any(q.number > 1 for q in pool)


@rule(
    "PT-CST-003",
    Severity.WARNING,
    "单位成本与预算数不匹配",
    "单位成本「{name}」{cost} × 数量指标「{quantity}」{count} = {product} 万元，"
    "与预算数 {budget} 万元相差较大（为预算数的 {ratio}）",
    variants={
        "unmatched": "单位成本「{name}」（{cost}）没有对应的数量指标（以「{per}」计），无法与预算数核对",
    },
)
def unit_cost_reconciles(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a warning when unit cost × the matching quantity is far from 预算数; info with no quantity.

    A quantity matches when its unit is of the same kind as what the cost is per (人均 ↔ 人/人次,
    每个 ↔ 个/家/户 …). The check cannot see multi-factor costs (人均每天 × 人数 × 天数) or
    projects that mix several activities; the bounds come from ``unit_cost_low``/``unit_cost_high``.
    Rows that PT-CST-005 reports (a unit cost as large as the budget) are left to it.
    """
    budget = project.budget
    if budget is None or budget <= 0:
        return
    limits = ctx.config.thresholds
    counts = ctx.once(quantities, project)
    for cost in _per_units(ctx.once(spending_costs, project)):
        if _whole_budget_per_unit(cost, counts, budget, ctx):
            continue
        matches = _matching(cost, counts)
        if not matches:
            if cost.per:
                yield hit(
                    "value",
                    indicator=cost.indicator,
                    value=cost.indicator.value,
                    severity=Severity.INFO,
                    template="unmatched",
                    name=cost.indicator.level3,
                    cost=cost.indicator.value,
                    per=cost.per,
                )
            continue
        ratios = [(cost.amount * q.number / budget, q) for q in matches]
        if any(limits.unit_cost_low <= r <= limits.unit_cost_high for r, _ in ratios):
            continue
        ratio, quantity = min(ratios, key=lambda rq: abs(rq[0] - 1))
        yield hit(
            "value",
            indicator=cost.indicator,
            value=cost.indicator.value,
            name=cost.indicator.level3,
            cost=cost.indicator.value,
            quantity=quantity.indicator.level3,
            count=quantity.indicator.value,
            product=format_amount(q2(cost.amount * quantity.number)),
            budget=format_amount(budget),
            ratio=f"{ratio:.0%}" if ratio < 10 else f"{ratio:.0f} 倍",
        )


@rule(
    "PT-CST-004",
    Severity.INFO,
    "成本指标仅重复预算数",
    "成本指标「{name}」的指标值「{shown}」只是重复预算数，建议改为单位成本或分项成本",
    variants={
        "not_money": "成本指标「{name}」的指标值「{shown}」不是金额，无法用来控制成本",
    },
)
def cost_restates_budget(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield info when the only cost information is the budget itself, a warning for non-money values."""
    budget = project.budget
    rows = ctx.once(spending_costs, project)
    has_unit_cost = bool(_per_units(rows))
    for ind, cost in rows:
        if cost is None:
            # "≤预算数", "控制在预算内": the budget in words, which is a restatement, not a non-answer.
            in_words = "预算" in ind.value
            if in_words and not has_unit_cost:
                yield hit("value", indicator=ind, value=ind.value, name=ind.level3, shown=ind.value)
            elif not in_words:
                yield hit(
                    "value",
                    indicator=ind,
                    value=ind.value,
                    severity=Severity.WARNING,
                    template="not_money",
                    name=ind.level3,
                    shown=ind.value,
                )
        elif (
            not cost.per_unit
            and not has_unit_cost
            and cost.caps
            and budget is not None
            and q2(cost.amount) == q2(budget)
        ):
            yield hit("value", indicator=ind, value=ind.value, name=ind.level3, shown=ind.value)


@rule(
    "PT-CST-005",
    Severity.ERROR,
    "单位成本不小于预算总额",
    "单位成本「{name}」为 {amount} 万元，不小于预算数 {budget} 万元，而数量指标「{quantity}」为 {count}；"
    "单位成本乘以数量将远超预算",
)
def per_unit_is_whole_budget(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per per-unit cost (每个…, 人均…) at least as large as 预算数 when the quantity exceeds 1.

    The quantity is the 数量 indicator counted in the same kind of unit, or any 数量 count
    when none is.
    """
    budget = project.budget
    if budget is None or budget <= 0:
        return
    counts = ctx.once(quantities, project)
    for cost in _per_units(ctx.once(spending_costs, project)):
        if _whole_budget_per_unit(cost, counts, budget, ctx):
            pool = _matching(cost, counts) or counts
            quantity = max(pool, key=lambda q: q.number)
            yield hit(
                "value",
                indicator=cost.indicator,
                value=cost.indicator.value,
                name=cost.indicator.level3,
                amount=format_amount(cost.amount),
                budget=format_amount(budget),
                quantity=quantity.indicator.level3,
                count=quantity.indicator.value,
            )


@rule(
    "PT-CST-006",
    Severity.WARNING,
    "成本指标口径不一致",
    "成本指标「{name}」的描述按单位或按天计算（{description}），指标值却是总额 {shown}",
    variants={
        "total_named": "成本指标「{name}」按名称是总成本，指标值却是单位成本 {shown}",
    },
)
def cost_basis_mismatch(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the description says per unit/per day but the value is a total in 万元, or the reverse."""
    for ind, cost in ctx.once(spending_costs, project):
        if cost is None:
            continue
        unit = parse_value(ind.value).unit
        if not cost.per_unit and unit in ("万元", "亿元") and _PER_UNIT_DESCRIPTION.search(ind.description):
            yield hit(
                "description",
                indicator=ind,
                value=ind.description,
                name=ind.level3,
                description=ind.description,
                shown=ind.value,
            )
        elif "/" in unit and _TOTAL_NAME.search(ind.level3):
            yield hit("value", indicator=ind, value=ind.value, template="total_named", name=ind.level3, shown=ind.value)

"""Spending plan rules (rules.md §8.4, §9): four cumulative checkpoints 3/6/10/12月底.

The model keeps a blank checkpoint as None; the form reads a blank as 0% (§9), and these
rules do the same, reporting it where that reading matters.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from perfxl.model import PLAN_CHECKPOINTS, Department, Percent, Project, Severity, plan_source
from perfxl.rules.registry import Context, Hit, hit, rule
from perfxl.rules.scheme import TIMELINESS, canonical_level2, substantive_rows
from perfxl.values import ValueKind

CHECKPOINT_MONTHS: tuple[int, int, int, int] = (3, 6, 10, 12)
FULL = Decimal(100)
# A plan that is complete this many months before the stated deadline is worth a look (PT-PLAN-004).
EARLY_MONTHS = 6
# Fewer projects than this sharing one plan is a coincidence, not a template default (PT-PLAN-005).
SAME_PLAN_MIN_PROJECTS = 3


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _plan(project: Project) -> list[Percent | None] | None:
    """Return the four checkpoints, or None when the reader produced some other shape."""
    plan = project.spending_plan
    return plan if len(plan) == len(PLAN_CHECKPOINTS) else None


def _filled(plan: list[Percent | None]) -> list[Decimal]:
    """Return the plan with blanks read as 0%."""
    return [Decimal(0) if v is None else v for v in plan]


# Several rules quote a project's plan and check its shape: the project rules ask
# ``ctx.once(_plan_text, plan)`` and ``ctx.once(_well_formed, plan)``, the plan list being the project's own.
def _plan_text(plan: list[Percent | None]) -> str:
    return "/".join("空" if v is None else _pct(v) for v in plan)


def _well_formed(plan: list[Percent | None]) -> bool:
    """Return True when the plan ends at 12月底 and every value is a percentage in 0–100."""
    return plan[-1] is not None and all(v is None or 0 <= v <= FULL for v in plan)


@rule(
    "PT-PLAN-001",
    Severity.ERROR,
    "资金支出计划未到 100%",
    "资金支出计划缺少 12月底 的累计比例（应为 100%）",
    variants={
        "short": "资金支出计划 12月底 累计比例为 {pct}，应为 100%（跨年度项目可在配置中列明）",
        "shape": "资金支出计划应有 3月底、6月底、10月底、12月底 四个节点，读到 {count} 个",
    },
)
def plan_complete(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the plan lacks 12月底, or 12月底 is below 100% for a one-year project."""
    plan = _plan(project)
    if plan is None:
        yield hit("spending_plan", template="shape", count=len(project.spending_plan))
        return
    if all(v is None for v in plan):
        return  # no plan at all is PT-STR-001's finding
    last, place = plan[-1], plan_source(len(plan) - 1)
    if last is None:
        yield hit("spending_plan", place=place, value=ctx.once(_plan_text, plan))
    elif last < FULL and project.code not in ctx.config.multi_year:
        yield hit("spending_plan", place=place, value=_pct(last), template="short", pct=_pct(last))


@rule(
    "PT-PLAN-002",
    Severity.ERROR,
    "资金支出计划数值错误",
    "资金支出计划 {checkpoint} 为 {pct}，累计比例应在 0%–100% 之间",
    variants={
        "decrease": "资金支出计划 {checkpoint} 累计 {pct}，低于 {previous} 的 {previous_pct}；"
        "各节点是累计比例，不应回落（空白按 0% 计）",
    },
)
def plan_values(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per value outside 0–100 and per checkpoint lower than the one before it."""
    plan = _plan(project)
    if plan is None:
        return
    for n, (checkpoint, value) in enumerate(zip(PLAN_CHECKPOINTS, plan, strict=True)):
        if value is not None and not 0 <= value <= FULL:
            yield hit("spending_plan", place=plan_source(n), value=_pct(value), checkpoint=checkpoint, pct=_pct(value))
    first = next((n for n, v in enumerate(plan) if v is not None), None)
    if first is None:
        return
    # Blanks before the first value are PT-PLAN-003's; a blank 12月底 is PT-PLAN-001's.
    filled = _filled(plan)
    for n in range(first + 1, len(plan)):
        if plan[n] is None and n == len(plan) - 1:
            continue
        if filled[n] < filled[n - 1]:
            yield hit(
                "spending_plan",
                place=plan_source(n),
                value=ctx.once(_plan_text, plan),
                template="decrease",
                checkpoint=PLAN_CHECKPOINTS[n],
                pct=_pct(filled[n]),
                previous=PLAN_CHECKPOINTS[n - 1],
                previous_pct=_pct(filled[n - 1]),
            )


@rule(
    "PT-PLAN-003",
    Severity.INFO,
    "资金支出计划节点空白",
    "资金支出计划 {checkpoints} 未填写，按 0% 计",
)
def plan_leading_blanks(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield info when checkpoints before the first filled one are blank (read as 0%)."""
    plan = _plan(project)
    if plan is None:
        return
    first = next((n for n, v in enumerate(plan) if v is not None), None)
    if first:
        yield hit("spending_plan", value=ctx.once(_plan_text, plan), checkpoints="、".join(PLAN_CHECKPOINTS[:first]))


def _full_month(plan: list[Percent | None]) -> int | None:
    """Return the month of the first checkpoint at 100%, or None when the plan never gets there."""
    return next((m for m, v in zip(CHECKPOINT_MONTHS, plan, strict=True) if v is not None and v >= FULL), None)


def _deadline(project: Project, ctx: Context) -> tuple[int, str] | None:
    """Return the latest 时效 deadline month in the budget year and the value that states it."""
    year = ctx.department.year
    found: list[tuple[int, str]] = []
    for ind, parsed in ctx.once(substantive_rows, project):
        if canonical_level2(ind.level2) != TIMELINESS:
            continue
        if parsed.kind is ValueKind.DEADLINE and parsed.month and parsed.year in (None, year):
            found.append((parsed.month, ind.value))
    return max(found) if found else None


@rule(
    "PT-PLAN-004",
    Severity.WARNING,
    "资金支出计划与时效指标不符",
    "时效指标要求 {deadline} 完成，但资金支出计划到 {full} 才累计 100%（{previous} 仅 {previous_pct}）",
    variants={
        "early": "资金支出计划在 {full} 已累计 100%，而时效指标为 {deadline}，资金支付是否确实早于工作完成，请核对",
    },
)
def plan_vs_deadline(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a warning when the deadline precedes the plan's 100% point, info when it is far later.

    Only absolute deadlines of 时效 indicators in the budget year are compared; relative ones
    (季后50日前) and the prose of the goal are not. The checkpoints are coarse, so a deadline
    counts as too early only when it falls on or before the checkpoint preceding the 100% one.
    """
    plan = _plan(project)
    if plan is None or not ctx.once(_well_formed, plan):
        return
    full_month = _full_month(plan)
    deadline = _deadline(project, ctx)
    if full_month is None or deadline is None:
        return
    month, text = deadline
    index = CHECKPOINT_MONTHS.index(full_month)
    full = PLAN_CHECKPOINTS[index]
    if index > 0 and month <= CHECKPOINT_MONTHS[index - 1]:
        yield hit(
            "spending_plan",
            value=ctx.once(_plan_text, plan),
            deadline=text,
            full=full,
            previous=PLAN_CHECKPOINTS[index - 1],
            previous_pct=_pct(_filled(plan)[index - 1]),
        )
    elif month - full_month >= EARLY_MONTHS:
        yield hit(
            "spending_plan",
            value=ctx.once(_plan_text, plan),
            severity=Severity.INFO,
            template="early",
            full=full,
            deadline=text,
        )


@rule(
    "PT-PLAN-005",
    Severity.INFO,
    "各项目资金支出计划完全相同",
    "本部门全部 {count} 个项目的资金支出计划完全相同（{plan}），可能是模板默认值，请按各项目实际进度填写",
    scope="department",
)
def plan_template(dept: Department, ctx: Context) -> Iterator[Hit]:
    """Yield one hit when at least three projects all share one non-empty plan."""
    plans = {tuple(p.spending_plan) for p in dept.projects}
    if len(dept.projects) < SAME_PLAN_MIN_PROJECTS or len(plans) != 1:
        return
    plan = list(plans.pop())
    if any(v is not None for v in plan):
        yield hit("spending_plan", value=_plan_text(plan), count=len(dept.projects), plan=_plan_text(plan))


@rule(
    "PT-PLAN-006",
    Severity.INFO,
    "资金支出集中在年底",
    "资金支出计划 10月底 累计 {october}，12月底 达到 {december}，最后两个月支出 {points} 个百分点，支出进度偏后",
    variants={
        "all_at_end": "资金支出计划前三个节点均为 0%，全部资金在 12月底 才支出，请核对是否符合实际进度",
        "minimum": "资金支出计划 {checkpoint} 累计 {pct}，低于进度预警线 {minimum}",
    },
)
def plan_backloaded(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield info when spending is back-loaded, or below the configured checkpoint minimums."""
    plan = _plan(project)
    if plan is None or not ctx.once(_well_formed, plan):
        return
    filled = _filled(plan)
    points = filled[-1] - filled[-2]
    if all(v == 0 for v in filled[:-1]):
        yield hit("spending_plan", value=ctx.once(_plan_text, plan), template="all_at_end")
    elif points >= ctx.config.thresholds.backload_points:
        yield hit(
            "spending_plan",
            value=ctx.once(_plan_text, plan),
            october=_pct(filled[-2]),
            december=_pct(filled[-1]),
            points=f"{points.normalize():f}",
        )
    for checkpoint, value in zip(PLAN_CHECKPOINTS, filled, strict=True):
        minimum = ctx.config.thresholds.plan_minimums.get(checkpoint)
        if minimum is not None and value < minimum:
            yield hit(
                "spending_plan",
                value=ctx.once(_plan_text, plan),
                template="minimum",
                checkpoint=checkpoint,
                pct=_pct(value),
                minimum=_pct(minimum),
            )

"""Money and cost rules (PT-FIN-001…004, PT-CST-001…006).

Each case is the clean project with one change (a coherent one where money must stay
consistent elsewhere) and the exact set of PT-FIN/PT-CST codes it must raise.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from perfxl.config import Config
from perfxl.model import Finding, Project, Severity
from perfxl.rules.registry import run_rules
from perfxl.values import find_money, format_amount
from tests.factories import CLEAN_ROWS, clean_project, department, rows

Row = tuple[str, str, str, str, str, str]
PREFIXES = ("PT-FIN-", "PT-CST-")
D = Decimal

UNIT_COST: Row = ("产出指标", "成本指标", "人均培训成本", "培训费用/参训人数", "≤400元/人", "会议费标准")
PEOPLE: Row = ("产出指标", "数量指标", "培训人数", "年度内参加培训的企业管理人员人数", "≥450人", "年度工作计划")
# Scheme C version of the clean table: 成本 is a first level with 经济成本 under it.
C_ROWS: list[Row] = [
    ("成本指标", "经济成本指标", "人均培训成本", "培训费用/参训人数", "≤400元/人", "会议费标准"),
    *(r for r in CLEAN_ROWS if r[1] != "成本指标"),
]


def replaced(old: Row, new: Row, base: list[Row] = CLEAN_ROWS) -> list[Row]:
    """Return ``base`` with the row ``old`` replaced by ``new``."""
    return [new if r == old else r for r in base]


def cost_row(name: str, value: str, description: str = "") -> Row:
    """Return a 产出/成本 indicator row."""
    return ("产出指标", "成本指标", name, description or name, value, "预算批复")


def funded(budget: str, goal_amount: str, *table: Row) -> Project:
    """Return the clean project with another budget, the goal quoting ``goal_amount`` 万元, and ``table``."""
    return clean_project(
        budget=D(budget),
        fiscal_funds=D(budget),
        goal=f"1. 2025年12月底前支出{goal_amount}万元用于举办3场中小企业数字化转型培训，培训450人以上。",
        indicators=rows(*(table or CLEAN_ROWS)),
    )


def with_cost(name: str, value: str, description: str = "") -> Project:
    """Return the clean project with its unit-cost row replaced by another cost row."""
    return clean_project(indicators=rows(*replaced(UNIT_COST, cost_row(name, value, description))))


def plus_cost(name: str, value: str, description: str = "") -> Project:
    """Return the clean project with an extra cost row after its own unit cost."""
    return clean_project(indicators=rows(*CLEAN_ROWS, cost_row(name, value, description)))


def with_count(name: str, value: str, description: str = "") -> list[Row]:
    """Return the clean rows with the 培训人数 row replaced by another 数量 row."""
    return replaced(PEOPLE, ("产出指标", "数量指标", name, description or name, value, "工作计划"))


def findings(project: Project, config: Config | None = None) -> list[Finding]:
    """Return the money and cost findings on a department holding only ``project``."""
    found = run_rules(department(project), config or Config())
    return [f for f in found if f.code.startswith(PREFIXES)]


def goal(text: str) -> Project:
    """Return the clean project with another 绩效目标."""
    return clean_project(goal=f"1. 2025年12月底前{text}")


def use(text: str) -> Project:
    """Return the clean project with another 资金用途."""
    return clean_project(use_of_funds=text)


SOCIAL_COST: Row = ("成本指标", "社会成本指标", "社会成本控制数", "负面影响处置费用", "≤0.5万元", "经验标准")
TRAINEES_158 = with_count("每次参加培训人数", "≥158人", "参加培训的人次")
ONE_BENEFICIARY = with_count("受到补助人数", "1人")

CASES: list[tuple[str, Project, set[str]]] = [
    ("clean", clean_project(), set()),
    # PT-FIN-001
    ("fin001-fiscal-short", clean_project(fiscal_funds=D(18)), {"PT-FIN-001"}),
    ("fin001-other-funds-make-up", clean_project(fiscal_funds=D(15), other_funds=D(5)), set()),
    ("fin001-within-tolerance", clean_project(fiscal_funds=D("19.996")), set()),
    # PT-FIN-002
    (
        "fin002-12.48-vs-12.84",
        funded("12.84", "12.48", *replaced(UNIT_COST, cost_row("人均培训成本", "≤285元/人"))),
        {"PT-FIN-002"},
    ),
    (
        "fin002-7.2053-rounds-to-7.21",
        funded("7.21", "7.2053", *replaced(UNIT_COST, cost_row("人均培训成本", "≤160元/人"))),
        set(),
    ),
    (
        "fin002-4.103-over-cap",
        funded("4.10", "4.103", *replaced(UNIT_COST, cost_row("项目总成本", "≤4.1万元"))),
        {"PT-FIN-002", "PT-CST-004"},
    ),
    (
        "fin002-goal-over-lower-cap",
        funded("46.00", "46", *replaced(UNIT_COST, cost_row("办公费成本", "≤45万元"))),
        {"PT-FIN-002"},
    ),
    ("fin002-itemised-adds-up", goal("支出12万元用于场地租赁、8万元用于师资，举办3场培训，培训450人以上。"), set()),
    ("fin002-part-is-not-the-total", goal("支出15万元用于举办3场培训，培训450人以上。"), {"PT-FIN-002"}),
    ("fin002-unit-cost-ignored", goal("支出20万元用于举办3场培训，培训450人以上，人均400元。"), set()),
    # PT-FIN-003
    (
        "fin003-wrong-split",
        use("预算数 20 万元。其中：财政资金 18 万元，其他资金 0 万元。资金用于培训。"),
        {"PT-FIN-003"},
    ),
    ("fin003-right-split", use("预算数 20 万元。其中：财政资金 20 万元，其他资金 0 万元。资金用于培训。"), set()),
    ("fin003-wrong-budget", use("预算数为17万元，资金用于举办培训。"), {"PT-FIN-003"}),
    # PT-FIN-004
    ("fin004-zero-budget", clean_project(budget=D(0), fiscal_funds=D(0)), {"PT-FIN-004"}),
    ("fin004-five-decimals", clean_project(budget=D("20.00001"), fiscal_funds=D("20.00001")), {"PT-FIN-004"}),
    ("fin004-four-decimals", clean_project(budget=D("20.0001"), fiscal_funds=D("20.0001")), set()),
    ("fin004-unreadable", clean_project(budget=None, raw={"budget": "二十万"}), {"PT-FIN-004"}),
    ("fin004-missing-is-structure", clean_project(budget=None), set()),
    # PT-CST-001
    (
        "cst001-46.02-over-46.00",
        funded("46.00", "46", *replaced(UNIT_COST, cost_row("智慧城市工作办公费成本", "46.02万元"))),
        {"PT-CST-001"},
    ),
    ("cst001-within-tolerance", plus_cost("项目总成本", "20.004万元"), set()),
    ("cst001-per-unit-is-not-total", plus_cost("人均补助标准", "≤25万元"), {"PT-CST-005"}),
    # PT-CST-002
    (
        "cst002-c-without-economic",
        clean_project(indicators=rows(*replaced(C_ROWS[0], SOCIAL_COST, base=C_ROWS))),
        {"PT-CST-002"},
    ),
    ("cst002-c-with-economic", clean_project(indicators=rows(*C_ROWS)), set()),
    # PT-CST-003
    ("cst003-far-from-budget", clean_project(indicators=rows(*with_count("培训人数", "≥150人"))), {"PT-CST-003"}),
    (
        "cst003-200-yuan-times-158",
        funded(
            "3.20",
            "3.2",
            *replaced(UNIT_COST, cost_row("人均培训成本", "≤200元", "人均每天培训费用"), base=TRAINEES_158),
        ),
        set(),
    ),
    ("cst003-no-matching-quantity", clean_project(indicators=rows(*with_count("培训天数", "≥6天"))), {"PT-CST-003"}),
    # PT-CST-004
    ("cst004-restates-budget", with_cost("项目资金总量", "≤20万元"), {"PT-CST-004"}),
    ("cst004-budget-in-words", with_cost("成本控制", "控制在预算数以内"), {"PT-CST-004"}),
    ("cst004-not-money", with_cost("成本控制率", "100%"), {"PT-CST-004"}),
    ("cst004-total-beside-unit-cost", plus_cost("项目总成本", "≤20万元"), set()),
    # PT-CST-005
    ("cst005-per-unit-is-whole-budget", with_cost("每个培训班补助资金", "20万元"), {"PT-CST-005"}),
    (
        "cst005-one-beneficiary",
        funded("15.00", "15", *replaced(UNIT_COST, cost_row("人均补助标准", "15万元"), base=ONE_BENEFICIARY)),
        set(),
    ),
    # PT-CST-006
    (
        "cst006-per-day-described-total-valued",
        plus_cost("项目总成本", "≤20万元", "参训人员人均每天费用"),
        {"PT-CST-006"},
    ),
    ("cst006-total-named-per-unit-valued", plus_cost("培训总成本", "≤400元/人", "全部培训费用"), {"PT-CST-006"}),
    ("cst006-total-described-as-total", plus_cost("项目总成本", "≤20万元", "项目全部费用"), set()),
]


@pytest.mark.parametrize(("project", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_money_rules(project: Project, expected: set[str]) -> None:
    assert {f.code for f in findings(project)} == expected


def _only(project: Project, code: str) -> Finding:
    [finding] = [f for f in findings(project) if f.code == code]
    return finding


def test_goal_mismatch_names_both_amounts() -> None:
    project = funded("12.84", "12.48", *replaced(UNIT_COST, cost_row("人均培训成本", "≤285元/人")))
    finding = _only(project, "PT-FIN-002")
    assert finding.severity is Severity.ERROR
    assert finding.message == "绩效目标写明支出 12.48 万元，与预算数 12.84 万元不一致（相差 0.36 万元）"
    assert (finding.field, finding.cell) == ("goal", "B8")


def test_goal_over_cost_cap_is_a_warning() -> None:
    project = funded("4.10", "4.103", *replaced(UNIT_COST, cost_row("项目总成本", "≤4.1万元")))
    finding = _only(project, "PT-FIN-002")
    assert finding.severity is Severity.WARNING
    assert "4.103 万元" in finding.message and "≤4.1万元" in finding.message


def test_cost_over_budget_message_points_at_the_value() -> None:
    project = funded("46.00", "46", *replaced(UNIT_COST, cost_row("安全生产执法所需经费", "46.02万元")))
    finding = _only(project, "PT-CST-001")
    assert finding.message == "成本指标「安全生产执法所需经费」的指标值 46.02 万元超过预算数 46.00 万元"
    assert finding.field == "value" and finding.cell is not None and finding.cell.startswith("E")


@pytest.mark.parametrize(
    ("project", "severity"),
    [(with_cost("项目资金总量", "≤20万元"), Severity.INFO), (with_cost("成本控制率", "100%"), Severity.WARNING)],
    ids=["restates-budget", "not-money"],
)
def test_cost_restatement_severity(project: Project, severity: Severity) -> None:
    assert _only(project, "PT-CST-004").severity is severity


def test_unmatched_unit_cost_is_info_and_mismatch_a_warning() -> None:
    unmatched = clean_project(indicators=rows(*with_count("培训天数", "≥6天")))
    far = clean_project(indicators=rows(*with_count("培训人数", "≥150人")))
    assert _only(unmatched, "PT-CST-003").severity is Severity.INFO
    mismatch = _only(far, "PT-CST-003")
    assert mismatch.severity is Severity.WARNING
    assert "6.00 万元" in mismatch.message and "30%" in mismatch.message


def test_tolerance_comes_from_config() -> None:
    project = clean_project(fiscal_funds=D("19.99"))
    strict = Config()
    loose = Config.model_validate({"thresholds": {"money_tolerance": "0.02"}})
    assert [f.code for f in findings(project, strict)] == ["PT-FIN-001"]
    assert findings(project, loose) == []


def test_money_mentions_keep_their_label() -> None:
    mentions = find_money("预算数 17 万元。其中：财政资金 17 万元，其他资金 0 万元。")
    assert [(m.lead, m.amount) for m in mentions] == [("预算数", D(17)), ("其中:财政资金", D(17)), ("其他资金", D(0))]


@pytest.mark.parametrize(
    ("amount", "text"),
    [("46", "46.00"), ("46.02", "46.02"), ("4.103", "4.103"), ("7.20530", "7.2053"), ("0.36", "0.36")],
)
def test_format_amount(amount: str, text: str) -> None:
    assert format_amount(D(amount)) == text

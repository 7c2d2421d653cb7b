"""Spending plan rules (PT-PLAN-001…006).

Each case is the clean project (plan 10/40/80/100) or a department of clean projects with one
change, and the exact set of PT-PLAN codes it must raise.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from perfxl.config import Config
from perfxl.model import Department, Finding, Project, Severity
from perfxl.rules.registry import run_rules
from tests.factories import CLEAN_CODE, CLEAN_ROWS, clean_project, department, rows

OTHER_CODES = ("13080025P00012410001K", "13080025P00012510001U")


def plan(*values: int | None) -> Project:
    """Return the clean project with another cumulative plan (None = blank)."""
    return clean_project(spending_plan=[None if v is None else Decimal(v) for v in values])


def deadline(value: str, *values: int | None) -> Project:
    """Return the clean project with another 时效 value (and plan, when given)."""
    table = [(*r[:4], value, r[5]) if r[1] == "时效指标" else r for r in CLEAN_ROWS]
    base = plan(*values) if values else clean_project()
    return base.model_copy(update={"indicators": rows(*table)})


def siblings(*plans: tuple[int, int, int, int]) -> Department:
    """Return a department of the clean project and siblings with the given plans."""
    projects = [clean_project()]
    for code, values in zip(OTHER_CODES, plans, strict=False):
        projects.append(plan(*values).model_copy(update={"code": code, "name": f"培训项目{code[-3:]}"}))
    return department(*projects)


def findings(subject: Project | Department, config: Config | None = None) -> list[Finding]:
    """Return the PT-PLAN findings on ``subject`` (a project is put in a department of its own)."""
    dept = subject if isinstance(subject, Department) else department(subject)
    return [f for f in run_rules(dept, config or Config()) if f.code.startswith("PT-PLAN-")]


MULTI_YEAR = Config(multi_year=[CLEAN_CODE])
SICHUAN = Config.model_validate({"thresholds": {"plan_minimums": {"6月底": 50}}})

CASES: list[tuple[str, Project | Department, Config | None, set[str]]] = [
    ("clean", clean_project(), None, set()),
    # PT-PLAN-001
    ("plan001-no-december", plan(100, 100, 100, None), None, {"PT-PLAN-001"}),
    ("plan001-december-below-100", plan(10, 40, 80, 90), None, {"PT-PLAN-001"}),
    ("plan001-multi-year-may-stop-short", plan(10, 40, 80, 90), MULTI_YEAR, set()),
    ("plan001-wrong-shape", clean_project(spending_plan=[Decimal(50), Decimal(100)]), None, {"PT-PLAN-001"}),
    ("plan001-no-plan-is-structure", plan(None, None, None, None), None, set()),
    # PT-PLAN-002
    ("plan002-decreasing", plan(10, 70, 60, 100), None, {"PT-PLAN-002"}),
    ("plan002-above-100", plan(10, 40, 80, 120), None, {"PT-PLAN-002"}),
    ("plan002-blank-after-a-value", plan(10, None, 80, 100), None, {"PT-PLAN-002"}),
    ("plan002-flat-is-fine", plan(40, 40, 80, 100), None, set()),
    # PT-PLAN-003
    ("plan003-only-december", plan(None, None, None, 100), None, {"PT-PLAN-003", "PT-PLAN-006"}),
    ("plan003-blank-march", plan(None, 40, 80, 100), None, {"PT-PLAN-003"}),
    ("plan003-explicit-zero", plan(0, 40, 80, 100), None, set()),
    # PT-PLAN-004
    ("plan004-deadline-before-plan", deadline("2025年6月底前完成"), None, {"PT-PLAN-004"}),
    ("plan004-paid-long-before-deadline", deadline("2025年12月底前完成", 100, 100, 100, 100), None, {"PT-PLAN-004"}),
    ("plan004-deadline-between-checkpoints", deadline("2025年11月底前完成"), None, set()),
    ("plan004-other-year-ignored", deadline("2026年6月底前完成"), None, set()),
    ("plan004-relative-deadline-ignored", deadline("季后50日前"), None, set()),
    # PT-PLAN-005
    ("plan005-three-identical", siblings((10, 40, 80, 100), (10, 40, 80, 100)), None, {"PT-PLAN-005"}),
    ("plan005-two-identical", siblings((10, 40, 80, 100)), None, set()),
    ("plan005-one-differs", siblings((10, 40, 80, 100), (20, 50, 80, 100)), None, set()),
    # PT-PLAN-006
    ("plan006-backloaded", plan(10, 20, 30, 100), None, {"PT-PLAN-006"}),
    ("plan006-just-under-threshold", plan(10, 30, 51, 100), None, set()),
    ("plan006-below-configured-minimum", clean_project(), SICHUAN, {"PT-PLAN-006"}),
    ("plan006-meets-configured-minimum", plan(10, 50, 80, 100), SICHUAN, set()),
]


@pytest.mark.parametrize(("subject", "config", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan_rules(subject: Project | Department, config: Config | None, expected: set[str]) -> None:
    assert {f.code for f in findings(subject, config)} == expected


def test_missing_december_message() -> None:
    [finding] = findings(plan(100, 100, 100, None))
    assert finding.severity is Severity.ERROR
    assert finding.message == "资金支出计划缺少 12月底 的累计比例（应为 100%）"
    assert (finding.field, finding.cell) == ("spending_plan", "B7")


def test_decrease_names_both_checkpoints() -> None:
    [finding] = findings(plan(10, 70, 60, 100))
    assert "10月底 累计 60%" in finding.message and "6月底 的 70%" in finding.message


@pytest.mark.parametrize(
    ("subject", "severity"),
    [
        (deadline("2025年6月底前完成"), Severity.WARNING),
        (deadline("2025年12月底前完成", 100, 100, 100, 100), Severity.INFO),
    ],
    ids=["deadline-too-early", "paid-early"],
)
def test_deadline_severity(subject: Project, severity: Severity) -> None:
    [finding] = findings(subject)
    assert finding.severity is severity


def test_identical_plans_are_one_department_finding() -> None:
    [finding] = findings(siblings((10, 40, 80, 100), (10, 40, 80, 100)))
    assert finding.project_code == ""
    assert "3 个项目" in finding.message and "10%/40%/80%/100%" in finding.message


def test_everything_in_december_has_its_own_message() -> None:
    messages = {f.code: f.message for f in findings(plan(None, None, None, 100))}
    assert messages["PT-PLAN-003"] == "资金支出计划 3月底、6月底、10月底 未填写，按 0% 计"
    assert "全部资金在 12月底 才支出" in messages["PT-PLAN-006"]

"""Structure rules (PT-STR-001…012, PT-STR-008b), PT-CLS-001 and the indicator-scheme helpers.

Each case is the clean project with one change, and says whether a code (at a severity) must
or must not be among the findings.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from perfxl.config import Config
from perfxl.model import Finding, Project, ReadResult, Severity
from perfxl.rules import RULES, validate
from perfxl.rules.scheme import (
    canonical_level1,
    canonical_level2,
    detect_scheme,
    is_capped_ratio,
    is_count_name,
    is_reverse_ratio,
    is_substantive,
    scheme_signals,
)
from tests.factories import CLEAN_CODE, CLEAN_ROWS, clean_project, department, indicator, rows

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
Row = tuple[str, str, str, str, str, str]
_FIELDS = ("level1", "level2", "level3", "description", "value", "basis")

# Scheme C version of the clean table: 成本 is a first level with 经济成本 under it.
C_ROWS: list[Row] = [
    ("成本指标", "经济成本指标", "人均培训成本", "培训费用/参训人数", "≤400元/人", "会议费标准"),
    *(r for r in CLEAN_ROWS if r[1] != "成本指标"),
]


def swap(index: int, **fields: str) -> Project:
    """Return the clean project with some fields of indicator row ``index`` replaced."""
    items = [list(r) for r in CLEAN_ROWS]
    for name, value in fields.items():
        items[index][_FIELDS.index(name)] = value
    return clean_project(indicators=rows(*((a, b, c, d, e, f) for a, b, c, d, e, f in items)))


def plus(*extra: Row, base: list[Row] = CLEAN_ROWS) -> Project:
    """Return the clean project (or one on ``base`` rows) with extra indicator rows."""
    return clean_project(indicators=rows(*base, *extra))


def without(drop: Callable[[Row], bool], base: list[Row] = CLEAN_ROWS) -> Project:
    """Return the clean project (or one on ``base`` rows) without the rows ``drop`` selects."""
    return clean_project(indicators=rows(*(r for r in base if not drop(r))))


def findings(project: Project, config: Config | None = None) -> list[Finding]:
    """Return every finding of every rule on a department holding only ``project``."""
    return validate(ReadResult(department=department(project)), config)


def found(fs: list[Finding], code: str, severity: Severity | None) -> bool:
    """Return True when ``code`` (at ``severity``, if given) is among the findings."""
    return any(f.code == code and (severity is None or f.severity is severity) for f in fs)


SCHEME_C = Config(scheme="C")
EXEMPT = Config(satisfaction_exempt=[CLEAN_CODE])
ROWS_21: list[Row] = [("产出指标", "数量指标", f"培训人数{n}", "参训人数", "≥1人", "计划") for n in range(21)]

CASES = [
    # PT-STR-001 required header fields
    pytest.param(clean_project(name=""), None, "PT-STR-001", E, True, id="001-no-name"),
    pytest.param(clean_project(code=""), None, "PT-STR-001", E, True, id="001-no-code"),
    pytest.param(clean_project(budget=None), None, "PT-STR-001", E, True, id="001-no-budget"),
    pytest.param(clean_project(fiscal_funds=None), None, "PT-STR-001", E, True, id="001-no-fiscal"),
    pytest.param(clean_project(use_of_funds=" "), None, "PT-STR-001", E, True, id="001-no-use"),
    pytest.param(clean_project(spending_plan=[None] * 4), None, "PT-STR-001", E, True, id="001-no-plan"),
    pytest.param(clean_project(goal=""), None, "PT-STR-001", E, True, id="001-no-goal"),
    pytest.param(clean_project(indicators=[]), None, "PT-STR-001", E, True, id="001-no-indicators"),
    pytest.param(clean_project(other_funds=None), None, "PT-STR-001", None, False, id="001-other-blank-ok"),
    pytest.param(
        clean_project(spending_plan=[None, None, None, Decimal(100)]),
        None, "PT-STR-001", None, False, id="001-partial-plan-ok",
    ),
    # PT-STR-002 label variants
    pytest.param(clean_project(label_variants=["项目编号"]), None, "PT-STR-002", INFO, True, id="002-variant"),
    pytest.param(clean_project(), None, "PT-STR-002", None, False, id="002-clean"),
    # PT-STR-003 first levels
    pytest.param(without(lambda r: r[0] == "效益指标"), None, "PT-STR-003", E, True, id="003-no-benefit"),
    pytest.param(without(lambda r: r[0] == "产出指标"), None, "PT-STR-003", E, True, id="003-no-output"),
    pytest.param(without(lambda r: r[0] == "满意度指标"), None, "PT-STR-003", W, True, id="003-no-sat"),
    pytest.param(without(lambda r: r[0] == "满意度指标"), EXEMPT, "PT-STR-003", None, False, id="003-exempt"),
    pytest.param(clean_project(), SCHEME_C, "PT-STR-003", E, True, id="003-c-needs-cost"),
    pytest.param(plus(base=C_ROWS), None, "PT-STR-003", None, False, id="003-c-table-ok"),
    pytest.param(swap(5, level1="效益"), None, "PT-STR-003", None, False, id="003-short-name-ok"),
    # PT-STR-004 second levels under 产出
    pytest.param(without(lambda r: r[1] == "数量指标"), None, "PT-STR-004", E, True, id="004-no-quantity"),
    pytest.param(without(lambda r: r[1] == "质量指标"), None, "PT-STR-004", W, True, id="004-no-quality"),
    pytest.param(without(lambda r: r[1] == "时效指标"), None, "PT-STR-004", W, True, id="004-no-time"),
    pytest.param(without(lambda r: r[1] == "成本指标"), None, "PT-STR-004", W, True, id="004-no-cost-h"),
    pytest.param(plus(base=C_ROWS), None, "PT-STR-004", None, False, id="004-c-no-cost-under-output"),
    pytest.param(swap(0, level2="数量"), None, "PT-STR-004", None, False, id="004-short-name-ok"),
    # PT-STR-005 substantive benefit
    pytest.param(swap(5, level3="不涉及", value="不涉及"), None, "PT-STR-005", E, True, id="005-all-placeholder"),
    pytest.param(swap(5, value="否"), None, "PT-STR-005", E, True, id="005-bare-no"),
    pytest.param(
        plus(("效益指标", "经济效益指标", "不涉及", "不涉及", "不涉及", "不涉及")),
        None, "PT-STR-005", None, False, id="005-placeholder-beside-real",
    ),
    # PT-STR-006 satisfaction outside the block
    pytest.param(
        plus(("效益指标", "可持续影响指标", "受训学员满意度", "满意学员占比", "≥95%", "问卷调查")),
        None, "PT-STR-006", E, True, id="006-sat-under-benefit",
    ),
    pytest.param(clean_project(), None, "PT-STR-006", None, False, id="006-clean"),
    # PT-STR-007 second level belongs to first level
    pytest.param(swap(2, level2="社会效益指标"), None, "PT-STR-007", E, True, id="007-social-under-output"),
    pytest.param(swap(5, level1="其他指标"), None, "PT-STR-007", E, True, id="007-unknown-level1"),
    pytest.param(swap(5, level2="环境效益"), None, "PT-STR-007", None, False, id="007-old-name-ok"),
    pytest.param(
        swap(6, level2="社会公众或服务对象满意度指标"), None, "PT-STR-007", None, False, id="007-long-sat-ok"
    ),
    # PT-STR-008 mixed schemes; 可持续影响 in Scheme C is info
    pytest.param(
        plus(("产出指标", "成本指标", "项目总成本", "项目总成本", "≤20万元", "预算批复"), base=C_ROWS),
        None, "PT-STR-008", E, True, id="008-mixed",
    ),
    pytest.param(
        plus(("效益指标", "可持续影响指标", "长效机制", "培训长效机制", "建立", "计划"), base=C_ROWS),
        None, "PT-STR-008", INFO, True, id="008-legacy-sustainable",
    ),
    pytest.param(plus(base=C_ROWS), None, "PT-STR-008", None, False, id="008-pure-c"),
    pytest.param(clean_project(), None, "PT-STR-008", None, False, id="008-pure-h"),
    # PT-STR-008b Gansu hybrid
    pytest.param(swap(4, level3="经济成本"), None, "PT-STR-008b", INFO, True, id="008b-hybrid"),
    pytest.param(clean_project(), None, "PT-STR-008b", None, False, id="008b-clean"),
    # PT-STR-009 incomplete rows
    pytest.param(swap(0, value=""), None, "PT-STR-009", E, True, id="009-empty-value"),
    pytest.param(swap(0, level3=""), None, "PT-STR-009", E, True, id="009-empty-name"),
    pytest.param(swap(0, basis=""), None, "PT-STR-009", W, True, id="009-empty-basis"),
    pytest.param(swap(0, description=""), None, "PT-STR-009", INFO, True, id="009-empty-description"),
    pytest.param(
        plus(("效益指标", "生态效益指标", "不涉及", "不涉及", "不涉及", "")),
        None, "PT-STR-009", None, False, id="009-placeholder-row-ok",
    ),
    # PT-STR-010 placeholder rows
    pytest.param(swap(2, level3="不涉及", value="不涉及"), None, "PT-STR-010", E, True, id="010-mandatory"),
    pytest.param(
        swap(2, level3="", description="", value="", basis=""), None, "PT-STR-010", E, True, id="010-empty-row"
    ),
    pytest.param(
        plus(("效益指标", "生态效益指标", "不涉及", "不涉及", "不涉及", "省厅要求")),
        None, "PT-STR-010", INFO, True, id="010-optional-with-basis",
    ),
    pytest.param(
        plus(("效益指标", "经济效益指标", "是否产生经济价值", "项目是否产生经济价值", "否", "经验")),
        None, "PT-STR-010", INFO, True, id="010-bare-no",
    ),
    pytest.param(
        plus(("效益指标", "生态效益指标", "不涉及", "不涉及", "不涉及", "不涉及")),
        None, "PT-STR-010", None, False, id="010-optional-no-basis",
    ),
    pytest.param(
        plus(("产出指标", "质量指标", "不涉及", "不涉及", "不涉及", "")),
        None, "PT-STR-010", E, False, id="010-filler-beside-real-quality",
    ),
    # PT-STR-011 number of substantive indicators
    pytest.param(
        without(lambda r: r[1] in ("数量指标", "时效指标")), None, "PT-STR-011", W, True, id="011-too-few"
    ),
    pytest.param(plus(*ROWS_21), None, "PT-STR-011", INFO, True, id="011-too-many"),
    pytest.param(without(lambda r: r[2] == "培训人数"), None, "PT-STR-011", None, False, id="011-six-ok"),
    # PT-STR-012 duplicate 三级
    pytest.param(swap(1, level3="培训人数"), None, "PT-STR-012", W, True, id="012-duplicate"),
    pytest.param(swap(1, level3="培训人次"), None, "PT-STR-012", None, False, id="012-distinct"),
    # PT-CLS-001 keyword misclassification
    pytest.param(
        swap(2, level3="月均报送量", description="月均报送户数", value="≥220家"),
        None, "PT-CLS-001", W, True, id="cls-count-under-quality",
    ),
    pytest.param(
        swap(3, level3="安全运行率", description="安全运行比率", value="≥95%"),
        None, "PT-CLS-001", W, True, id="cls-rate-under-time",
    ),
    pytest.param(
        swap(5, level3="为工信部提供监测数据", description="报送数据", value="按月报送"),
        None, "PT-CLS-001", W, True, id="cls-output-under-benefit",
    ),
    pytest.param(
        swap(5, level3="对经济效益提升比", description="经济效益提升比值", value="≥5%"),
        None, "PT-CLS-001", W, True, id="cls-economic-under-social",
    ),
    pytest.param(
        plus(("效益指标", "可持续影响指标", "受训学员满意度", "满意学员占比", "≥95%", "问卷调查")),
        None, "PT-CLS-001", None, False, id="cls-leaves-satisfaction-to-str006",
    ),
    pytest.param(
        swap(5, level3="为企业决策提供数据支撑", description="数据支撑决策", value="≥10%"),
        None, "PT-CLS-001", None, False, id="cls-benefit-wording-ok",
    ),
    pytest.param(clean_project(), None, "PT-CLS-001", None, False, id="cls-clean"),
    # PT-STR-013 a hidden project sheet, counted all the same
    pytest.param(clean_project(sheet="项目3", hidden=True), None, "PT-STR-013", W, True, id="013-hidden"),
    pytest.param(clean_project(sheet="项目3"), None, "PT-STR-013", None, False, id="013-visible"),
]  # fmt: skip


@pytest.mark.parametrize(("project", "config", "code", "severity", "fires"), CASES)
def test_structure_rule(
    project: Project, config: Config | None, code: str, severity: Severity | None, fires: bool
) -> None:
    fs = findings(project, config)
    assert found(fs, code, severity) is fires, [(f.code, f.severity.value, f.message) for f in fs]


def test_clean_project_has_no_error_or_warning() -> None:
    bad = [f for f in findings(clean_project()) if f.severity is not Severity.INFO]
    assert bad == []


def test_scheme_c_table_is_clean_for_structure_rules() -> None:
    mine = {c for c, r in RULES.items() if r.check.__module__ == "perfxl.rules.structure"}
    bad = [f for f in findings(plus(base=C_ROWS)) if f.code in mine and f.severity is not Severity.INFO]
    assert bad == []


def test_str001_reports_each_missing_field() -> None:
    project = clean_project(name="", budget=None, spending_plan=[None] * 4, indicators=[])
    fields = sorted(f.field for f in findings(project) if f.code == "PT-STR-001")
    assert fields == ["budget", "indicators", "name", "spending_plan"]


def test_str003_message_names_the_missing_level() -> None:
    fs = findings(without(lambda r: r[0] == "效益指标"))
    assert [f.message for f in fs if f.code == "PT-STR-003"] == ["缺少一级指标「效益指标」"]


def test_str006_points_at_the_indicator_cell() -> None:
    project = clean_project(
        indicators=[*rows(*CLEAN_ROWS), indicator("效益指标", "可持续影响指标", "受训学员满意度", "d", "≥95%", "b", 40)]
    )
    (f,) = [f for f in findings(project) if f.code == "PT-STR-006"]
    assert (f.field, f.cell, f.value) == ("level3", "C40", "受训学员满意度")


def test_str008b_is_its_own_info_code() -> None:
    assert RULES["PT-STR-008b"].severity is Severity.INFO
    assert RULES["PT-STR-008"].severity is Severity.ERROR


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("产出", "产出指标"), ("效益指标", "效益指标"), ("满意度 指标", "满意度指标"), ("成本", "成本指标")],
)
def test_canonical_level1(name: str, canonical: str) -> None:
    assert canonical_level1(name) == canonical


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("经济效益", "经济效益指标"),
        ("环境效益", "生态效益指标"),
        ("社会公众或服务对象满意度指标", "服务对象满意度指标"),
        ("服务对象满意度", "服务对象满意度指标"),
        ("满意度指标", "服务对象满意度指标"),
        ("可持续影响\n指标", "可持续影响指标"),
        ("经济成本", "经济成本指标"),
        ("自定义指标", "自定义指标"),
    ],
)
def test_canonical_level2(name: str, canonical: str) -> None:
    assert canonical_level2(name) == canonical


def test_detect_scheme_honours_config() -> None:
    h, c = clean_project(), plus(base=C_ROWS)
    assert (detect_scheme(h, Config()), detect_scheme(c, Config())) == ("H", "C")
    assert detect_scheme(h, Config(scheme="C")) == "C"
    assert detect_scheme(c, Config(scheme="H")) == "H"
    assert scheme_signals(plus(("产出指标", "成本指标", "x", "x", "≤1万元", "b"), base=C_ROWS)).mixed


@pytest.mark.parametrize(
    ("name", "capped", "reverse", "count"),
    [
        ("培训合格率", True, False, False),
        ("参训企业满意度", True, False, False),
        ("逾期发放率", False, True, False),
        ("不合格率", False, True, False),
        ("月均报送量", False, False, True),
        ("监测企业总量", False, False, True),
        ("企业数字化水平提升率", False, False, False),
    ],
)
def test_name_classes(name: str, capped: bool, reverse: bool, count: bool) -> None:
    assert (is_capped_ratio(name), is_reverse_ratio(name), is_count_name(name)) == (capped, reverse, count)


def test_substantive_rows() -> None:
    real, placeholder, blank = rows(
        CLEAN_ROWS[0], ("效益指标", "生态效益指标", "不涉及", "不涉及", "不涉及", ""), ("", "", "", "", "", "")
    )
    assert [is_substantive(i) for i in (real, placeholder, blank)] == [True, False, False]

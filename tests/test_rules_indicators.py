"""Indicator value, satisfaction and timeliness rules (PT-VAL-001…011, PT-SAT-001…004, PT-TIME-001).

Each case is the clean project with one indicator row changed (or added), and says whether a
code (at a severity) must or must not be among the findings. Row indices of the clean table:
0 培训人数, 1 举办培训场次, 2 培训合格率 (质量), 3 培训完成时间 (时效), 4 人均培训成本 (成本),
5 企业数字化水平提升率 (社会效益), 6 参训企业满意度 (满意度).
"""

from __future__ import annotations

import pytest

from perfxl.model import Finding, Project, ReadResult, Severity
from perfxl.rules import validate
from tests.factories import CLEAN_ROWS, clean_project, department, rows

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
Row = tuple[str, str, str, str, str, str]
_FIELDS = ("level1", "level2", "level3", "description", "value", "basis")


def swap(index: int, **fields: str) -> Project:
    """Return the clean project with some fields of indicator row ``index`` replaced."""
    items = [list(r) for r in CLEAN_ROWS]
    for name, value in fields.items():
        items[index][_FIELDS.index(name)] = value
    return clean_project(indicators=rows(*((a, b, c, d, e, f) for a, b, c, d, e, f in items)))


def plus(*extra: Row) -> Project:
    """Return the clean project with extra indicator rows."""
    return clean_project(indicators=rows(*CLEAN_ROWS, *extra))


def findings(project: Project, year: int | None = 2025) -> list[Finding]:
    """Return every finding of every rule on a department (of ``year``) holding only ``project``."""
    return validate(ReadResult(department=department(project, year=year)))


def found(fs: list[Finding], code: str, severity: Severity | None) -> bool:
    """Return True when ``code`` (at ``severity``, if given) is among the findings."""
    return any(f.code == code and (severity is None or f.severity is severity) for f in fs)


def value(index: int, text: str) -> Project:
    """Return the clean project with the 指标值 of row ``index`` replaced by ``text``."""
    return swap(index, value=text)


ENFORCEMENT = clean_project(
    name="安全生产监督管理",
    indicators=rows(
        *CLEAN_ROWS[:6], ("满意度指标", "服务对象满意度指标", "用户满意度", "满意用户占比", "≥95%", "问卷")
    ),
)

CASES = [
    # PT-VAL-001 unreadable value: TEXT only
    pytest.param(
        swap(5, level3="企业数字化水平", value="居全省前列"), "PT-VAL-001", W, True, id="val001-text"
    ),
    pytest.param(value(5, "有所提高"), "PT-VAL-001", None, False, id="val001-vague-is-val005"),
    pytest.param(value(0, "二450人"), "PT-VAL-001", W, True, id="val001-ocr-operator"),
    pytest.param(value(0, "450人左右"), "PT-VAL-001", W, True, id="val001-estimate"),
    pytest.param(value(0, "450人左右"), "PT-VAL-007", None, False, id="val007-estimate-is-val001"),
    pytest.param(value(0, "二450人"), "PT-VAL-007", None, False, id="val007-ocr-operator-read-as-ge"),
    pytest.param(value(5, "达标"), "PT-VAL-001", None, False, id="val001-graded-ok"),
    pytest.param(
        swap(5, level3="企业服务", value="企业服务"), "PT-VAL-001", None, False, id="val001-echo-is-val004"
    ),
    # PT-VAL-002 rate without %
    pytest.param(value(2, "≥95"), "PT-VAL-002", W, True, id="val002-rate"),
    pytest.param(value(6, "≥90"), "PT-VAL-002", E, True, id="val002-satisfaction"),
    pytest.param(value(5, "≥0.1"), "PT-VAL-002", W, True, id="val002-decimal-ratio"),
    pytest.param(value(2, "≥95%"), "PT-VAL-002", None, False, id="val002-percent-ok"),
    pytest.param(value(0, "≥450人"), "PT-VAL-002", None, False, id="val002-count-ok"),
    # PT-VAL-003 capped ratios
    pytest.param(value(2, "≥100%"), "PT-VAL-003", E, True, id="val003-capped-ge-100"),
    pytest.param(value(2, ">100%"), "PT-VAL-003", E, True, id="val003-capped-gt-100"),
    pytest.param(value(2, "=100%"), "PT-VAL-003", None, False, id="val003-eq-100-ok"),
    pytest.param(value(2, "100%"), "PT-VAL-003", None, False, id="val003-plain-100-ok"),
    pytest.param(
        swap(2, level3="月均报送质量", description="报送数据质量", value="≥100%"),
        "PT-VAL-003", E, True, id="val003-quality-share",
    ),
    pytest.param(
        swap(5, level3="企业参训比例", description="参训企业/企业总数", value="=120%"),
        "PT-VAL-003", E, True, id="val003-over-100",
    ),
    pytest.param(
        swap(5, level3="企业产值增长率", description="同比增长", value="≥150%"),
        "PT-VAL-003", None, False, id="val003-growth-may-exceed",
    ),
    pytest.param(
        plus(("产出指标", "质量指标", "学员投诉率", "投诉人数/参训人数", "≥5%", "方案")),
        "PT-VAL-003", W, True, id="val003-reverse-ge",
    ),
    pytest.param(
        plus(("产出指标", "质量指标", "学员投诉率", "投诉人数/参训人数", "≤5%", "方案")),
        "PT-VAL-003", None, False, id="val003-reverse-le-ok",
    ),
    # PT-VAL-004 value repeats the name or description
    pytest.param(
        swap(5, level3="公益性服务", description="为企业提供公益性服务", value="公益性服务"),
        "PT-VAL-004", E, True, id="val004-equals-name",
    ),
    pytest.param(
        swap(5, level3="业务应用情况", description="培训内容对学员实际工作的提升效果",
             value="培训内容对学员实际工作的提升效果"),
        "PT-VAL-004", E, True, id="val004-equals-description",
    ),
    pytest.param(
        swap(5, level3="为工信部提供监测数据", description="报送监测数据", value="提供监测数据"),
        "PT-VAL-004", E, True, id="val004-six-char-part",
    ),
    pytest.param(
        swap(5, level3="公益性服务活动", description="举办活动", value="公益性服务"),
        "PT-VAL-004", None, False, id="val004-five-char-part-ok",
    ),
    pytest.param(
        swap(3, description="2025年12月底前完成全部培训"), "PT-VAL-004", None, False, id="val004-deadline-ok"
    ),
    # PT-VAL-005 vague values
    pytest.param(value(5, "有所提高"), "PT-VAL-005", W, True, id="val005-vague"),
    pytest.param(value(5, "持续推动"), "PT-VAL-005", W, True, id="val005-vague-2"),
    pytest.param(value(5, "达标"), "PT-VAL-005", None, False, id="val005-graded-ok"),
    # PT-VAL-006 unit vs meaning
    pytest.param(
        swap(5, level3="主页点击量", description="主页点击次数", value="≥1万人"),
        "PT-VAL-006", W, True, id="val006-clicks-in-people",
    ),
    pytest.param(
        swap(0, level3="特派团成员数量", description="成员人数", value="5家"), "PT-VAL-006", W, True,
        id="val006-members-in-firms",
    ),
    pytest.param(value(0, "≥450人次"), "PT-VAL-006", W, True, id="val006-persons-vs-person-times"),
    pytest.param(value(0, "≥95%"), "PT-VAL-006", W, True, id="val006-count-in-percent"),
    pytest.param(
        swap(0, level3="每次参加培训人数", description="参加培训的人次", value="≥158人"), "PT-VAL-006", W, True,
        id="val006-per-session-name-total-description",
    ),
    pytest.param(
        swap(0, level3="每场培训人数", description="每场参加培训的人数", value="≥30人"), "PT-VAL-006", None, False,
        id="val006-per-session-ok",
    ),
    pytest.param(
        swap(5, level3="主页点击量", description="主页点击次数", value="≥1万次"),
        "PT-VAL-006", None, False, id="val006-clicks-in-times-ok",
    ),
    # PT-VAL-007 no operator
    pytest.param(value(0, "450人"), "PT-VAL-007", INFO, True, id="val007-implicit"),
    pytest.param(value(0, "≥450人"), "PT-VAL-007", None, False, id="val007-explicit"),
    pytest.param(value(0, "450人以上"), "PT-VAL-007", None, False, id="val007-suffix-operator"),
    # PT-VAL-008 type mismatch
    pytest.param(
        swap(3, level3="资金下达及时率", description="及时下达资金", value="预计2025年年底前完成"),
        "PT-VAL-008", W, True, id="val008-rate-with-date",
    ),
    pytest.param(value(3, "≥95%"), "PT-VAL-008", W, True, id="val008-date-with-rate"),
    pytest.param(
        swap(3, level3="资金下达及时率", description="及时下达资金", value="≥95%"),
        "PT-VAL-008", None, False, id="val008-rate-with-rate-ok",
    ),
    # PT-VAL-009 description embeds the target
    pytest.param(swap(6, description="参训企业满意度90%以上"), "PT-VAL-009", INFO, True, id="val009-embedded"),
    pytest.param(swap(6, description="满意度不低于90%"), "PT-VAL-009", INFO, True, id="val009-operator"),
    pytest.param(clean_project(), "PT-VAL-009", None, False, id="val009-formula-ok"),
    # PT-VAL-010 description repeats the name
    pytest.param(swap(0, description="培训人数"), "PT-VAL-010", INFO, True, id="val010-repeat"),
    pytest.param(clean_project(), "PT-VAL-010", None, False, id="val010-clean"),
    # PT-VAL-011 count with a non-numeric value
    pytest.param(value(0, "大量学员"), "PT-VAL-011", W, True, id="val011-text"),
    pytest.param(value(0, "较上年增加"), "PT-VAL-011", W, True, id="val011-vague"),
    pytest.param(value(0, "≥450人"), "PT-VAL-011", None, False, id="val011-numeric-ok"),
    # PT-SAT-001 satisfaction value
    pytest.param(value(6, "≥90"), "PT-SAT-001", E, True, id="sat001-no-percent"),
    pytest.param(value(6, "较高"), "PT-SAT-001", E, True, id="sat001-text"),
    pytest.param(value(6, "=90%"), "PT-SAT-001", W, True, id="sat001-operator"),
    pytest.param(value(6, "≥80%"), "PT-SAT-001", W, True, id="sat001-low"),
    pytest.param(value(6, "≥99%"), "PT-SAT-001", INFO, True, id="sat001-ceiling"),
    pytest.param(value(6, "≥85%"), "PT-SAT-001", None, False, id="sat001-at-minimum-ok"),
    pytest.param(value(6, "90%以上"), "PT-SAT-001", None, False, id="sat001-suffix-ok"),
    # PT-SAT-002 survey subject
    pytest.param(swap(6, level3="省厅满意度"), "PT-SAT-002", INFO, True, id="sat002-superior"),
    pytest.param(ENFORCEMENT, "PT-SAT-002", INFO, True, id="sat002-enforcement-users"),
    pytest.param(swap(6, level3="用户满意度"), "PT-SAT-002", None, False, id="sat002-users-ok"),
    # PT-SAT-004 satisfaction block without a measure
    pytest.param(
        swap(6, level3="为工信厅提供监测企业数据总量", description="数据总量排名", value="前十名"),
        "PT-SAT-004", E, True, id="sat004-no-measure",
    ),
    pytest.param(value(6, "较高"), "PT-SAT-004", E, True, id="sat004-text-value"),
    pytest.param(value(6, "≥90"), "PT-SAT-004", None, False, id="sat004-number-without-percent-is-sat001"),
    pytest.param(clean_project(), "PT-SAT-004", None, False, id="sat004-clean"),
    # PT-TIME-001 timeliness value
    pytest.param(value(3, "每半年一次"), "PT-TIME-001", W, True, id="time-frequency"),
    pytest.param(value(3, "180"), "PT-TIME-001", W, True, id="time-bare-number"),
    pytest.param(value(3, "及时完成培训任务"), "PT-TIME-001", W, True, id="time-text"),
    pytest.param(value(3, "2024年12月底前完成"), "PT-TIME-001", W, True, id="time-other-year"),
    pytest.param(value(3, "2025年6月底前"), "PT-TIME-001", None, False, id="time-deadline-ok"),
    pytest.param(value(3, "30个工作日内"), "PT-TIME-001", None, False, id="time-relative-ok"),
    pytest.param(value(3, "≤15天"), "PT-TIME-001", None, False, id="time-duration-ok"),
    pytest.param(
        swap(3, level3="培训按期完成率", description="按期完成场次/计划场次", value="≥95%"),
        "PT-TIME-001", None, False, id="time-rate-ok",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("project", "code", "severity", "fires"), CASES)
def test_indicator_rule(project: Project, code: str, severity: Severity | None, fires: bool) -> None:
    fs = findings(project)
    assert found(fs, code, severity) is fires, [(f.code, f.severity.value, f.message) for f in fs]


def test_deadline_year_is_skipped_without_a_department_year() -> None:
    assert not found(findings(value(3, "2024年12月底前完成"), year=None), "PT-TIME-001", None)


def test_clean_project_has_no_error_or_warning() -> None:
    bad = [f for f in findings(clean_project()) if f.severity is not Severity.INFO]
    assert bad == []


def test_val003_message_quotes_name_and_value() -> None:
    (f,) = [f for f in findings(value(2, "≥100%")) if f.code == "PT-VAL-003"]
    assert f.message == (
        "「培训合格率」的指标值「≥100%」为封顶比率却要求达到或超过 100%，应为「=100%」或低于 100% 的目标"
    )
    assert (f.field, f.value, f.cell) == ("value", "≥100%", "E12")


def test_unreadable_value_is_reported_once() -> None:
    fs = findings(swap(2, level3="资金下达及时率", value="预计年底前完成相关工作"))
    assert [f.code for f in fs if f.field == "value" and f.severity is not Severity.INFO] == ["PT-VAL-008"]


@pytest.mark.parametrize(("count_value", "fires"), [("1人", True), ("2户", True), ("≥3人", False), ("50人", False)])
def test_satisfaction_over_tiny_population(count_value: str, fires: bool) -> None:
    project = clean_project(
        indicators=rows(
            ("产出指标", "数量指标", "受到补助人数", "受到补助人数", count_value, "补助通知"),
            *CLEAN_ROWS[1:],
        )
    )
    codes = {f.code for f in validate(ReadResult(department=department(project)))}
    assert ("PT-SAT-003" in codes) is fires


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("二450人", "开头的「二」疑似「≥」的识别错误，已按「≥」读取"),
        ("450人左右", "是约数（左右），无法考核是否达到，请写明运算符和目标值，如「≥450人」"),
    ],
)
def test_ocr_noise_and_estimates_say_what_to_write(raw: str, says: str) -> None:
    [finding] = [f for f in findings(value(0, raw)) if f.code == "PT-VAL-001"]
    assert f"的指标值「{raw}」{says}" in finding.message

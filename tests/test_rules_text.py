"""Text, reference and cross-project rules (PT-TXT-001…006, PT-XPR-001/002, PT-DEPT-001/002).

Each case is the clean project, or a department of it and a second consistent project, with
one change, and the exact set of PT-TXT/PT-XPR/PT-DEPT codes it must raise.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from perfxl.config import Config, Thresholds
from perfxl.model import Department, Finding, Project, Severity, SubGoal
from perfxl.rules.registry import run_rules
from perfxl.rules.text import doc_numbers, promises, related, typos
from tests.factories import CLEAN_ROWS, OTHER_CODE, clean_project, department, rows

PREFIXES = ("PT-TXT-", "PT-XPR-", "PT-DEPT-")
D = Decimal
GOAL = "1. 2025年12月底前支出20万元用于举办3场中小企业数字化转型培训，培训450人以上，以提升企业数字化水平。"

DIAGNOSIS_ROWS = [
    ("产出指标", "数量指标", "诊断企业数量", "完成数字化转型诊断的企业数量", "≥50家", "年度工作计划"),
    ("产出指标", "质量指标", "诊断报告合格率", "通过验收的诊断报告数/诊断报告总数*100%", "≥95%", "服务合同"),
    ("产出指标", "时效指标", "诊断完成时间", "全部诊断完成的时间", "2025年11月底前完成", "服务合同"),
    ("产出指标", "成本指标", "单家企业诊断费用", "诊断服务费/诊断企业数", "≤7000元/家", "服务合同"),
    ("效益指标", "社会效益指标", "企业数字化改造意愿提升率", "诊断后制定改造计划的企业比例", "≥30%", "行业标准"),
    ("满意度指标", "服务对象满意度指标", "受诊断企业满意度", "满意和较满意企业数/调查企业数*100%", "≥90%", "问卷调查"),
]


def diagnosis(**changes: Any) -> Project:
    """Return a second consistent project of the same department (35 万元 of diagnosis services)."""
    fields: dict[str, Any] = {
        "code": OTHER_CODE,
        "name": "中小企业数字化转型诊断服务",
        "budget": D(35),
        "fiscal_funds": D(35),
        "use_of_funds": "资金用于委托第三方机构为中小企业开展数字化转型诊断，支付诊断服务费用。",
        "goal": "1. 2025年12月底前支出35万元用于委托第三方机构为50家中小企业开展数字化转型诊断。",
        "indicators": rows(*DIAGNOSIS_ROWS),
    }
    fields.update(changes)
    return clean_project(**fields)


def advanced(budget: int = 20, people: int = 450) -> Project:
    """Return a copy of the clean project's indicator table for a follow-up course."""
    table = [(*r[:4], f"≥{people}人", r[5]) if r[2] == "培训人数" else r for r in CLEAN_ROWS]
    return clean_project(
        code=OTHER_CODE,
        name="中小企业数字化转型进阶培训",
        budget=D(budget),
        fiscal_funds=D(budget),
        use_of_funds="资金用于举办中小企业数字化转型进阶培训，支付专家讲课费用。",
        goal=f"1. 2025年12月底前支出{budget}万元用于举办3场进阶培训，培训{people}人以上。",
        indicators=rows(*table),
    )


def carried_over(budget: int, counted: dict[str, str] | None = None) -> Project:
    """Return last year's version of the clean project: descriptions reworded, quantity targets kept.

    ``counted`` replaces the 描述 of the 数量 rows named by their 三级.
    """
    table = [
        (*r[:3], (counted or {}).get(r[2], r[3].replace("年度内", "本年度").replace("企业", "")), *r[4:])
        if r[1] == "数量指标"
        else (*r[:3], f"反映{r[3]}情况", *r[4:])
        for r in CLEAN_ROWS
    ]
    return clean_project(
        code=OTHER_CODE, name="数字化转型培训（上年续建）", budget=D(budget), fiscal_funds=D(budget),
        use_of_funds="继续举办数字化转型培训班，支付讲课和场地费用。",
        goal=f"1. 2025年12月底前支出{budget}万元，继续举办3场培训，培训450人以上。", indicators=rows(*table),
    )  # fmt: skip


def with_basis(basis: str, **changes: Any) -> Project:
    """Return the clean project whose first indicator cites ``basis``."""
    table = [(*CLEAN_ROWS[0][:5], basis), *CLEAN_ROWS[1:]]
    return clean_project(indicators=rows(*table), **changes)


def named(name: str) -> Project:
    """Return the clean project under another name."""
    return clean_project(name=name)


def goal(text: str) -> Project:
    """Return the clean project with another 绩效目标."""
    return clean_project(goal=text)


def use(text: str) -> Project:
    """Return the clean project with another 资金用途."""
    return clean_project(use_of_funds=text)


def with_sub_goals(*subs: SubGoal) -> Department:
    """Return the clean department with Part 1 分项绩效目标."""
    return department(clean_project(), sub_goals=list(subs))


def findings(subject: Project | Department, config: Config | None = None) -> list[Finding]:
    """Return the text findings on ``subject`` (a project is put in a department of its own)."""
    dept = subject if isinstance(subject, Department) else department(subject)
    return [f for f in run_rules(dept, config or Config()) if f.code.startswith(PREFIXES)]


GONGXIN_ROW = (
    "效益指标",
    "社会效益指标",
    "工信领域企业数字化覆盖率",
    "参训企业中完成数字化改造的比例",
    "≥10%",
    "行业标准",
)
SATISFACTION_95 = SubGoal(title="中小企业数字化转型培训", indicators="服务对象满意度指标达到95%以上。")
SATISFACTION_90 = SubGoal(title="中小企业数字化转型培训", indicators="服务对象满意度指标达到90%以上。")

CASES: list[tuple[str, Project | Department, set[str]]] = [
    ("clean", clean_project(), set()),
    ("two-distinct-projects", department(clean_project(), diagnosis()), set()),
    # PT-TXT-001
    ("txt001-no-quantity-no-deadline", goal("1.保障正常工作高效运转，提高企业积极性"), {"PT-TXT-001"}),
    ("txt001-no-deadline", goal("1. 支出20万元用于举办3场中小企业数字化转型培训，培训450人以上。"), {"PT-TXT-001"}),
    ("txt001-year-end-is-a-deadline", goal("1. 年底前支出20万元用于举办3场数字化转型培训，培训450人以上。"), set()),
    # PT-TXT-002
    ("txt002-promise-differs", goal("1. 2025年12月底前支付20万元，举办3场公益培训，培训人360以上。"), {"PT-TXT-002"}),
    ("txt002-promise-missing", goal(GOAL.replace("以提升", "覆盖50家企业，以提升")), {"PT-TXT-002"}),
    ("txt002-activity-uncovered", named("中小企业数字化转型培训、专家费"), {"PT-TXT-002"}),
    ("txt002-activity-covered", named("中小企业数字化转型培训、培训资料费"), set()),
    ("txt002-use-activity-uncovered", use("资金用于举办中小企业数字化转型培训，开展企业调研。"), {"PT-TXT-002"}),
    ("txt002-use-activity-covered", use("资金用于举办中小企业数字化转型培训，支付专家讲课费用。"), set()),
    (
        "txt002-use-activity-in-the-name",
        clean_project(name="企业调研经费", use_of_funds="用于开展企业调研。"),
        {"PT-TXT-002"},
    ),
    (
        "txt002-activity-abbreviated",
        clean_project(name="数字化转型培训费和工业和信息化工作经费", indicators=rows(*CLEAN_ROWS, GONGXIN_ROW)),
        set(),
    ),
    # PT-TXT-003
    ("txt003-source-only", use("根据省工业和信息化厅资金分配意见，获得省级中小企业发展专项资金"), {"PT-TXT-003"}),
    ("txt003-source-and-use", use("获得省级中小企业发展专项资金，用于举办中小企业数字化转型培训。"), set()),
    ("txt003-unrelated", named("遵化市智慧城市指挥中心电费"), {"PT-TXT-003"}),
    (
        "txt003-related-by-characters",
        clean_project(name="清欠摸排工作经费", use_of_funds="资金用于清理拖欠企业账款专班开展集中培训和督导整改。"),
        {"PT-TXT-002"},  # 督导 has no indicator
    ),
    # PT-TXT-004
    (
        "txt004-same-use",
        department(clean_project(), diagnosis(use_of_funds=clean_project().use_of_funds)),
        {"PT-TXT-004", "PT-TXT-002"},  # the copied use pays for 培训, which no 诊断 indicator counts
    ),
    (
        "txt004-same-use-but-amounts",
        department(
            clean_project(use_of_funds="预算数 20 万元。资金用于举办中小企业数字化转型培训。"),
            diagnosis(use_of_funds="预算数 35 万元。资金用于举办中小企业数字化转型培训。"),
        ),
        {"PT-TXT-004", "PT-TXT-002"},
    ),
    ("txt004-copied-rows", department(clean_project(), advanced()), {"PT-TXT-004"}),
    # PT-XPR-002
    ("xpr002-same-targets-more-money", department(clean_project(), advanced(budget=35)), {"PT-TXT-004", "PT-XPR-002"}),
    ("xpr002-targets-scale-with-money", department(clean_project(), advanced(budget=35, people=800)), {"PT-TXT-004"}),
    # 承德 P9 and P12: reworded descriptions, the same 235 people and 4 reports for 6.60 and 4.10 万元.
    ("xpr002-carried-over-reworded", department(clean_project(), carried_over(budget=35)), {"PT-XPR-002"}),
    ("xpr002-carried-over-same-money", department(clean_project(), carried_over(budget=20)), set()),
    # 承德's two conferences: 召开会议数量 1次 each, but the description names a different event.
    (
        "xpr002-same-count-other-output",
        department(
            clean_project(), carried_over(budget=35, counted={"培训人数": "年度内参加钒钛产业大会的企业代表人数"})
        ),
        set(),
    ),
    # PT-TXT-005
    ("txt005-doubled-and-misspelt", goal(GOAL.replace("以提升", "提高企业极积性，以提升中中")), {"PT-TXT-005"}),
    ("txt005-doubled-word", use("资金用于举办中小企业企业数字化转型培训。"), {"PT-TXT-005"}),
    ("txt005-latin-word", with_basis("培训 workflow 方案"), {"PT-TXT-005"}),
    ("txt005-stray-space", use("资金用于举办中小企业数字 化转型培训。"), {"PT-TXT-005"}),
    ("txt005-real-reduplication", use("资金用于层层落实中小企业数字化转型培训，承德市市直单位参加。"), set()),
    ("txt005-part-one", department(safeguards="完善工作机制和 workflows，落实各项制度。"), {"PT-TXT-005"}),
    # PT-TXT-006
    (
        "txt006-year-differs",
        with_basis("冀财建〔2025〕274号", name="冀财建〔2024〕274号数字化转型培训"),
        {"PT-TXT-006"},
    ),
    ("txt006-same-citation", with_basis("冀财建〔2024〕274号", name="冀财建〔2024〕274号数字化转型培训"), set()),
    ("txt006-square-brackets", named("冀财建【2024】274号数字化转型培训"), {"PT-TXT-006"}),
    ("txt006-doubled-bracket", named("冀财建[2024]]274号数字化转型培训"), {"PT-TXT-006"}),
    ("txt006-policy-without-number", with_basis("《关于做好中小企业培训工作的通知》"), {"PT-TXT-006"}),
    # PT-XPR-001
    ("xpr001-same-name", department(clean_project(), diagnosis(name="中小企业数字化转型培训")), {"PT-XPR-001"}),
    # PT-DEPT-001
    ("dept001-other-name", department(title_unit_name="承德市工信局"), {"PT-DEPT-001"}),
    ("dept001-benji-dropped", department(title_unit_name="承德市工业和信息化局本级"), set()),
    # PT-DEPT-002
    ("dept002-satisfaction-conflict", with_sub_goals(SATISFACTION_95), {"PT-DEPT-002"}),
    ("dept002-satisfaction-agrees", with_sub_goals(SATISFACTION_90), set()),
    ("dept002-unmapped", with_sub_goals(SATISFACTION_90, SubGoal(title="钒钛产业大会经费")), {"PT-DEPT-002"}),
    ("dept002-thematic-part-one", with_sub_goals(SubGoal(title="全力推动工业经济回升向好")), set()),
]


@pytest.mark.parametrize(("subject", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_text_rules(subject: Project | Department, expected: set[str]) -> None:
    assert {f.code for f in findings(subject)} == expected


def test_cross_project_findings_name_the_copy() -> None:
    found = findings(department(clean_project(), advanced(budget=35)))
    assert {f.project_code for f in found} == {OTHER_CODE}
    xpr = next(f for f in found if f.code == "PT-XPR-002")
    assert "20.00 万元" in xpr.message and "35.00 万元" in xpr.message and "培训人数 ≥450人" in xpr.message


def test_copy_names_the_first_earlier_project_copied() -> None:
    found = findings(department(diagnosis(), clean_project(), advanced()))
    [copy] = [f for f in found if f.code == "PT-TXT-004"]
    assert copy.project_name == "中小企业数字化转型进阶培训"
    assert copy.message.startswith("与第 2 个项目「中小企业数字化转型培训」的绩效指标（7/7 行）相同")


def test_copy_threshold_zero_makes_any_two_tables_similar() -> None:
    config = Config(thresholds=Thresholds(copy_similarity=D(0)))
    found = [f for f in findings(department(clean_project(), diagnosis()), config) if f.code == "PT-TXT-004"]
    assert [f.message for f in found] == [
        "与第 1 个项目「中小企业数字化转型培训」的绩效指标（0/7 行）相同，疑似复制后未按本项目修改"
    ]


def test_same_name_marks_both_projects() -> None:
    found = findings(department(clean_project(), diagnosis(name="中小企业数字化转型培训")))
    assert len(found) == 2 and all(f.code == "PT-XPR-001" for f in found)


def test_doc_number_year_mismatch_is_an_error_on_the_basis() -> None:
    found = findings(with_basis("冀财建【2025】274号", name="冀财建[2024]]274号数字化转型培训"))
    severities = {f.severity for f in found}
    assert severities == {Severity.ERROR, Severity.INFO}
    error = next(f for f in found if f.severity is Severity.ERROR)
    assert error.field == "basis" and "冀财建[2024]]274号" in error.message and "冀财建【2025】274号" in error.message


def test_promise_message_quotes_the_goal() -> None:
    [finding] = findings(goal("1. 2025年12月底前支付20万元，举办3场公益培训，培训人360以上。"))
    assert finding.message == "绩效目标承诺「培训人360以上」，而指标「培训人数」为「≥450人」，两者不一致"


def test_part_one_typos_point_at_part_one() -> None:
    [finding] = findings(department(safeguards="提出提高资金使用效益的意见意见。"))
    assert finding.project_code == "" and finding.field == "safeguards"
    assert finding.message == "第一部分工作保障措施：「意见意见」疑似重复输入"


@pytest.mark.parametrize(
    ("text", "prefix", "year", "number", "standard"),
    [
        ("冀财建[2024]269号", "冀财建", 2024, 269, False),
        ("冀财建【2024】269号", "冀财建", 2024, 269, False),
        ("冀财建[2024]]274号", "冀财建", 2024, 274, False),
        ("根据冀财建〔2024〕 269 号文件", "冀财建", 2024, 269, True),
        ("遵办〔2019〕43号", "遵办", 2019, 43, True),
    ],
)
def test_doc_numbers(text: str, prefix: str, year: int, number: int, standard: bool) -> None:
    [ref] = doc_numbers(text)
    assert (ref.prefix, ref.year, ref.number, ref.standard) == (prefix, year, number, standard)
    assert ref.official == f"{prefix}〔{year}〕{number}号"


def test_promises_in_a_goal() -> None:
    found = promises("1. 2025年12月底前支付7.2053万元，举办3场公益服务活动，培训人360以上，服务三场次。")
    assert [(p.text, p.number, p.unit) for p in found] == [("3场", D(3), "场"), ("培训人360以上", D(360), "人")]


@pytest.mark.parametrize(
    ("text", "notes"),
    [
        ("及时排查生产工作中中的不安全生产事故", ["「中中」疑似重复输入"]),
        ("提高企业极积性", ["「极积性」应为「积极性」"]),
        ("对中小企业企业创新发展", ["「企业企业」疑似重复输入"]),
        ("完善工作机制和 workflows", ["中文中夹有英文单词「workflows」"]),
        ("参加培训 人数", ["「加培训 人数」中有多余空格"]),
        ("目标任务层层分解，承德市市直单位，河北省省级资金", []),
        ("APP 下载量 ≥1000 次，约 5 km", []),
    ],
)
def test_typos(text: str, notes: list[str]) -> None:
    assert typos(text) == notes


@pytest.mark.parametrize(
    ("name", "use_text", "expected"),
    [
        ("遵化市智慧城市指挥中心电费", "主要用于开展科技政策培训，组织专家讲座经费。", False),
        ("清欠摸排工作经费", "资金用于清理拖欠企业账款专班开展集中培训。", True),
        ("冀财建[2024]269号提前下达2025年省级中小企业发展专项资金", "获得省级中小企业发展专项资金", True),
        ("钒钛产业大会经费", "用于召开钒钛大会。", True),
    ],
)
def test_related(name: str, use_text: str, expected: bool) -> None:
    assert related(name, use_text) is expected

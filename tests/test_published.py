"""The published-text reader on the two real seed documents, and on inputs it must refuse."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfxl.errors import SourceError
from perfxl.model import Project, ReadResult, Severity, public_department
from perfxl.readers.published import parse_published, read_published
from perfxl.textnorm import squash

EXAMPLES = Path(__file__).parent.parent / "examples"
CHENGDE = "chengde-2025.txt"
ZUNHUA = "zunhua-2025.txt"

Row = tuple[str, ...]


@cache
def _read(name: str) -> ReadResult:
    return read_published(EXAMPLES / name)


@cache
def _text(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def _project(name: str, number: int) -> Project:
    return _read(name).department.projects[number - 1]


def _rows(project: Project) -> list[Row]:
    return [(i.level1, i.level2, i.level3, i.description, i.value, i.basis) for i in project.indicators]


def _part2(name: str) -> str:
    """Return the seed cut at its 第二部分 heading: project tables only, no Part 1, no title."""
    lines = _text(name).split("\n")
    start = next(n for n, line in enumerate(lines) if line.strip() == "第二部分")
    return "\n".join(lines[start:])


# --- whole documents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "projects", "indicators", "budget", "year", "unit_code", "unit_name", "title_unit_name"),
    [
        (CHENGDE, 15, 109, Decimal("435.16"), 2025, "593001", "承德市工业和信息化局本级", "承德市工业和信息化局"),
        (ZUNHUA, 8, 50, Decimal("497.12"), 2025, "471001", "遵化市数据科技和工业信息化局本级", "遵化市工业和信息化局"),
    ],
)
def test_seed_totals(
    name: str,
    projects: int,
    indicators: int,
    budget: Decimal,
    year: int,
    unit_code: str,
    unit_name: str,
    title_unit_name: str,
) -> None:
    result = _read(name)
    dept = result.department
    assert len(dept.projects) == projects
    assert sum(len(p.indicators) for p in dept.projects) == indicators
    assert sum(p.budget or Decimal(0) for p in dept.projects) == budget
    assert (dept.year, dept.unit_code, dept.unit_name) == (year, unit_code, unit_name)
    assert dept.title_unit_name == title_unit_name
    assert dept.source_file == str(EXAMPLES / name)
    assert result.findings == []
    assert all(p.unit_code == unit_code and p.unit_name == unit_name for p in dept.projects)


def _plan(*values: int | None) -> list[Decimal | None]:
    return [None if v is None else Decimal(v) for v in values]


@pytest.mark.parametrize(
    ("name", "number", "code", "budget", "plan"),
    [
        (CHENGDE, 1, "13080024P00009410007M", "3.58", _plan(None, None, None, 100)),
        (CHENGDE, 2, "13080025P00009010007D", "35.85", _plan(None, None, None, 100)),
        (CHENGDE, 3, "13080025P00008710005N", "40.00", _plan(None, 100, 100, 100)),
        (CHENGDE, 4, "13080025P00009110005U", "15.00", _plan(100, 100, 100, 100)),
        (CHENGDE, 5, "13080025P000089100052", "81.00", _plan(20, 50, 75, 100)),
        (CHENGDE, 6, "13080025P000086100051", "45.00", _plan(None, 50, 50, 100)),
        (CHENGDE, 7, "13080025P000088100060", "18.00", _plan(None, 100, 100, 100)),
        (CHENGDE, 8, "13080025P00009410006G", "145.12", _plan(100, 100, 100, None)),
        (CHENGDE, 9, "13080025P00011310003X", "6.60", _plan(None, 50, 50, 100)),
        (CHENGDE, 10, "13080025P000114100072", "3.20", _plan(None, None, None, 100)),
        (CHENGDE, 11, "13080025P00010610003P", "10.00", _plan(None, None, None, 100)),
        (CHENGDE, 12, "13080024P00010110006P", "4.10", _plan(None, 10, 20, 100)),
        (CHENGDE, 13, "13080024P00025310002G", "12.84", _plan(100, 100, 100, None)),
        (CHENGDE, 14, "13080024P000098100080", "7.21", _plan(None, 50, 100, 100)),
        (CHENGDE, 15, "13080024P00009910005T", "7.66", _plan(None, 10, 20, 100)),
        (ZUNHUA, 1, "13028125P00007610004M", "17.00", _plan(30, 60, 90, 100)),
        (ZUNHUA, 2, "13028125P00003310001W", "3.90", _plan(30, 60, 90, 100)),
        (ZUNHUA, 3, "13028125P00003410001J", "123.83", _plan(30, 60, 90, 100)),
        (ZUNHUA, 4, "13028125P000032100017", "90.00", _plan(30, 60, 90, 100)),
        (ZUNHUA, 5, "13028125P000038100019", "124.39", _plan(30, 60, 90, 100)),
        (ZUNHUA, 6, "13028125P00003110001H", "10.00", _plan(30, 60, 90, 100)),
        (ZUNHUA, 7, "13028125P00007810003D", "82.00", _plan(30, 60, 90, 100)),
        (ZUNHUA, 8, "13028125P000082100046", "46.00", _plan(30, 60, 90, 100)),
    ],
)
def test_project_code_budget_plan(name: str, number: int, code: str, budget: str, plan: list[Decimal | None]) -> None:
    project = _project(name, number)
    assert project.code == code
    assert project.budget == Decimal(budget)
    assert project.fiscal_funds == Decimal(budget)
    assert project.other_funds is None  # the seeds leave 其他资金 blank
    assert project.raw["budget"] == budget
    assert project.spending_plan == plan


@pytest.mark.parametrize(
    ("name", "number", "row"),
    [
        # PDF: 描述 wrapped (…完成 / 率), 依据 wrapped (…工作计 / 划安排), 一级 inherited.
        (ZUNHUA, 1, "产出指标|时效指标|按期完成率|按照安全生产时间节点完成率|≥95%|根据年初工作计划安排"),
        # PDF: 三级 wrapped (执法行动次 / 数); 描述 and 指标值 share a line.
        (ZUNHUA, 1, "产出指标|数量指标|执法行动次数|安全生产执法行动的次数|20次|根据年初工作计划安排"),
        (ZUNHUA, 1, "产出指标|成本指标|安全生产执法所需经费|安全生产执法所需经费|17万元|根据年初工作计划安排"),
        # PDF: 二级 wrapped (可持续影响 / 指标) under the inherited 一级 效益指标.
        (
            ZUNHUA,
            1,
            "效益指标|可持续影响指标|受训学员满意度|调查中满意和较满意的受训学员数量占调查总人数的比率|≥95%"
            "|根据年初工作计划安排",
        ),
        # PDF: a full 三级 (预算成本数) before a wrapped 描述; 依据 wrapped (冀财建【2024】 / 269 号).
        (ZUNHUA, 2, "产出指标|成本指标|预算成本数|按照中小企业发展项目资金文件要求|3.9万元|冀财建【2024】269号"),
        # PDF: 指标值 wrapped over three lines (预计 2025 / 年年底前完 / 成).
        (ZUNHUA, 3, "产出指标|时效指标|资金下达及时率|项目资金下达及时率|预计2025年年底前完成|冀财建【2024】270号"),
        (
            ZUNHUA,
            4,
            "满意度指标|服务对象满意度指标|服务对象满意度|服务对象满意和较满意数量占总数量的比例|≥95%|冀财建【2025】274号",
        ),
        # PDF: 三级 over four lines with curly quotes; a non-value 指标值 forced by the widths.
        (
            ZUNHUA,
            5,
            "效益指标|可持续影响指标|研发投入总额正增长的“小巨人”企业"
            "|科技研发后补助服务企业中研发投入总额正增长的企业数量|提高科技特派团服务企业水平|冀财教【2024】127号",
        ),
        (
            ZUNHUA,
            8,
            "产出指标|成本指标|智慧城市工作办公费成本|智慧城市工作水、电、暖办公费成本|46.02万元|根据年初工作计划安排",
        ),
        # Word: stray layout spaces inside cells are removed.
        (CHENGDE, 5, "产出指标|数量指标|工作日保障单位运转|工作日保障单位运转|≥8小时|行政事业单位法定工作时间"),
        (
            CHENGDE,
            5,
            "效益指标|可持续影响指标|持续推动我市工信事业发展|持续推动我市工信事业发展|持续推动|2025年工作目标",
        ),
        # Word: 不涉及 rows under an inherited 一级.
        (CHENGDE, 14, "效益指标|生态效益指标|不涉及|不涉及|不涉及|省厅要求"),
        (CHENGDE, 15, "效益指标|可持续影响指标|不涉及|不涉及|不涉及|不涉及"),
        # Word: inherited 一级 and 二级, and a 满意度 value without %, kept as written.
        (CHENGDE, 12, "满意度指标|服务对象满意度指标|省厅满意度|反映省厅对所提供的数据认可程度|≥90|问卷调查"),
    ],
)
def test_indicator_rows(name: str, number: int, row: str) -> None:
    assert tuple(row.split("|")) in _rows(_project(name, number))


@pytest.mark.parametrize(
    ("name", "number", "level3", "value_raw"),
    [
        (ZUNHUA, 1, "执法行动次数", "20 次"),
        (ZUNHUA, 3, "资金下达及时率", "预计 2025年年底前完成"),
        (ZUNHUA, 5, "每个省外科技特派团成员奖励资金", "124.39 万元"),
        (CHENGDE, 5, "工作日保障单位运转", "≥8 小时"),
        (CHENGDE, 9, "报送时限", "季后 50 日前"),
    ],
)
def test_value_raw_is_the_source_text(name: str, number: int, level3: str, value_raw: str) -> None:
    indicator = next(i for i in _project(name, number).indicators if i.level3 == level3)
    assert indicator.value_raw == value_raw
    assert indicator.value == squash(value_raw)


def test_zunhua_p2_has_no_benefit_rows() -> None:
    project = _project(ZUNHUA, 2)
    assert project.name == "冀财建[2024]269号提前下达2025年省级中小企业发展专项资金"
    assert [i.level1 for i in project.indicators] == ["产出指标"] * 4 + ["满意度指标"]


def test_texts_are_kept_as_printed() -> None:
    # The doubled bracket of the name and the other year in the basis are real defects: kept.
    p4 = _project(ZUNHUA, 4)
    assert "冀财建[2024]]274号" in p4.name
    assert {i.basis for i in p4.indicators} == {"冀财建【2025】274号"}
    assert _project(ZUNHUA, 1).goal.split("\n") == [
        "1.保障正常工作高效运转，提高企业极积性",
        "2.及时排查生产工作中中的不安全生产事故，做到防患未然",
    ]
    assert "12.48万元" in _project(CHENGDE, 13).goal
    assert _project(CHENGDE, 12).label_variants == ["项目编号"]
    assert all(p.label_variants == [] for n, p in enumerate(_read(CHENGDE).department.projects, 1) if n != 12)
    assert _project(CHENGDE, 9).name == "2025年省级中小企业发展专项资金基层统计监测人员业务能力提升"
    assert _project(CHENGDE, 1).use_of_funds == "资金用于承德市工业互联网公共服务平台服务费"
    assert _project(CHENGDE, 5).raw["spending_plan"].count("\n") == 3  # four plan lines, wrap included


def test_inherited_levels_point_at_the_merged_cell() -> None:
    project = _project(CHENGDE, 1)
    first, second = project.indicators[:2]
    assert second.level1 == "产出指标"
    assert second.sources["level1"] == first.sources["level1"]
    assert (first.sources["level2"].line, second.sources["level2"].line) == (99, 100)


# --- Part 1 --------------------------------------------------------------------------------


def test_chengde_part1() -> None:
    dept = _read(CHENGDE).department
    assert dept.overall_goal.startswith("2025年，全市工业经济工作将坚持稳中求进总基调")
    # The table of contents at the top lists the sections too; only the real Part 1 is read.
    assert [s.title for s in dept.sub_goals] == [
        "全力推动工业经济回升向好",
        "强力推动产业发展实现新突破",
        "加力推动项目建设取得重大进展",
        "着力打造优质企业发展雁阵",
    ]
    first = dept.sub_goals[0]
    assert first.goal.startswith("深化企业帮扶")
    assert first.indicators == "全年规模以上工业增加值增速达到6%。"
    assert dept.sub_goals[2].indicators.startswith("实施重点工业项目200个以上")
    assert dept.safeguards.count("\n") == 6
    assert dept.safeguards.startswith("（一）完善制度建设。")


def test_zunhua_part1() -> None:
    dept = _read(ZUNHUA).department
    assert dept.overall_goal.startswith("根据遵办〔2019〕43号遵化市人民政府办公室关于印发《遵化市工业和信息化局")
    assert "\n" not in dept.overall_goal  # one paragraph wrapped over six PDF lines
    assert len(dept.sub_goals) == 8
    first = dept.sub_goals[0]
    assert first.title == "安全生产执法监督管理经费"
    assert first.use == "生产管理监督检查培训接待上级检查经费。"
    assert first.goal == "及时排查生产工作中的不安全生产事故，做到防患未然。"
    assert first.indicators == "改善生态环境质量,提升生态环境质量。服务对象满意度指标达到90%以上。"
    assert dept.sub_goals[3].indicators.startswith("着力提高全社会的科技意识")  # labelled 项目绩效指标：
    assert dept.safeguards.startswith("（一）加强领导，制定任务目标，确保目标任务层层分解到人，分解到事。")
    assert dept.safeguards.endswith("促进预算绩效管理水平进一步提升。")


@pytest.mark.parametrize("name", [CHENGDE, ZUNHUA])
def test_project_tables_alone(name: str) -> None:
    result = parse_published(_part2(name), "part2.txt")
    dept = result.department
    assert public_department(dept) == public_department(_read(name).department)
    assert (dept.overall_goal, dept.sub_goals, dept.safeguards, dept.title_unit_name) == ("", [], "", "")


# --- locations -----------------------------------------------------------------------------


def _snippet(project: Project, field: str) -> str:
    """Return text that the line recorded for ``field`` must contain."""
    fixed = {
        "other_funds": "其他资金",
        "spending_plan": "月底",
        "indicators": "一级指标",
        "unit_code": project.unit_code,
        "unit_name": project.unit_name,
    }
    if field in fixed:
        return fixed[field]
    if field in ("budget", "fiscal_funds"):
        return project.raw[field]
    return str(getattr(project, field))[:4]


@pytest.mark.parametrize("name", [CHENGDE, ZUNHUA])
def test_locations_point_at_the_text(name: str) -> None:
    lines = [squash(line) for line in _text(name).split("\n")]
    dept = _read(name).department
    for project in dept.projects:
        expected = {
            "code",
            "name",
            "budget",
            "fiscal_funds",
            "other_funds",
            "use_of_funds",
            "spending_plan",
            "goal",
            "indicators",
        }
        assert expected <= project.sources.keys()
        for field, where in project.sources.items():
            assert where.file == str(EXAMPLES / name)
            assert where.line is not None
            assert squash(_snippet(project, field)) in lines[where.line - 1], (project.code, field)
        for indicator in project.indicators:
            assert indicator.sources.keys() == {"level1", "level2", "level3", "description", "value", "basis"}
            for field, where in indicator.sources.items():
                assert where.line is not None
                assert getattr(indicator, field)[:4] in lines[where.line - 1], (project.code, field)
    for sub in dept.sub_goals:
        for field, where in sub.sources.items():
            assert where.line is not None
            assert getattr(sub, field)[:4] in lines[where.line - 1]
    assert {"overall_goal", "safeguards", "title_unit_name", "unit_code", "unit_name"} <= dept.sources.keys()
    for field in ("overall_goal", "safeguards", "title_unit_name", "unit_code", "unit_name"):
        where = dept.sources[field]
        assert where.line is not None
        assert getattr(dept, field)[:4] in lines[where.line - 1], field


# --- variants the reader must handle or report ---------------------------------------------


def test_gb18030_and_bom(tmp_path: Path) -> None:
    expected = public_department(_read(ZUNHUA).department)
    for encoding in ("gb18030", "utf-8-sig", "utf-16"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(_text(ZUNHUA).encode(encoding))
        assert public_department(read_published(path).department) == expected


def test_plan_values_that_do_not_match_the_labels_are_reported() -> None:
    text = _text(ZUNHUA).replace("30% 60% 90% 100%", "60% 90% 100%", 1)
    result = parse_published(text, "z.txt")
    project = result.department.projects[0]
    assert project.spending_plan == [None, None, None, None]
    [finding] = result.findings
    assert (finding.code, finding.severity, finding.project_code) == ("PT-STR-001", Severity.ERROR, project.code)
    assert (finding.file, finding.line, finding.field) == ("z.txt", 260, "spending_plan")
    assert "3 个数值" in finding.message


# --- inputs to refuse ----------------------------------------------------------------------


def _refused(path: Path) -> str:
    with pytest.raises(SourceError) as info:
        read_published(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert re.search(r"[\u4e00-\u9fff]", message)
    return message


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "picture.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "不是文本文件" in _refused(path)


def test_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes(b"\x01\x02\x03 abc \x1b[0m")
    assert "不是文本文件" in _refused(path)


@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t \n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    assert "文件为空" in _refused(path)


def test_missing_file(tmp_path: Path) -> None:
    assert "文件不存在" in _refused(tmp_path / "nothing.txt")


def test_unrelated_text(tmp_path: Path) -> None:
    path = tmp_path / "poem.txt"
    path.write_text("静夜思\n\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n", encoding="utf-8")
    assert "未找到预算项目绩效目标表" in _refused(path)


def test_extra_annual_and_long_term_columns_in_word_table(tmp_path: Path) -> None:
    text = _text(CHENGDE).replace("\t指标值\t指标值确定依据\t", "\t年度指标值\t长期指标值\t指标值确定依据\t")
    path = tmp_path / "long-term.txt"
    path.write_text(text, encoding="utf-8")
    message = _refused(path)
    assert "第 1 个项目「承德市工业互联网公共服务平台服务费」的指标表（第 98 行起）无法识别" in message
    assert "年度指标值、长期指标值" in message


def test_extra_columns_in_pdf_table(tmp_path: Path) -> None:
    text = _text(ZUNHUA).replace("指标值 指标值确定依据", "年度指标值 实际完成值 指标值确定依据")
    path = tmp_path / "actuals.txt"
    path.write_text(text, encoding="utf-8")
    message = _refused(path)
    assert "第 1 个项目「安全生产监督管理、专家费」的指标表（第 269 行起）无法识别" in message
    assert "实际完成值" in message


def test_pdf_table_that_cannot_be_cut(tmp_path: Path) -> None:
    lines = _text(ZUNHUA).split("\n")
    assert lines[1049] == "冀财教【2024】"
    lines[1049] = "冀财教【2024】号文件规定的标准"  # wider than the 依据 column
    path = tmp_path / "cut.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    message = _refused(path)
    project = "第 6 个项目「冀财教[2024]129号提前下达2025年引智及人才培养专项资金」"
    assert f"{project}的指标表（第 937 行起）无法识别" in message
    assert "第 1050 行附近" in message


def test_word_row_with_a_missing_cell(tmp_path: Path) -> None:
    text = _text(CHENGDE).replace(
        "→质量指标→工作完成率→工作完成率→100%→会议方案→".replace("→", "\t"),
        "\t质量指标\t工作完成率\t100%\t会议方案\t",
        1,
    )
    path = tmp_path / "short-row.txt"
    path.write_text(text, encoding="utf-8")
    message = _refused(path)
    assert "第 3 个项目「钒钛产业大会经费」的指标表（第 138 行起）无法识别" in message
    assert "第 140 行" in message


def test_project_table_without_title(tmp_path: Path) -> None:
    text = _text(CHENGDE).replace("2. 承德市工业互联网公共服务平台服务费绩效目标表\n", "\n", 1)
    path = tmp_path / "untitled.txt"
    path.write_text(text, encoding="utf-8")
    assert "第 112 行：这个项目表（“项目编码”行）前没有可识别的标题" in _refused(path)


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from([CHENGDE, ZUNHUA]), data=st.data())
def test_mangled_seeds_parse_or_raise_source_error(name: str, data: st.DataObject) -> None:
    lines = _text(name).split("\n")
    dropped = data.draw(st.sets(st.integers(0, len(lines) - 1), max_size=6))
    end = data.draw(st.integers(0, len(lines)))
    text = "\n".join(line for n, line in enumerate(lines[:end]) if n not in dropped)
    try:
        parse_published(text, "mangled.txt")
    except SourceError as exc:
        assert str(exc).startswith("mangled.txt")

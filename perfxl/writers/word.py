"""Write a department as the published 部门预算绩效文本, a Word document (python-docx).

The layout follows the documents departments publish (the seeds in ``examples/`` were exported
from such files): a title, 第一部分 部门整体绩效目标 (总体绩效目标, 分项绩效目标, 工作保障措施) and
第二部分 with one ``N.项目名称绩效目标表`` per project, laid out like the official form. Word
stores it so that ``readers.word`` reads every field back, which is what the round-trip tests hold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from docx import Document as new_document
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.styles.style import ParagraphStyle
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from perfxl.model import PLAN_CHECKPOINTS, Department, Indicator, Project
from perfxl.writers.files import replacing

BODY_FONT = "仿宋"
HEADING_FONT = "黑体"
TABLE_FONT = "宋体"
# Seven grid columns: the money row needs them all; the indicator rows give 绩效指标描述 two.
_WIDTHS = (Cm(2.4), Cm(2.1), Cm(2.3), Cm(2.4), Cm(2.0), Cm(2.3), Cm(2.5))
INDICATOR_HEADER = ("一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据")
_INDICATOR_SPANS = ((0, 0), (1, 1), (2, 2), (3, 4), (5, 5), (6, 6))
# Characters XML 1.0 cannot hold; a workbook cell may carry them (Excel's _x0007_ escapes).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CENT = Decimal("0.01")
TOC_HINT = "（目录：在此处单击右键，选择「更新域」，即生成带页码的目录）"


def document_title(dept: Department) -> str:
    """Return the document's title line, such as ``承德市工业和信息化局 2025 年部门预算绩效文本``."""
    unit = dept.title_unit_name or dept.unit_name or "（单位名称）"
    year = f"{dept.year} 年" if dept.year else ""
    return f"{unit} {year}部门预算绩效文本".replace("  ", " ")


def project_heading(n: int, p: Project) -> str:
    """Return the heading of the ``n``-th project table, as in the published documents."""
    return f"{n}.{p.name or '（未填项目名称）'}绩效目标表"


def amount_text(value: Decimal | None) -> str:
    """Return an amount in 万元 as the form prints it: two decimals, more only if the value has them."""
    if value is None:
        return ""
    shown = value.quantize(_CENT) if value == value.quantize(_CENT) else value
    return format(shown, "f")


def percent_text(value: Decimal | None) -> str:
    """Return a spending-plan share as ``60%`` (blank when the checkpoint is not filled)."""
    if value is None:
        return ""
    return f"{format(value.normalize(), 'f')}%"


def default_document_path(source: Path) -> Path:
    """Return where a document made from ``source`` goes by default: beside it, named after it."""
    return source.with_name(f"{source.stem}（绩效文本）.docx")


def write_document(dept: Department, path: Path) -> Path:
    """Write ``dept`` to ``path`` (.docx) via a temp file in the same folder and return ``path``."""
    doc = new_document()
    _styles(doc)
    _page(doc)
    props = doc.core_properties
    props.title = document_title(dept)
    props.author = props.last_modified_by = dept.title_unit_name or dept.unit_name
    props.comments = "由 perfxl 根据部门工作簿生成"
    props.created = props.modified = datetime.now().replace(microsecond=0)
    props.revision = 1
    _paragraph(doc, document_title(dept), "Title")
    _contents(doc)
    if dept.overall_goal or dept.sub_goals or dept.safeguards:
        _part1(doc, dept)
    if dept.projects:
        _paragraph(doc, "第二部分", "Heading 1")
        _paragraph(doc, "预算项目绩效目标", "Heading 1")
        for n, project in enumerate(dept.projects, 1):
            _project(doc, n, project, dept)
    with replacing(path) as tmp:
        doc.save(str(tmp))
    return path


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _font(style: ParagraphStyle, name: str, size: float) -> None:
    style.font.name = name
    style.font.size = Pt(size)
    # 黑体 headings and 仿宋 text are not set in bold in official documents.
    style.font.bold = False
    # Word takes a Chinese run's face from eastAsia; python-docx's font.name sets only ascii/hAnsi.
    rpr = style.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _styles(doc: Document) -> None:
    styles = doc.styles
    normal = styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    _font(normal, BODY_FONT, 14)
    normal.paragraph_format.first_line_indent = Pt(28)
    normal.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    normal.paragraph_format.line_spacing = 1.25
    normal.paragraph_format.space_after = Pt(0)
    centred = WD_ALIGN_PARAGRAPH.CENTER
    headings = (
        ("Title", 22, centred, 0),
        ("Heading 1", 16, centred, 0),
        ("Heading 2", 14, None, 0),
        ("Heading 3", 14, None, 28),
    )
    for name, size, align, indent in headings:
        style = styles[name]
        assert isinstance(style, ParagraphStyle)
        _font(style, HEADING_FONT, size)
        style.font.color.rgb = None
        style.paragraph_format.first_line_indent = Pt(indent)
        style.paragraph_format.alignment = align
        style.paragraph_format.space_before = Pt(12)
        style.paragraph_format.space_after = Pt(6)
    title_ppr = styles["Title"].element.pPr
    for border in title_ppr.findall(qn("w:pBdr")) if title_ppr is not None else ():
        title_ppr.remove(border)
    cell = styles.add_style("绩效目标表", 1)
    assert isinstance(cell, ParagraphStyle)
    cell.base_style = normal
    _font(cell, TABLE_FONT, 10.5)
    cell.paragraph_format.first_line_indent = Pt(0)
    cell.paragraph_format.line_spacing = 1.0
    cell.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT


def _page(doc: Document) -> None:
    """A4 with the margins of official documents (GB/T 9704), the page number centred below."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.6)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    footer._p.append(field)


def _paragraph(doc: Document, text: str, style: str = "Normal") -> Paragraph:
    """Add one paragraph per line of ``text`` (a line break in the model is a new paragraph); return the last."""
    paragraphs = [doc.add_paragraph(line, style=style) for line in _clean(text).split("\n")]
    return paragraphs[-1]


def _contents(doc: Document) -> None:
    """Add the 目录 page: a Word table-of-contents field over the part and project headings.

    Its page numbers exist only once Word lays the document out, so the field holds a hint until
    the user updates it (right click → 更新域); asking Word to update fields on open would greet
    every user with a security prompt instead.
    """
    # Word keeps a TOC Heading out of the contents it heads.
    doc.add_paragraph("目  录", style="TOC Heading")
    paragraph = doc.add_paragraph(style="Normal")
    paragraph.paragraph_format.first_line_indent = Pt(0)
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, ' TOC \\o "1-2" \\h \\z \\u '), ("separate", None)):
        if kind is None:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
    paragraph.add_run(TOC_HINT)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    paragraph.add_run()._r.append(end)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _part1(doc: Document, dept: Department) -> None:
    _paragraph(doc, "第一部分", "Heading 1")
    _paragraph(doc, "部门整体绩效目标", "Heading 1")
    _paragraph(doc, "一、总体绩效目标", "Heading 2")
    if dept.overall_goal:
        _paragraph(doc, dept.overall_goal)
    _paragraph(doc, "二、分项绩效目标", "Heading 2")
    numerals = "一二三四五六七八九十"
    for n, sub in enumerate(dept.sub_goals, 1):
        _paragraph(doc, f"（{_chinese_number(n, numerals)}）{sub.title}", "Heading 3")
        if sub.use:
            _paragraph(doc, sub.use)
        if sub.goal:
            _paragraph(doc, f"绩效目标：{sub.goal}")
        if sub.indicators:
            _paragraph(doc, f"绩效指标：{sub.indicators}")
    _paragraph(doc, "三、工作保障措施", "Heading 2")
    if dept.safeguards:
        _paragraph(doc, dept.safeguards)


def _chinese_number(n: int, digits: str) -> str:
    """Return 1–99 as 一 … 九十九, the way the documents number their items."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else "十" if tens == 1 else digits[tens - 1] + "十"
    return head + (digits[ones - 1] if ones else "")


def _project(doc: Document, n: int, p: Project, dept: Department) -> None:
    _paragraph(doc, project_heading(n, p), "Heading 2").alignment = WD_ALIGN_PARAGRAPH.CENTER
    unit_code, unit_name = p.unit_code or dept.unit_code, p.unit_name or dept.unit_name
    if unit_code or unit_name:
        _paragraph(doc, f"{unit_code} {unit_name}".strip(), "绩效目标表").paragraph_format.keep_with_next = True
    _paragraph(doc, "单位：万元", "绩效目标表").paragraph_format.keep_with_next = True
    rows = 7 + len(p.indicators)
    table = doc.add_table(rows=rows, cols=len(_WIDTHS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _put(table, 0, [(0, 0, "项目编码"), (1, 3, p.code), (4, 4, "项目名称"), (5, 6, p.name)])
    money = (amount_text(p.budget), amount_text(p.fiscal_funds), amount_text(p.other_funds))
    _put(
        table,
        1,
        [
            (0, 0, "预算规模及资金用途"),
            (1, 1, "预算数"),
            (2, 2, money[0]),
            (3, 3, "其中：财政资金"),
            (4, 4, money[1]),
            (5, 5, "其他资金"),
            (6, 6, money[2]),
        ],
    )
    _put(table, 2, [(1, 6, p.use_of_funds)])
    _vmerge(table, 0, 1, 2)
    plan_spans = ((1, 2), (3, 3), (4, 5), (6, 6))
    labels = [(a, b, m) for (a, b), m in zip(plan_spans, PLAN_CHECKPOINTS, strict=True)]
    _put(table, 3, [(0, 0, "资金支出计划（%）"), *labels])
    _put(table, 4, [(a, b, percent_text(v)) for (a, b), v in zip(plan_spans, p.spending_plan, strict=True)])
    _vmerge(table, 0, 3, 4)
    _put(table, 5, [(0, 0, "绩效目标"), (1, 6, p.goal)])
    _put(table, 6, [(a, b, h) for (a, b), h in zip(_INDICATOR_SPANS, INDICATOR_HEADER, strict=True)])
    _indicator_rows(table, 7, p.indicators)
    for row in table.rows[:7]:
        row.cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for row in (3, 4, 6):
        for cell in table.rows[row].cells:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _widths(table)
    # A project's table is shorter than a page: keeping every row with the next starts it on a
    # new page rather than leaving its head alone at the foot of one.
    for row in table.rows[:-1]:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True
    doc.add_paragraph("", style="绩效目标表")


def _widths(table: Table) -> None:
    """Give every cell the width of the grid columns it spans, which is what Word lays out by."""
    for column, width in zip(table.columns, _WIDTHS, strict=True):
        column.width = width
    for row in table.rows:
        # A table row split over two pages is hard to read on paper; Word keeps each row whole.
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        start = 0
        for tc in row._tr.tc_lst:
            span = tc.grid_span
            cell = _Cell(tc, table)
            cell.width = sum(_WIDTHS[start : start + span], Cm(0))
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            start += span


def _indicator_rows(table: Table, first: int, indicators: Sequence[Indicator]) -> None:
    for r, ind in enumerate(indicators, first):
        values = (ind.level1, ind.level2, ind.level3, ind.description, ind.value, ind.basis)
        _put(table, r, [(a, b, v) for (a, b), v in zip(_INDICATOR_SPANS, values, strict=True)])
    # The official form merges a 一级 or 二级 name over the rows that share it.
    for level in (0, 1):
        start = 0
        for i in range(1, len(indicators) + 1):
            if i == len(indicators) or _group(indicators[i], level) != _group(indicators[start], level):
                if i - start > 1 and _group(indicators[start], level)[-1]:
                    _vmerge(table, level, first + start, first + i - 1)
                start = i


def _group(ind: Indicator, level: int) -> tuple[str, ...]:
    return (ind.level1,) if level == 0 else (ind.level1, ind.level2)


def _put(table: Table, row: int, spans: Sequence[tuple[int, int, str]]) -> None:
    """Fill ``row``: each (first, last, text) merges columns first..last and writes the text there."""
    for first, last, text in spans:
        cell = table.cell(row, first)
        if last > first:
            cell = cell.merge(table.cell(row, last))
        _text(cell, text)


def _text(cell: _Cell, text: str) -> None:
    lines = _clean(text).split("\n")
    cell.paragraphs[0].text = lines[0]
    cell.paragraphs[0].style = "绩效目标表"
    for line in lines[1:]:
        cell.add_paragraph(line, style="绩效目标表")


def _vmerge(table: Table, column: int, top: int, bottom: int) -> None:
    """Merge ``column`` from row ``top`` to ``bottom``, keeping only the top cell's text."""
    keep = table.cell(top, column).text
    merged = table.cell(top, column).merge(table.cell(bottom, column))
    for paragraph in merged.paragraphs[1:]:
        paragraph._p.getparent().remove(paragraph._p)
    merged.paragraphs[0].text = keep
    merged.paragraphs[0].style = "绩效目标表"

"""Write perfxl's results into a department workbook in place: 校验结果, cell marks, 部门汇总.

Why this is hand-written: no maintained library edits an .xlsx/.xlsm package without
re-serialising every part, and openpyxl's load/save round trip drops the ribbon (customUI)
relationship, newer data-validation extensions and other parts it does not model. Staff
workbooks carry exactly those (the ribbon, the VBA project, dropdowns), so perfxl edits the
package itself (``perfxl.writers.opc``): the few parts a change needs are edited as text and
every other entry is copied byte for byte.

What each function touches:

- ``write_findings``: adds the 校验结果 sheet; in each sheet with a finding, inserts
  ``<conditionalFormatting>`` elements (a recognisable marker formula and a fill per severity)
  and a ``<legacyDrawing>`` for the comments. ``sheetData`` and every cell's style stay as they
  were, so the marks never overwrite a person's formatting and ``clear_findings`` can find them
  again, even after Excel has re-saved the file.
- ``clear_findings``: removes exactly those again.
- ``write_rollup``: (re)writes 部门汇总 with formulas linked to the project sheets.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from perfxl import paths
from perfxl.errors import SourceError
from perfxl.layout import ISSUES_HEADER, ISSUES_SHEET, SUMMARY_HEADER, SUMMARY_SHEET, TOTAL_NAME
from perfxl.model import PLAN_CHECKPOINTS, Finding, Location, Project, ReadResult, Severity, plan_source
from perfxl.readers.grid import is_number
from perfxl.textnorm import display_width
from perfxl.writers.opc import (
    CT_CHART,
    CT_COMMENTS,
    CT_DRAWING,
    CT_VML,
    NS_MAIN,
    NS_R,
    REL_CHART,
    REL_COMMENTS,
    REL_DRAWING,
    REL_VML,
    XML_DECLARATION,
    Element,
    Package,
    Sheet,
    StyleSheet,
    Workbook,
    append_child,
    cell_text,
    child,
    children,
    esc_attr,
    esc_text,
    insert_ordered,
    iter_matching,
    main_ns,
    quote_sheet,
    remove_elements,
    rid_attr,
    root,
    text_of,
)
from perfxl.writers.rollup import (
    column_total,
    number_link,
    plan_divisor,
    project_counts,
    text_link,
    weighted_plan,
)

__all__ = ["MARKER_FORMULA", "SEVERITY_FILLS", "clear_findings", "write_findings", "write_rollup"]

# The conditional-format formula that marks a cell as perfxl's: always true, and unmistakable.
MARKER_FORMULA = '"perfxl"<>""'
COMMENT_AUTHOR = "perfxl"
SEVERITY_FILLS: dict[Severity, str] = {
    Severity.ERROR: "FFFFC7CE",
    Severity.WARNING: "FFFFEB9C",
    Severity.INFO: "FFDDEBF7",
}
HEADER_FILL = "FFD9E1F2"
LINE_HEIGHT = 15
TOTAL_FILL = "FFF2F2F2"
LINK_COLOR = "FF0563C1"

WORKSHEET_ORDER: tuple[str, ...] = (
    "sheetPr",
    "dimension",
    "sheetViews",
    "sheetFormatPr",
    "cols",
    "sheetData",
    "sheetCalcPr",
    "sheetProtection",
    "protectedRanges",
    "scenarios",
    "autoFilter",
    "sortState",
    "dataConsolidate",
    "customSheetViews",
    "mergeCells",
    "phoneticPr",
    "conditionalFormatting",
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
)
_COMMENTS_ORDER: tuple[str, ...] = ("authors", "commentList", "extLst")
ISSUES_WIDTHS: tuple[float, ...] = (8, 13, 64, 32, 16, 32)
SUMMARY_WIDTHS: tuple[float, ...] = (6, 24, 52, 13, 13, 13, 9, 9, 9, 9, 8, 8, 8)
_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
_PAGE = (
    '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'
    '<pageSetup paperSize="9" orientation="landscape" fitToHeight="0"/>'
)


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def write_findings(book: Path, findings: Sequence[Finding], *, output: Path | None = None) -> Path:
    """(Re)write 校验结果 and the cell marks of ``findings`` into ``book`` (or ``output``); return the path written."""
    with _editing(book):
        package = Package.open(book)
        workbook = Workbook(package)
        _clear(workbook)
        styles = StyleSheet(workbook)
        _write_issues_sheet(workbook, styles, findings)
        _mark_cells(workbook, styles, findings)
        styles.save()
    return package.save(output or book)


def clear_findings(book: Path, *, output: Path | None = None) -> Path | None:
    """Remove 校验结果, perfxl's cell marks and comments from ``book`` (or write to ``output``); return the path.

    Return None, and leave ``book`` untouched, when it holds nothing to clear and no copy was asked for.
    """
    with _editing(book):
        package = Package.open(book)
        before = package.state()
        _clear(Workbook(package))
    if output is None and package.state() == before:
        return None
    return package.save(output or book)


def write_rollup(book: Path, result: ReadResult, findings: Sequence[Finding], *, output: Path | None = None) -> Path:
    """(Re)write 部门汇总 of ``book`` with live links to the project sheets; return the path written."""
    with _editing(book):
        package = _rollup(book, result, findings)
    return package.save(output or book)


@contextmanager
def _editing(book: Path) -> Iterator[None]:
    """Report a part that cannot be parsed (broken XML, bad numbers, bad encoding) as a Chinese SourceError."""
    try:
        yield
    except (ValueError, KeyError, IndexError) as exc:
        raise SourceError(paths.shown(book), f"工作簿内部结构已损坏，无法写入（{type(exc).__name__}: {exc}）") from None


def _rollup(book: Path, result: ReadResult, findings: Sequence[Finding]) -> Package:
    """Return the package of ``book`` with 部门汇总 rewritten, not yet saved."""
    package = Package.open(book)
    workbook = Workbook(package)
    styles = StyleSheet(workbook)
    rows = _summary_rows(workbook, result, findings)
    existing = workbook.sheet(SUMMARY_SHEET)
    tabs = [s.name for s in workbook.sheets()]
    selected = existing is not None and _active_tab(workbook) == tabs.index(existing.name)
    content, total_cell = _summary_xml(rows, styles, selected=selected)
    if existing is None:
        sheet = workbook.add_sheet(SUMMARY_SHEET, content, _after_projects(workbook, rows))
    else:
        sheet = existing
        for rel in package.rels(sheet.part):
            package.remove_rel(sheet.part, rel.rid)
            if not rel.external and rel.target in package and not package.referrers(rel.target):
                package.drop_part(rel.target)
        package.write(sheet.part, content)
    if rows:
        _add_chart(package, sheet, rows)
    workbook.define_name(TOTAL_NAME, f"{quote_sheet(SUMMARY_SHEET)}!{total_cell}")
    workbook.full_calc_on_load()
    # A calculation chain that still lists the old summary cells makes Excel repair the file.
    workbook.drop_calc_chain()
    styles.save()
    return package


# ---------------------------------------------------------------------------------------------
# Cells and small XML pieces
# ---------------------------------------------------------------------------------------------


def column_letter(index: int) -> str:
    """Return the column letters of 0-based column ``index`` (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def split_cell(ref: str) -> tuple[int, int] | None:
    """Return the 0-based (row, column) of an A1 reference such as ``C4`` or ``$C$4``, or None."""
    m = _CELL.match(ref.strip().upper())
    if m is None:
        return None
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def normal_ref(ref: str | None) -> str | None:
    """Return ``ref`` as a plain A1 cell or range (``C4``, ``A10:F10``), or None when it is not one."""
    if not ref:
        return None
    parts = ref.replace("$", "").upper().split(":")
    if len(parts) > 2 or any(split_cell(p) is None for p in parts):
        return None
    return ":".join(parts)


def _text_cell(ref: str, style: int, value: str) -> str:
    # An inline string is text whatever it looks like: "=..." from another unit never becomes a formula.
    text = esc_text(cell_text(value))
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _number_cell(ref: str, style: int, value: float) -> str:
    return f'<c r="{ref}" s="{style}"><v>{_number(value)}</v></c>'


def _formula_cell(ref: str, style: int, formula: str, cached: float | str) -> str:
    if isinstance(cached, str):
        return f'<c r="{ref}" s="{style}" t="str"><f>{esc_text(formula)}</f><v>{esc_text(cached)}</v></c>'
    return f'<c r="{ref}" s="{style}"><f>{esc_text(formula)}</f><v>{_number(cached)}</v></c>'


def _height(texts: Sequence[tuple[str, float]]) -> float | None:
    """Return the row height that shows every (text, column width) pair whole, or None for one line."""
    lines = max(
        (
            sum(max(1, math.ceil(display_width(line) / max(width - 1.5, 1))) for line in text.splitlines() or [""])
            for text, width in texts
        ),
        default=1,
    )
    # Explicit heights: LibreOffice does not grow rows for wrapped text it did not lay out itself.
    return lines * LINE_HEIGHT + 4 if lines > 1 else None


def _row(number: int, cells: Sequence[str], height: float | None = None) -> str:
    ht = f' ht="{height}" customHeight="1"' if height else ""
    return f'<row r="{number}"{ht}>{"".join(cells)}</row>'


def _cols(widths: Sequence[float]) -> str:
    return (
        "<cols>"
        + "".join(f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>' for n, w in enumerate(widths, 1))
        + "</cols>"
    )


def _frozen_view(selected: bool = False) -> str:
    tab = ' tabSelected="1"' if selected else ""
    return (
        f'<sheetViews><sheetView{tab} workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
        'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
    )


def _worksheet(body: str) -> str:
    return XML_DECLARATION + f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}">{body}</worksheet>'


class _Look:
    """perfxl's cell formats, appended to the workbook's styles only when a sheet uses them."""

    top = '<alignment vertical="top" wrapText="1"/>'
    middle = '<alignment vertical="center" wrapText="1"/>'
    centered = '<alignment horizontal="center" vertical="center" wrapText="1"/>'
    centered_top = '<alignment horizontal="center" vertical="top"/>'

    def __init__(self, styles: StyleSheet) -> None:
        self.styles = styles
        self.size, self.font_name = _default_font(styles)
        self.bold = styles.font(f'<font><b/><sz val="{self.size}"/><name val="{esc_attr(self.font_name)}"/></font>')
        thin = '<color indexed="64"/>'
        self.border = styles.border(
            f'<border><left style="thin">{thin}</left><right style="thin">{thin}</right><top style="thin">{thin}</top>'
            f'<bottom style="thin">{thin}</bottom><diagonal/></border>'
        )

    def solid(self, rgb: str) -> int:
        """Return the index of a solid fill of colour ``rgb``."""
        pattern = f'<patternFill patternType="solid"><fgColor rgb="{rgb}"/><bgColor indexed="64"/></patternFill>'
        return self.styles.fill(f"<fill>{pattern}</fill>")

    def xf(self, *, num_fmt: str = "General", bold: bool = False, fill: str = "", alignment: str = "") -> int:
        """Return the index of a bordered cell format with the given number format, weight, fill and alignment."""
        return self.styles.xf(
            num_fmt=self.styles.num_fmt(num_fmt),
            font=self.bold if bold else 0,
            fill=self.solid(fill) if fill else 0,
            border=self.border,
            alignment=alignment,
        )

    def header(self) -> int:
        """Return the header cell format."""
        return self.xf(bold=True, fill=HEADER_FILL, alignment=self.centered)

    def link(self) -> int:
        """Return the cell format of an internal hyperlink (blue, underlined)."""
        name = esc_attr(self.font_name)
        font = self.styles.font(
            f'<font><u/><sz val="{self.size}"/><color rgb="{LINK_COLOR}"/><name val="{name}"/></font>'
        )
        return self.styles.xf(font=font, border=self.border, alignment=self.top)


def _default_font(styles: StyleSheet) -> tuple[str, str]:
    """Return the size and name of the workbook's default font, so perfxl's sheets match it."""
    fonts = child(styles.xml, root(styles.xml), "fonts")
    first = next(iter(children(styles.xml, fonts)), None) if fonts is not None else None
    size, name = "11", "Calibri"
    if first is not None:
        for part in children(styles.xml, first):
            if part.local == "sz":
                size = part.attr("val") or size
            elif part.local == "name":
                name = part.attr("val") or name
    return size, name


def _active_tab(workbook: Workbook) -> int:
    xml = workbook.xml
    views = child(xml, root(xml), "bookViews")
    view = next(iter_matching(xml, views, "workbookView"), None) if views is not None else None
    value = view.attr("activeTab") if view is not None else None
    return int(value) if value and value.isdigit() else 0


# ---------------------------------------------------------------------------------------------
# 校验结果
# ---------------------------------------------------------------------------------------------


def _write_issues_sheet(workbook: Workbook, styles: StyleSheet, findings: Sequence[Finding]) -> None:
    look = _Look(styles)
    header, link = look.header(), look.link()
    code, wrap = look.xf(alignment=look.centered_top), look.xf(alignment=look.top)
    severity = {s: look.xf(fill=rgb, alignment=look.centered_top) for s, rgb in SEVERITY_FILLS.items()}
    names = {s.name for s in workbook.sheets()}
    last_col = column_letter(len(ISSUES_HEADER) - 1)
    rows = [_row(1, [_text_cell(f"{column_letter(c)}1", header, h) for c, h in enumerate(ISSUES_HEADER)], 24)]
    links: list[str] = []
    for n, f in enumerate(findings, 2):
        ref = normal_ref(f.cell)
        where, link_style = "", wrap
        if f.sheet and ref:
            where = f"{f.sheet}!{ref}"
            if f.sheet in names:
                location = f"{quote_sheet(f.sheet)}!{ref}"
                links.append(f'<hyperlink ref="E{n}" location="{esc_attr(location)}" display="{esc_attr(where)}"/>')
                link_style = link
        elif f.line is not None:
            where = f"第 {f.line} 行"
        values = (f.severity.label, f.code, f.message, f.project_name or f.project_code, where, f.value)
        kinds = (severity[f.severity], code, wrap, wrap, link_style, wrap)
        cells = [_text_cell(f"{column_letter(c)}{n}", k, v) for c, (v, k) in enumerate(zip(values, kinds, strict=True))]
        rows.append(_row(n, cells, _height(list(zip(values, ISSUES_WIDTHS, strict=True)))))
    last = len(findings) + 1
    body = (
        '<sheetPr><tabColor rgb="FFC00000"/><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last_col}{last}"/>{_frozen_view()}<sheetFormatPr defaultRowHeight="15"/>'
        f"{_cols(ISSUES_WIDTHS)}<sheetData>{''.join(rows)}</sheetData>"
        f'<autoFilter ref="A1:{last_col}{last}"/>'
        + (f"<hyperlinks>{''.join(links)}</hyperlinks>" if links else "")
        + _PAGE
    )
    sheets = workbook.sheets()
    visible = [i for i, s in enumerate(sheets) if s.state == "visible"]
    index = visible[-1] + 1 if visible else len(sheets)
    workbook.add_sheet(ISSUES_SHEET, _worksheet(body), index)
    filtered = f"{quote_sheet(ISSUES_SHEET)}!$A$1:${last_col}${last}"
    workbook.define_name("_xlnm._FilterDatabase", filtered, local_sheet=index, hidden=True)


# ---------------------------------------------------------------------------------------------
# Cell marks: conditional formats and comments
# ---------------------------------------------------------------------------------------------


@dataclass
class _Mark:
    """What perfxl says about one cell: the worst severity and every message."""

    severity: Severity
    lines: list[str] = field(default_factory=list)


def _marks(workbook: Workbook, findings: Sequence[Finding]) -> dict[str, tuple[Sheet, dict[str, _Mark]]]:
    """Return, per sheet name, the cells to mark; findings outside the workbook's worksheets are skipped."""
    sheets = {s.name: s for s in workbook.sheets() if s.name != ISSUES_SHEET and _is_worksheet(workbook, s)}
    marks: dict[str, tuple[Sheet, dict[str, _Mark]]] = {}
    for f in findings:
        ref = normal_ref(f.cell)
        if not f.sheet or f.sheet not in sheets or ref is None:
            continue
        cells = marks.setdefault(f.sheet, (sheets[f.sheet], {}))[1]
        mark = cells.setdefault(ref, _Mark(f.severity))
        if f.severity.rank < mark.severity.rank:
            mark.severity = f.severity
        mark.lines.append(_comment_line(f))
    return marks


_LABELS = "|".join(s.label for s in Severity)
_OUR_COMMENT = re.compile(rf"【(?:{_LABELS})】[A-Z][A-Z0-9-]* [^\n]*(?:\r?\n【(?:{_LABELS})】[A-Z][A-Z0-9-]* [^\n]*)*")


def is_our_comment(author: str, text: str) -> bool:
    """Return whether a cell comment (note) with this author and text is one perfxl wrote."""
    # LibreOffice blanks comment authors when it saves, so perfxl's own wording identifies them too.
    return author == COMMENT_AUTHOR or _OUR_COMMENT.fullmatch(text.strip()) is not None


def _comment_line(f: Finding) -> str:
    """Return one finding as a line of a cell comment, e.g. ``【错误】PT-FIN-004 预算数…``."""
    return f"【{f.severity.label}】{f.code} {' '.join(f.message.split())}"


def _is_worksheet(workbook: Workbook, sheet: Sheet) -> bool:
    if sheet.part not in workbook.package:
        return False
    return root(workbook.package.text(sheet.part)).local == "worksheet"


def _cell_order(ref: str) -> tuple[int, int]:
    return split_cell(ref.split(":")[0]) or (0, 0)


def _mark_cells(workbook: Workbook, styles: StyleSheet, findings: Sequence[Finding]) -> None:
    dxf = {
        s: styles.dxf(f'<dxf><fill><patternFill><bgColor rgb="{rgb}"/></patternFill></fill></dxf>')
        for s, rgb in SEVERITY_FILLS.items()
    }
    package = workbook.package
    for sheet, cells in _marks(workbook, findings).values():
        xml = package.text(sheet.part)
        top = root(xml)
        data = child(xml, top, "sheetData")
        # Priorities live in the elements after sheetData (classic and x14 formats alike).
        tail = xml[data.end :] if data is not None else xml
        priority = max((int(p) for p in re.findall(r'\bpriority="(\d+)"', tail)), default=0)
        formats = []
        for severity in sorted(SEVERITY_FILLS, key=lambda s: s.rank):
            refs = sorted((r for r, m in cells.items() if m.severity is severity), key=_cell_order)
            if refs:
                priority += 1
                formats.append(
                    f'<conditionalFormatting{main_ns(top)} sqref="{" ".join(refs)}"><cfRule type="expression" '
                    f'dxfId="{dxf[severity]}" priority="{priority}"><formula>{esc_text(MARKER_FORMULA)}</formula>'
                    "</cfRule></conditionalFormatting>"
                )
        xml = insert_ordered(xml, top, "".join(formats), "conditionalFormatting", WORKSHEET_ORDER)
        package.write(sheet.part, _add_comments(package, sheet, xml, cells))


def _comment_cell(ref: str) -> str:
    return ref.split(":")[0]


def _add_comments(package: Package, sheet: Sheet, xml: str, cells: dict[str, _Mark]) -> str:
    """Add a comment for every marked cell that has none yet; return the sheet XML (with legacyDrawing)."""
    rels = package.rels(sheet.part)
    comments_part = next((r.target for r in rels if r.type == REL_COMMENTS and r.target in package), None)
    comments_xml = package.text(comments_part) if comments_part else ""
    taken: set[str] = set()
    if comments_part:
        listing = child(comments_xml, root(comments_xml), "commentList")
        if listing is not None:
            taken = {normal_ref(c.attr("ref")) or "" for c in iter_matching(comments_xml, listing, "comment")}
    ordered = sorted(cells.items(), key=lambda item: _cell_order(item[0]))
    todo = [(ref, mark) for ref, mark in ordered if _comment_cell(ref) not in taken]
    if not todo:
        return xml
    if comments_part is None:
        comments_part = package.unused_name("xl/comments{}.xml")
        comments_xml = XML_DECLARATION + f'<comments xmlns="{NS_MAIN}"><authors/><commentList/></comments>'
        package.add_override(comments_part, CT_COMMENTS)
        package.add_rel(sheet.part, REL_COMMENTS, comments_part)
    comments_xml, author = _ensure_author(comments_xml)
    top = root(comments_xml)
    listing = child(comments_xml, top, "commentList")
    entries = "".join(
        f'<comment{main_ns(top)} ref="{_comment_cell(ref)}" authorId="{author}"><text><t xml:space="preserve">'
        f"{esc_text(chr(10).join(mark.lines))}</t></text></comment>"
        for ref, mark in todo
    )
    if listing is None:
        fragment = f"<commentList{main_ns(top)}>{entries}</commentList>"
        comments_xml = insert_ordered(comments_xml, top, fragment, "commentList", _COMMENTS_ORDER)
    else:
        comments_xml = append_child(comments_xml, listing, entries)
    package.write(comments_part, comments_xml)

    vml_rel = next((r for r in rels if r.type == REL_VML and r.target in package), None)
    if vml_rel is None:
        vml_part = package.unused_name("xl/drawings/vmlDrawing{}.vml")
        vml = _vml_head(package) + "</xml>"
        package.add_override(vml_part, CT_VML)
        rid = package.add_rel(sheet.part, REL_VML, vml_part)
        top = root(xml)
        element = f"<legacyDrawing{main_ns(top)} {rid_attr(top, rid)}/>"
        xml = insert_ordered(xml, top, element, "legacyDrawing", WORKSHEET_ORDER)
    else:
        vml_part, vml = vml_rel.target, package.text(vml_rel.target)
    shape_ids = [int(n) for n in re.findall(r"_x0000_s(\d+)", vml)]
    first = max(shape_ids, default=_idmap(vml) * 1024) + 1
    shapes = "".join(_vml_note(first + n, _comment_cell(ref), mark) for n, (ref, mark) in enumerate(todo))
    if "_x0000_t202" not in vml:
        shapes = _VML_NOTE_TYPE + shapes
    end = vml.rfind("</xml>")
    package.write(vml_part, vml[:end] + shapes + vml[end:] if end >= 0 else vml + shapes)
    return xml


def _author_of(names: list[str], author_id: str | None) -> str:
    """Return the author name a comment's authorId points at ('' when it points nowhere)."""
    index = int(author_id) if author_id is not None and author_id.isdigit() else -1
    return names[index] if 0 <= index < len(names) else ""


def _ensure_author(xml: str) -> tuple[str, int]:
    """Return the comments XML with perfxl among its authors, and perfxl's author index."""
    top = root(xml)
    authors = child(xml, top, "authors")
    if authors is None:
        xml = insert_ordered(xml, top, f"<authors{main_ns(top)}/>", "authors", _COMMENTS_ORDER)
        top = root(xml)
        authors = child(xml, top, "authors")
        assert authors is not None
    names = [text_of(xml, a) for a in iter_matching(xml, authors, "author")]
    if COMMENT_AUTHOR in names:
        return xml, names.index(COMMENT_AUTHOR)
    return append_child(xml, authors, f"<author>{COMMENT_AUTHOR}</author>"), len(names)


_VML_NOTE_TYPE = (
    '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
    '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
)
_VML_SHAPE = re.compile(r"<(\w+):shape\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(?:/>|>.*?</\1:shape>)", re.S)
_IDMAP = re.compile(r"<o:idmap\b[^>]*\bdata=\"([0-9, ]+)\"")


def _idmap(vml: str) -> int:
    m = _IDMAP.search(vml)
    return int(m.group(1).split(",")[0]) if m else 1


def _vml_head(package: Package) -> str:
    """Return the start of a new VML drawing whose shape-id block no other drawing uses."""
    used = [
        int(n)
        for part in package.names()
        if part.lower().endswith(".vml")
        for m in _IDMAP.finditer(package.text(part))
        for n in m.group(1).replace(" ", "").split(",")
        if n
    ]
    block = max(used, default=0) + 1
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        f'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" '
        f'data="{block}"/></o:shapelayout>{_VML_NOTE_TYPE}'
    )


def _vml_note(shape_id: int, ref: str, mark: _Mark) -> str:
    """Return the VML box of a (hidden until hovered) comment on ``ref``."""
    row, col = split_cell(ref) or (0, 0)
    # About 22 CJK characters fit on one line of a four-column comment box.
    lines = sum(max(1, math.ceil(display_width(line) / 44)) for line in mark.lines)
    height = max(3, lines + 1)
    first_row = max(row - 1, 0)
    return (
        f'<v:shape id="_x0000_s{shape_id}" type="#_x0000_t202" style="position:absolute;margin-left:'
        f"{(col + 1) * 48 + 11.25}pt;margin-top:{first_row * 15 + 7.5}pt;width:192pt;height:{height * 15}pt;"
        'z-index:1;visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
        '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/><v:textbox '
        'style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox><x:ClientData '
        f'ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>{col + 1}, 15, {first_row}, 10, '
        f"{col + 5}, 15, {first_row + height}, 4</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row>"
        f"<x:Column>{col}</x:Column></x:ClientData></v:shape>"
    )


def _note_cell(shape: str) -> tuple[int, int] | None:
    """Return the 0-based (row, column) a VML comment box belongs to, or None for other shapes."""
    if 'ObjectType="Note"' not in shape:
        return None
    row = re.search(r"<x:Row>\s*(\d+)\s*</x:Row>", shape)
    col = re.search(r"<x:Column>\s*(\d+)\s*</x:Column>", shape)
    return (int(row.group(1)), int(col.group(1))) if row and col else None


# ---------------------------------------------------------------------------------------------
# Clearing
# ---------------------------------------------------------------------------------------------


def _clear(workbook: Workbook) -> None:
    issues = workbook.sheet(ISSUES_SHEET)
    if issues is not None:
        workbook.remove_sheet(issues)
    for sheet in workbook.sheets():
        if _is_worksheet(workbook, sheet):
            _unmark(workbook.package, sheet)


def _is_marker(xml: str, rule: Element) -> bool:
    formula = child(xml, rule, "formula")
    return formula is not None and re.sub(r"\s+", "", text_of(xml, formula)) == MARKER_FORMULA


def _unmark(package: Package, sheet: Sheet) -> None:
    """Remove perfxl's conditional formats and comments from one sheet, keeping everyone else's."""
    xml = package.text(sheet.part)
    doomed: list[Element] = []
    for cf in iter_matching(xml, root(xml), "conditionalFormatting"):
        rules = list(iter_matching(xml, cf, "cfRule"))
        ours = [r for r in rules if _is_marker(xml, r)]
        # Excel may merge rules that share a range into one element: then only ours go.
        doomed += [cf] if ours and len(ours) == len(rules) else ours
    xml = remove_elements(xml, doomed)
    package.write(sheet.part, _remove_comments(package, sheet, xml))


def _remove_comments(package: Package, sheet: Sheet, xml: str) -> str:
    """Remove perfxl's comments (and their VML boxes) from ``sheet``; return the sheet XML."""
    rels = package.rels(sheet.part)
    comments_rel = next((r for r in rels if r.type == REL_COMMENTS and r.target in package), None)
    if comments_rel is None:
        return xml
    cx = package.text(comments_rel.target)
    authors_el = child(cx, root(cx), "authors")
    authors = list(iter_matching(cx, authors_el, "author")) if authors_el is not None else []
    names = [text_of(cx, a) for a in authors]
    ours = {str(i) for i, name in enumerate(names) if name == COMMENT_AUTHOR}
    listing = child(cx, root(cx), "commentList")
    comments = list(iter_matching(cx, listing, "comment")) if listing is not None else []
    mine = [c for c in comments if is_our_comment(_author_of(names, c.attr("authorId")), text_of(cx, c))]
    if not mine:
        return xml
    cells = {split_cell(_comment_cell(normal_ref(c.attr("ref")) or "")) for c in mine}
    if len(mine) == len(comments):
        package.remove_rel(sheet.part, comments_rel.rid)
        package.drop_part(comments_rel.target)
    else:
        cx = remove_elements(cx, mine)
        authors_el = child(cx, root(cx), "authors")
        authors = list(iter_matching(cx, authors_el, "author")) if authors_el is not None else []
        # Only a trailing perfxl author can go: removing another would renumber the rest.
        if authors and str(len(authors) - 1) in ours:
            cx = remove_elements(cx, authors[-1:])
        package.write(comments_rel.target, cx)
    vml_rel = next((r for r in rels if r.type == REL_VML and r.target in package), None)
    if vml_rel is None:
        return xml
    vml = package.text(vml_rel.target)
    shapes = list(_VML_SHAPE.finditer(vml))
    doomed = [m for m in shapes if _note_cell(m.group(0)) in cells]
    if len(doomed) == len(shapes):
        package.remove_rel(sheet.part, vml_rel.rid)
        package.drop_part(vml_rel.target)
        legacy = [e for e in iter_matching(xml, root(xml), "legacyDrawing") if e.prefixed_attr("id") == vml_rel.rid]
        return remove_elements(xml, legacy)
    for m in reversed(doomed):
        vml = vml[: m.start()] + vml[m.end() :]
    package.write(vml_rel.target, vml)
    return xml


# ---------------------------------------------------------------------------------------------
# 部门汇总
# ---------------------------------------------------------------------------------------------

Cached = float | str | None


@dataclass(frozen=True)
class _Link:
    """One summary cell: the formula linking it to a project sheet (None for a plain value) and its value now."""

    formula: str | None
    value: Cached


@dataclass(frozen=True)
class _SummaryRow:
    """One project's line of 部门汇总."""

    sheet: str
    code: _Link
    name: _Link
    money: tuple[_Link, ...]
    plan: tuple[_Link, ...]
    indicators: int
    errors: int
    warnings: int


class _Cells:
    """The current values of the cells the summary links to, read once per sheet with calamine."""

    def __init__(self, package: Package, sheets: set[str]) -> None:
        self.sheets = sheets
        try:
            self.book = CalamineWorkbook.from_filelike(io.BytesIO(package.source))
        except Exception as exc:  # noqa: BLE001 - calamine raises several unrelated types for bad files
            raise SourceError(paths.shown(package.path), f"无法读取工作簿：{exc}") from None
        self.grids: dict[str, list[list[Any]]] = {}

    def where(self, loc: Location | None) -> str | None:
        """Return the formula reference (``'项目1'!C4``) of ``loc`` when it is a cell of this workbook."""
        if loc is None or loc.sheet not in self.sheets or not loc.cell or split_cell(loc.cell) is None:
            return None
        return f"{quote_sheet(loc.sheet)}!{loc.cell.replace('$', '').upper()}"

    def value(self, loc: Location) -> object:
        """Return the value (cached value for formulas) of the cell at ``loc``; '' when empty."""
        assert loc.sheet is not None and loc.cell is not None
        if loc.sheet not in self.grids:
            self.grids[loc.sheet] = self.book.get_sheet_by_name(loc.sheet).to_python(skip_empty_area=False)
        row, col = split_cell(loc.cell) or (0, 0)
        grid = self.grids[loc.sheet]
        return grid[row][col] if row < len(grid) and col < len(grid[row]) else ""


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _as_text(value: object) -> str:
    if is_number(value):
        return _number(float(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return "" if value is None else str(value)


def _text_link(cells: _Cells, p: Project, field_name: str, current: str) -> _Link:
    ref = cells.where(p.sources.get(field_name))
    if ref is None:
        return _Link(None, current)
    return _Link(text_link(ref), _as_text(cells.value(p.sources[field_name])))


def _number_link(cells: _Cells, loc: Location | None, current: float | None, divisor: int = 1) -> _Link:
    ref = cells.where(loc)
    if ref is None or loc is None:
        return _Link(None, current)
    raw = cells.value(loc)
    shown: Cached = float(raw) / divisor if is_number(raw) else _as_text(raw)
    return _Link(number_link(ref, divisor), shown)


def _summary_rows(workbook: Workbook, result: ReadResult, findings: Sequence[Finding]) -> list[_SummaryRow]:
    names = {s.name for s in workbook.sheets()}
    cells = _Cells(workbook.package, names)
    rows = []
    for p in result.department.projects:
        if not p.sheet or p.sheet not in names:
            continue
        plan_locs = [p.sources.get(plan_source(i)) for i in range(len(PLAN_CHECKPOINTS))]
        divisor = plan_divisor(cells.value(loc) for loc in plan_locs if loc and cells.where(loc))
        errors, warnings = project_counts(findings, p)
        rows.append(
            _SummaryRow(
                sheet=p.sheet,
                code=_text_link(cells, p, "code", p.code),
                name=_text_link(cells, p, "name", p.name),
                money=tuple(
                    _number_link(cells, p.sources.get(key), _float(getattr(p, key)))
                    for key in ("budget", "fiscal_funds", "other_funds")
                ),
                plan=tuple(
                    _number_link(cells, loc, None if value is None else float(value) / 100, divisor)
                    for loc, value in zip(plan_locs, p.spending_plan, strict=True)
                ),
                indicators=len(p.indicators),
                errors=errors,
                warnings=warnings,
            )
        )
    return rows


def _after_projects(workbook: Workbook, rows: list[_SummaryRow]) -> int:
    """Return the tab index just after the last project sheet (or after the last visible sheet)."""
    sheets = workbook.sheets()
    projects = {row.sheet for row in rows}
    positions = [i for i, s in enumerate(sheets) if s.name in projects]
    visible = [i for i, s in enumerate(sheets) if s.state == "visible"]
    return (positions or visible or [len(sheets) - 1])[-1] + 1


def _sum(values: Sequence[Cached]) -> float:
    return float(sum((Decimal(repr(v)) for v in values if isinstance(v, float)), Decimal(0)))


def _link_cell(ref: str, style: int, link: _Link) -> str:
    if link.formula is not None:
        return _formula_cell(ref, style, link.formula, "" if link.value is None else link.value)
    if isinstance(link.value, float):
        return _number_cell(ref, style, link.value)
    if link.value:
        return _text_cell(ref, style, link.value)
    return f'<c r="{ref}" s="{style}"/>'


@dataclass(frozen=True)
class _SummaryStyles:
    """The cell formats of 部门汇总 (indexes into cellXfs)."""

    header: int
    text: int
    center: int
    money: int
    plan: int
    total_text: int
    total_money: int
    total_count: int
    total_plan: int


def _summary_xml(rows: list[_SummaryRow], styles: StyleSheet, *, selected: bool) -> tuple[str, str]:
    """Return the 部门汇总 sheet XML and the absolute address of its total-budget cell."""
    look = _Look(styles)
    own = _SummaryStyles(
        header=look.header(),
        text=look.xf(alignment=look.middle),
        center=look.xf(alignment=look.centered),
        money=look.xf(num_fmt="#,##0.00", alignment='<alignment vertical="center"/>'),
        plan=look.xf(num_fmt="0%", alignment=look.centered),
        total_text=look.xf(bold=True, fill=TOTAL_FILL, alignment=look.middle),
        total_money=look.xf(num_fmt="#,##0.00", bold=True, fill=TOTAL_FILL),
        total_count=look.xf(bold=True, fill=TOTAL_FILL, alignment=look.centered),
        # One decimal: the department-wide plan is a weighted mean, rarely a whole percent.
        total_plan=look.xf(num_fmt="0.0%", bold=True, fill=TOTAL_FILL, alignment=look.centered),
    )
    n = len(rows)
    first, last, total, weighted = 2, n + 1, n + 2, n + 3
    xml_rows = [_row(1, [_text_cell(f"{column_letter(c)}1", own.header, h) for c, h in enumerate(SUMMARY_HEADER)], 30)]
    for i, r in enumerate(rows):
        line = first + i
        cells = [_number_cell(f"A{line}", own.center, i + 1)]
        cells += [_link_cell(f"B{line}", own.text, r.code), _link_cell(f"C{line}", own.text, r.name)]
        cells += [_link_cell(f"{column_letter(3 + k)}{line}", own.money, link) for k, link in enumerate(r.money)]
        cells += [_link_cell(f"{column_letter(6 + k)}{line}", own.plan, link) for k, link in enumerate(r.plan)]
        cells += [
            _number_cell(f"{column_letter(10 + k)}{line}", own.center, v)
            for k, v in enumerate((r.indicators, r.errors, r.warnings))
        ]
        texts = [(_as_text(r.code.value), SUMMARY_WIDTHS[1]), (_as_text(r.name.value), SUMMARY_WIDTHS[2])]
        xml_rows.append(_row(line, cells, _height(texts)))

    def column_sum(col: int, values: Sequence[Cached], style: int) -> str:
        letter = column_letter(col)
        return _formula_cell(f"{letter}{total}", style, column_total(letter, first, last), _sum(values))

    budgets = [r.money[0].value for r in rows]
    total_budget = _sum(budgets)
    totals = [f'<c r="{column_letter(c)}{total}" s="{own.total_text}"/>' for c in (0, 1)]
    totals.append(_text_cell(f"C{total}", own.total_text, "合计"))
    totals += [column_sum(3 + k, [r.money[k].value for r in rows], own.total_money) for k in range(3)]
    totals += [f'<c r="{column_letter(6 + k)}{total}" s="{own.total_count}"/>' for k in range(4)]
    counts = [(r.indicators, r.errors, r.warnings) for r in rows]
    totals += [column_sum(10 + k, [float(c[k]) for c in counts], own.total_count) for k in range(3)]
    xml_rows.append(_row(total, totals))

    plan_row = [f'<c r="{column_letter(c)}{weighted}" s="{own.total_text}"/>' for c in (0, 1)]
    plan_row.append(_text_cell(f"C{weighted}", own.total_text, "支出计划（按预算数加权）"))
    plan_row += [f'<c r="{column_letter(c)}{weighted}" s="{own.total_money}"/>' for c in (3, 4, 5)]
    for k in range(len(PLAN_CHECKPOINTS)):
        letter = column_letter(6 + k)
        weights = [
            Decimal(repr(r.money[0].value)) * Decimal(repr(r.plan[k].value))
            for r in rows
            if isinstance(r.money[0].value, float) and isinstance(r.plan[k].value, float)
        ]
        cached: float | str = float(sum(weights, Decimal(0)) / Decimal(repr(total_budget))) if total_budget else ""
        formula = weighted_plan(letter, first, last, total)
        plan_row.append(_formula_cell(f"{letter}{weighted}", own.total_plan, formula, cached))
    plan_row += [f'<c r="{column_letter(c)}{weighted}" s="{own.total_count}"/>' for c in (10, 11, 12)]
    xml_rows.append(_row(weighted, plan_row))

    last_col = column_letter(len(SUMMARY_HEADER) - 1)
    body = (
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last_col}{weighted}"/>{_frozen_view(selected)}<sheetFormatPr defaultRowHeight="15"/>'
        f"{_cols(SUMMARY_WIDTHS)}<sheetData>{''.join(xml_rows)}</sheetData>"
        '<printOptions horizontalCentered="1"/>' + _PAGE
    )
    return _worksheet(body), f"$D${total}"


# ---------------------------------------------------------------------------------------------
# The bar chart of 预算数 by project
# ---------------------------------------------------------------------------------------------

_NS_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_NS_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
CHART_TITLE = "各项目预算数（万元）"


def _add_chart(package: Package, sheet: Sheet, rows: list[_SummaryRow]) -> None:
    """Add a drawing with a bar chart of 预算数 by project below the summary table."""
    drawing = package.unused_name("xl/drawings/drawing{}.xml")
    chart = package.unused_name("xl/charts/chart{}.xml")
    package.write(chart, _chart_xml(rows))
    package.add_override(chart, CT_CHART)
    chart_rid = package.add_rel(drawing, REL_CHART, chart)
    package.write(drawing, _drawing_xml(len(rows), chart_rid))
    package.add_override(drawing, CT_DRAWING)
    rid = package.add_rel(sheet.part, REL_DRAWING, drawing)
    xml = package.text(sheet.part)
    top = root(xml)
    element = f"<drawing{main_ns(top)} {rid_attr(top, rid)}/>"
    package.write(sheet.part, insert_ordered(xml, top, element, "drawing", WORKSHEET_ORDER))


def _drawing_xml(n: int, chart_rid: str) -> str:
    top_row = n + 4
    # About one and a half rows per bar keeps the project names readable.
    bottom_row = top_row + max(12, math.ceil(n * 1.6) + 5)
    return (
        XML_DECLARATION + f'<xdr:wsDr xmlns:xdr="{_NS_XDR}" xmlns:a="{_NS_A}"><xdr:twoCellAnchor editAs="oneCell">'
        f"<xdr:from><xdr:col>0</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{top_row}</xdr:row><xdr:rowOff>0</xdr:rowOff>"
        f"</xdr:from><xdr:to><xdr:col>10</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{bottom_row}</xdr:row>"
        '<xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="2" '
        f'name="{esc_attr(CHART_TITLE)}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/>'
        f'<a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic><a:graphicData uri="{_NS_C}"><c:chart xmlns:c="{_NS_C}" '
        f'xmlns:r="{NS_R}" r:id="{chart_rid}"/></a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>'
        "</xdr:twoCellAnchor></xdr:wsDr>"
    )


def _chart_xml(rows: list[_SummaryRow]) -> str:
    n = len(rows)
    sheet = quote_sheet(SUMMARY_SHEET)
    names = "".join(f'<c:pt idx="{i}"><c:v>{esc_text(_as_text(r.name.value))}</c:v></c:pt>' for i, r in enumerate(rows))
    values = "".join(
        f'<c:pt idx="{i}"><c:v>{_number(r.money[0].value)}</c:v></c:pt>'
        for i, r in enumerate(rows)
        if isinstance(r.money[0].value, float)
    )
    no_fill = "<c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>"
    return (
        XML_DECLARATION + f'<c:chartSpace xmlns:c="{_NS_C}" xmlns:a="{_NS_A}" xmlns:r="{NS_R}"><c:lang val="zh-CN"/>'
        '<c:roundedCorners val="0"/><c:chart><c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr>'
        '<a:defRPr sz="1200" b="1"/></a:pPr><a:r><a:rPr lang="zh-CN" sz="1200" b="1"/>'
        f"<a:t>{esc_text(CHART_TITLE)}</a:t>"
        '</a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>'
        '<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/><c:varyColors val="0"/><c:ser><c:idx val="0"/>'
        f'<c:order val="0"/><c:tx><c:strRef><c:f>{sheet}!$D$1</c:f><c:strCache><c:ptCount val="1"/><c:pt idx="0">'
        f"<c:v>{esc_text(SUMMARY_HEADER[3])}</c:v></c:pt></c:strCache></c:strRef></c:tx><c:spPr><a:solidFill>"
        '<a:srgbClr val="4472C4"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/><c:dLbls>'
        f'<c:numFmt formatCode="#,##0.00" sourceLinked="0"/>{no_fill}<c:showLegendKey val="0"/><c:showVal val="1"/>'
        '<c:showCatName val="0"/><c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>'
        f'<c:cat><c:strRef><c:f>{sheet}!$C$2:$C${n + 1}</c:f><c:strCache><c:ptCount val="{n}"/>{names}</c:strCache>'
        f"</c:strRef></c:cat><c:val><c:numRef><c:f>{sheet}!$D$2:$D${n + 1}</c:f><c:numCache><c:formatCode>#,##0.00"
        f'</c:formatCode><c:ptCount val="{n}"/>{values}</c:numCache></c:numRef></c:val></c:ser><c:gapWidth val="60"/>'
        '<c:axId val="50010001"/><c:axId val="50010002"/></c:barChart><c:catAx><c:axId val="50010001"/><c:scaling>'
        # Categories top to bottom in table order; the value axis then sits at the maximum (bottom).
        '<c:orientation val="maxMin"/></c:scaling><c:delete val="0"/><c:axPos val="l"/><c:numFmt formatCode="General" '
        'sourceLinked="0"/><c:majorTickMark val="none"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="50010002"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/>'
        '<c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx><c:valAx><c:axId val="50010002"/><c:scaling>'
        '<c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="b"/><c:majorGridlines/>'
        '<c:numFmt formatCode="#,##0" sourceLinked="0"/><c:majorTickMark val="out"/><c:minorTickMark val="none"/>'
        '<c:tickLblPos val="nextTo"/><c:crossAx val="50010001"/><c:crosses val="max"/><c:crossBetween val="between"/>'
        '</c:valAx></c:plotArea><c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
    )

"""A small editor for OOXML packages (.xlsx/.xlsm) that rewrites only the parts it must.

No maintained Python library edits a workbook package without re-serialising every part:
openpyxl's load/save round trip drops the ribbon (customUI) relationship, worksheet ``extLst``
extensions such as newer data validation, and every part it does not model. So perfxl opens the
zip, edits the few XML parts a change needs *as text* (splicing whole elements in and out, so
every byte outside a splice stays as it was), copies every other entry's bytes unchanged under
the same name and in the same order, and renames a temporary file into place.

XML is located with a tokenizer rather than parsed into a tree: re-serialising a tree would drop
namespace declarations that ``mc:Ignorable`` needs and change bytes nobody asked to change.
"""

from __future__ import annotations

import html
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from perfxl import paths
from perfxl.errors import SourceError, os_reason
from perfxl.writers.files import replacing

MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_ENTRIES = 20_000

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
REL_OFFICE_DOCUMENT = _REL + "officeDocument"
REL_WORKSHEET = _REL + "worksheet"
REL_STYLES = _REL + "styles"
REL_COMMENTS = _REL + "comments"
REL_VML = _REL + "vmlDrawing"
REL_DRAWING = _REL + "drawing"
REL_CHART = _REL + "chart"
REL_CALC_CHAIN = _REL + "calcChain"
_STRICT_OFFICE_DOCUMENT = "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"

CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTENT_TYPES = "[Content_Types].xml"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# ---------------------------------------------------------------------------------------------
# Locating elements in XML text
# ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<!DOCTYPE[^>]*>"
    r"|<(/?)([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)"
    r"((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>",
    re.S,
)
_ATTR = re.compile(r"([^\s=]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
# Control characters XML 1.0 cannot carry; Excel spells them _xHHHH_.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
MAX_CELL_TEXT = 32_767


@dataclass(frozen=True)
class Element:
    """Where one element sits in an XML text: its start tag's name and attributes, and its spans."""

    qname: str
    attrs: dict[str, str]
    start: int
    end: int
    inner_start: int
    inner_end: int

    @property
    def local(self) -> str:
        """Return the element name without its namespace prefix."""
        return self.qname.rpartition(":")[2]

    @property
    def empty(self) -> bool:
        """Return True for a self-closing element."""
        return self.inner_start == self.end

    def attr(self, local: str) -> str | None:
        """Return the value of the first attribute whose local name is ``local``."""
        for name, value in self.attrs.items():
            if name.rpartition(":")[2] == local and not name.startswith("xmlns"):
                return value
        return None

    def prefixed_attr(self, local: str) -> str | None:
        """Return the value of a namespace-prefixed attribute such as ``r:id``."""
        for name, value in self.attrs.items():
            head, _, tail = name.rpartition(":")
            if head and head != "xmlns" and tail == local:
                return value
        return None


def _attrs(text: str) -> dict[str, str]:
    return {
        m.group(1): html.unescape(m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTR.finditer(text)
    }


def root(xml: str) -> Element:
    """Return the document element of ``xml``."""
    for m in _TOKEN.finditer(xml):
        if m.group(2) is None:
            continue
        qname = m.group(2)
        if m.group(4):
            return Element(qname, _attrs(m.group(3)), m.start(), m.end(), m.end(), m.end())
        close = xml.rfind(f"</{qname}")
        if close < m.end():
            break
        return Element(qname, _attrs(m.group(3)), m.start(), xml.index(">", close) + 1, m.end(), close)
    raise ValueError("no document element")


def children(xml: str, parent: Element, opaque: frozenset[str] = frozenset({"sheetData"})) -> list[Element]:
    """Return the direct children of ``parent``; elements named in ``opaque`` are skipped over whole."""
    found: list[Element] = []
    pos, stop, depth = parent.inner_start, parent.inner_end, 0
    top: tuple[str, str, int, int] | None = None
    while True:
        m = _TOKEN.search(xml, pos, stop)
        if m is None:
            break
        pos = m.end()
        closing, qname, attrs, empty = m.group(1), m.group(2), m.group(3), m.group(4)
        if qname is None:
            continue
        if closing:
            depth -= 1
            if depth == 0 and top is not None:
                found.append(Element(top[0], _attrs(top[1]), top[2], m.end(), top[3], m.start()))
        elif empty:
            if depth == 0:
                found.append(Element(qname, _attrs(attrs), m.start(), m.end(), m.end(), m.end()))
        else:
            if depth == 0:
                top = (qname, attrs, m.start(), m.end())
                # sheetData holds nearly all of a sheet's bytes and nothing we edit: jump to its end.
                if qname.rpartition(":")[2] in opaque:
                    close = xml.find(f"</{qname}>", pos, stop)
                    pos = close if close >= 0 else pos
            depth += 1
    return found


def child(xml: str, parent: Element, local: str) -> Element | None:
    """Return the first child of ``parent`` named ``local``, or None."""
    return next((c for c in children(xml, parent) if c.local == local), None)


def splice(xml: str, start: int, end: int, text: str = "") -> str:
    """Return ``xml`` with the characters from ``start`` to ``end`` replaced by ``text``."""
    return xml[:start] + text + xml[end:]


def append_child(xml: str, parent: Element, fragment: str) -> str:
    """Return ``xml`` with ``fragment`` added as the last child of ``parent``."""
    if not parent.empty:
        return splice(xml, parent.inner_end, parent.inner_end, fragment)
    opened = re.sub(r"\s*/>$", ">", xml[parent.start : parent.end])
    return splice(xml, parent.start, parent.end, f"{opened}{fragment}</{parent.qname}>")


def _order_of(xml: str, element: Element, order: tuple[str, ...]) -> int | None:
    if element.local in order:
        return order.index(element.local)
    if element.local == "AlternateContent":
        # Excel wraps controls and OLE objects in mc:AlternateContent; order it by what it wraps.
        inner = re.search(r"<(?:[\w.\-]+:)?(" + "|".join(order) + r")\b", xml[element.inner_start : element.inner_end])
        return order.index(inner.group(1)) if inner else None
    return None


def insert_ordered(xml: str, parent: Element, fragment: str, local: str, order: tuple[str, ...]) -> str:
    """Return ``xml`` with ``fragment`` inserted among ``parent``'s children where the schema order puts ``local``."""
    rank = order.index(local)
    for c in children(xml, parent):
        position = _order_of(xml, c, order)
        if position is not None and position > rank:
            return splice(xml, c.start, c.start, fragment)
    return append_child(xml, parent, fragment)


def set_attr(xml: str, element: Element, name: str, value: str) -> str:
    """Return ``xml`` with attribute ``name`` of ``element``'s start tag set to ``value``."""
    tag_end = element.inner_start if not element.empty else element.end
    tag = xml[element.start : tag_end]
    pattern = re.compile(r"(\s" + re.escape(name) + r"\s*=\s*)(\"[^\"]*\"|'[^']*')")
    if pattern.search(tag):
        tag = pattern.sub(lambda m: f'{m.group(1)}"{esc_attr(value)}"', tag, count=1)
    else:
        cut = len(tag) - (2 if tag.endswith("/>") else 1)
        tag = f'{tag[:cut].rstrip()} {name}="{esc_attr(value)}"{tag[cut:]}'
    return splice(xml, element.start, tag_end, tag)


def namespace_prefix(element: Element, namespace: str) -> str | None:
    """Return the prefix ``element`` declares for ``namespace`` ('' for the default namespace), or None."""
    for name, value in element.attrs.items():
        if value == namespace and (name == "xmlns" or name.startswith("xmlns:")):
            return name.partition(":")[2]
    return None


def text_of(xml: str, element: Element) -> str:
    """Return the unescaped character content of ``element`` (tags inside are dropped)."""
    return html.unescape(re.sub(r"<[^>]*>", "", xml[element.inner_start : element.inner_end]))


def esc_text(value: str) -> str:
    """Return ``value`` escaped for XML character content, control characters spelled as Excel does."""
    value = _ESCAPE_LIKE.sub(r"_x005F_\1", value)
    value = _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_attr(value: str) -> str:
    """Return ``value`` escaped for a double-quoted XML attribute."""
    value = _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def cell_text(value: str) -> str:
    """Return ``value`` cut to what one Excel cell can hold."""
    return value if len(value) <= MAX_CELL_TEXT else value[: MAX_CELL_TEXT - 1] + "…"


# ---------------------------------------------------------------------------------------------
# The package: zip entries, relationships, content types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relationship:
    """One relationship of a part: its id, type and the part (or external address) it targets."""

    rid: str
    type: str
    target: str
    external: bool


def rels_name(part: str) -> str:
    """Return the name of the relationships part of ``part`` ('' is the package itself)."""
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def resolve(source: str, target: str) -> str:
    """Return the part name a relationship ``target`` of ``source`` points at."""
    target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relative(source: str, part: str) -> str:
    """Return the relationship target that points from ``source`` to ``part``."""
    return posixpath.relpath(part, posixpath.dirname(source) or ".")


class Package:
    """An OOXML package held in memory; untouched entries are written back byte for byte."""

    def __init__(self, path: Path, infos: list[zipfile.ZipInfo], data: dict[str, bytes], source: bytes) -> None:
        self.path = path
        self.source = source
        """The file's bytes as opened: its cached cell values, read back without a second read of the file."""
        self._infos = {info.filename: info for info in infos}
        self._data = data
        self._order = [info.filename for info in infos]

    @classmethod
    def open(cls, path: Path) -> Package:
        """Return the package at ``path``; raise SourceError for anything that is not a sound workbook."""
        name = paths.shown(path)
        try:
            source = path.read_bytes()
            if source.startswith(_OLE):
                raise SourceError(name, "文件已加密或是旧版 .xls 工作簿，无法写入；请另存为 .xlsx 或 .xlsm")
            with zipfile.ZipFile(io.BytesIO(source)) as zf:
                infos = zf.infolist()
                names = [i.filename for i in infos]
                if len(infos) > MAX_ENTRIES:
                    raise SourceError(name, f"工作簿包含 {len(infos)} 个部件，超过上限 {MAX_ENTRIES}")
                if len(set(names)) != len(names):
                    raise SourceError(name, "工作簿压缩包中有重名部件，文件可能已损坏或被篡改")
                total = sum(i.file_size for i in infos)
                if total > MAX_TOTAL_BYTES:
                    limit = MAX_TOTAL_BYTES // 2**20
                    raise SourceError(name, f"工作簿解压后达 {total // 2**20} MB，超过上限 {limit} MB")
                if any(i.flag_bits & 0x1 for i in infos):
                    raise SourceError(name, "工作簿压缩包已加密，无法写入")
                data = {i.filename: zf.read(i) for i in infos}
        except FileNotFoundError:
            raise SourceError(name, "文件不存在") from None
        except IsADirectoryError:
            raise SourceError(name, "这是一个文件夹，请指定一个工作簿") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error):
            raise SourceError(name, "不是有效的 Excel 工作簿（.xlsx/.xlsm），或文件已损坏") from None
        except OSError as exc:
            raise SourceError(name, f"无法读取文件：{os_reason(exc)}") from None
        package = cls(path, infos, data, source)
        package.workbook_part()
        return package

    def __contains__(self, part: str) -> bool:
        return part in self._data

    def names(self) -> list[str]:
        """Return the entry names in package order."""
        return list(self._order)

    def text(self, part: str) -> str:
        """Return ``part`` decoded as UTF-8; a byte-order mark stays, so unchanged text re-encodes to the same bytes."""
        return self._data[part].decode("utf-8")

    def state(self) -> tuple[tuple[str, bytes], ...]:
        """Return every part's name and bytes in package order: equal states save to the same workbook."""
        return tuple((name, self._data[name]) for name in self._order)

    def write(self, part: str, content: str | bytes) -> None:
        """Replace or add ``part``."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        if part not in self._data:
            self._order.append(part)
        elif self._data[part] == data:
            return
        self._data[part] = data

    def delete(self, part: str) -> None:
        """Remove ``part`` if present."""
        if part in self._data:
            del self._data[part]
            self._order.remove(part)

    def unused_name(self, pattern: str) -> str:
        """Return the first name ``pattern.format(n)`` (n = 1, 2, …) no entry uses, ignoring case."""
        taken = {n.lower() for n in self._data}
        n = 1
        while pattern.format(n).lower() in taken:
            n += 1
        return pattern.format(n)

    def save(self, target: Path) -> Path:
        """Write the package to a temporary file beside ``target`` and rename it into place; return ``target``."""
        with replacing(target) as tmp, zipfile.ZipFile(tmp, "w") as zf:
            for name in self._order:
                old = self._infos.get(name)
                info = zipfile.ZipInfo(name, old.date_time if old else _ZIP_EPOCH)
                info.compress_type = old.compress_type if old else zipfile.ZIP_DEFLATED
                info.external_attr = old.external_attr if old else 0o600 << 16
                zf.writestr(info, self._data[name])
        return target

    # -- relationships ------------------------------------------------------------------------

    def rels(self, source: str) -> list[Relationship]:
        """Return the relationships of part ``source`` ('' for the package)."""
        name = rels_name(source)
        if name not in self._data:
            return []
        xml = self.text(name)
        found = []
        for e in children(xml, root(xml)):
            if e.local != "Relationship":
                continue
            external = e.attr("TargetMode") == "External"
            target = e.attr("Target") or ""
            resolved = target if external else resolve(source, target)
            found.append(Relationship(e.attr("Id") or "", e.attr("Type") or "", resolved, external))
        return found

    def add_rel(self, source: str, rel_type: str, part: str) -> str:
        """Add a relationship from ``source`` to ``part`` and return its new id."""
        name = rels_name(source)
        xml = (
            self.text(name)
            if name in self._data
            else (
                XML_DECLARATION
                + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
            )
        )
        used = [int(m) for m in re.findall(r'\bId="rId(\d+)"', xml)]
        rid = f"rId{max(used, default=0) + 1}"
        fragment = f'<Relationship Id="{rid}" Type="{rel_type}" Target="{esc_attr(relative(source, part))}"/>'
        self.write(name, append_child(xml, root(xml), fragment))
        return rid

    def remove_rel(self, source: str, rid: str) -> None:
        """Remove relationship ``rid`` of ``source``; drop the relationships part once it is empty."""
        name = rels_name(source)
        if name not in self._data:
            return
        xml = self.text(name)
        top = root(xml)
        entries = [e for e in children(xml, top) if e.local == "Relationship"]
        for e in entries:
            if e.attr("Id") == rid:
                if len(entries) == 1:
                    self.delete(name)
                else:
                    self.write(name, splice(xml, e.start, e.end))
                return

    def referrers(self, part: str) -> list[str]:
        """Return the parts (and '' for the package) that hold a relationship to ``part``."""
        found = []
        for name in self._order:
            if not name.endswith(".rels"):
                continue
            folder, _, file = name.rpartition("/")
            source = posixpath.join(posixpath.dirname(folder), file[: -len(".rels")])
            if any(r.target == part and not r.external for r in self.rels(source)):
                found.append(source)
        return found

    # -- content types ------------------------------------------------------------------------

    def add_override(self, part: str, content_type: str) -> None:
        """Declare ``part``'s content type with an Override (replacing any earlier one)."""
        self.remove_override(part)
        xml = self.text(_CONTENT_TYPES)
        fragment = f'<Override PartName="/{esc_attr(part)}" ContentType="{content_type}"/>'
        self.write(_CONTENT_TYPES, append_child(xml, root(xml), fragment))

    def remove_override(self, part: str) -> None:
        """Remove the Override of ``part``, if any."""
        xml = self.text(_CONTENT_TYPES)
        for e in children(xml, root(xml)):
            if e.local == "Override" and (e.attr("PartName") or "").lstrip("/").lower() == part.lower():
                self.write(_CONTENT_TYPES, splice(xml, e.start, e.end))
                return

    def drop_part(self, part: str) -> None:
        """Delete ``part``, its content type and its relationships, and the parts only it referred to."""
        targets = [r.target for r in self.rels(part) if not r.external]
        self.delete(part)
        self.delete(rels_name(part))
        self.remove_override(part)
        for target in targets:
            if target in self._data and not self.referrers(target):
                self.drop_part(target)

    # -- the workbook -------------------------------------------------------------------------

    def workbook_part(self) -> str:
        """Return the name of the workbook part, or raise SourceError for a non-workbook package."""
        file = paths.shown(self.path)
        if _CONTENT_TYPES not in self._data or "_rels/.rels" not in self._data:
            raise SourceError(file, "不是有效的 Excel 工作簿（缺少 [Content_Types].xml 或 _rels/.rels）")
        rels = self.rels("")
        if any(r.type == _STRICT_OFFICE_DOCUMENT for r in rels):
            raise SourceError(file, "这是 Strict Open XML 格式的工作簿，暂不支持；请在 Excel 中另存为普通 .xlsx")
        part = next((r.target for r in rels if r.type == REL_OFFICE_DOCUMENT), None)
        if part is None or part not in self._data:
            raise SourceError(file, "不是 Excel 工作簿（找不到工作簿部件）")
        if not part.endswith(".xml"):
            raise SourceError(file, "这是二进制工作簿（.xlsb），暂不支持；请另存为 .xlsx 或 .xlsm")
        return part


def iter_matching(xml: str, parent: Element, local: str) -> Iterator[Element]:
    """Yield ``parent``'s children named ``local``."""
    return (c for c in children(xml, parent) if c.local == local)


def remove_elements(xml: str, elements: Iterable[Element]) -> str:
    """Return ``xml`` without ``elements`` (which must not overlap)."""
    for e in sorted(elements, key=lambda e: e.start, reverse=True):
        xml = splice(xml, e.start, e.end)
    return xml


# ---------------------------------------------------------------------------------------------
# The workbook part: sheets, defined names, calculation settings
# ---------------------------------------------------------------------------------------------

WORKBOOK_ORDER: tuple[str, ...] = (
    "fileVersion",
    "fileSharing",
    "workbookPr",
    "workbookProtection",
    "bookViews",
    "sheets",
    "functionGroups",
    "externalReferences",
    "definedNames",
    "calcPr",
    "oleSize",
    "customWorkbookViews",
    "pivotCaches",
    "smartTagPr",
    "smartTagTypes",
    "webPublishing",
    "fileRecoveryPr",
    "webPublishObjects",
    "extLst",
)


@dataclass(frozen=True)
class Sheet:
    """One sheet of the workbook: its tab name, ids, part name and visibility."""

    name: str
    sheet_id: int
    rid: str
    part: str
    state: str


def main_ns(top: Element) -> str:
    """Return an ``xmlns`` declaration for new SpreadsheetML children of ``top`` ('' when already default)."""
    return "" if namespace_prefix(top, NS_MAIN) == "" else f' xmlns="{NS_MAIN}"'


def rid_attr(top: Element, rid: str) -> str:
    """Return a relationship-id attribute valid under ``top``, declaring the namespace when needed."""
    prefix = namespace_prefix(top, NS_R)
    if prefix:
        return f'{prefix}:id="{rid}"'
    return f'xmlns:r="{NS_R}" r:id="{rid}"'


def quote_sheet(name: str) -> str:
    """Return ``name`` quoted for a formula reference (``'项目1'``)."""
    return "'" + name.replace("'", "''") + "'"


class Workbook:
    """The workbook part of a package: its sheets, defined names and calculation settings."""

    def __init__(self, package: Package) -> None:
        self.package = package
        self.part = package.workbook_part()

    @property
    def xml(self) -> str:
        """Return the workbook part's current text."""
        return self.package.text(self.part)

    def sheets(self) -> list[Sheet]:
        """Return the sheets in tab order."""
        xml = self.xml
        sheets_el = child(xml, root(xml), "sheets")
        if sheets_el is None:
            return []
        targets = {r.rid: r.target for r in self.package.rels(self.part)}
        return [
            Sheet(
                name=e.attr("name") or "",
                sheet_id=int(e.attr("sheetId") or 0),
                rid=e.prefixed_attr("id") or "",
                part=targets.get(e.prefixed_attr("id") or "", ""),
                state=e.attr("state") or "visible",
            )
            for e in iter_matching(xml, sheets_el, "sheet")
        ]

    def sheet(self, name: str) -> Sheet | None:
        """Return the sheet named ``name`` (Excel compares names ignoring case), or None."""
        return next((s for s in self.sheets() if s.name.casefold() == name.casefold()), None)

    def add_sheet(self, name: str, content: str, index: int) -> Sheet:
        """Add a worksheet part holding ``content`` as tab ``index`` and return it."""
        package = self.package
        part = package.unused_name("xl/worksheets/sheet{}.xml")
        package.write(part, content)
        package.add_override(part, CT_WORKSHEET)
        rid = package.add_rel(self.part, REL_WORKSHEET, part)
        existing = self.sheets()
        index = max(0, min(index, len(existing)))
        sheet_id = max((s.sheet_id for s in existing), default=0) + 1
        xml = self._shift_indexes(self.xml, index, +1)
        top = root(xml)
        sheets_el = child(xml, top, "sheets")
        fragment = f'<sheet{main_ns(top)} name="{esc_attr(name)}" sheetId="{sheet_id}" {rid_attr(top, rid)}/>'
        if sheets_el is None:
            xml = insert_ordered(xml, top, f"<sheets{main_ns(top)}>{fragment}</sheets>", "sheets", WORKBOOK_ORDER)
        else:
            elements = list(iter_matching(xml, sheets_el, "sheet"))
            xml = (
                splice(xml, elements[index].start, elements[index].start, fragment)
                if index < len(elements)
                else append_child(xml, sheets_el, fragment)
            )
        package.write(self.part, xml)
        return Sheet(name, sheet_id, rid, part, "visible")

    def remove_sheet(self, sheet: Sheet) -> None:
        """Remove ``sheet``, its part and the parts only it used, and names scoped to it."""
        index = [s.sheet_id for s in self.sheets()].index(sheet.sheet_id)
        xml = self.xml
        top = root(xml)
        sheets_el = child(xml, top, "sheets")
        assert sheets_el is not None
        element = next(e for e in iter_matching(xml, sheets_el, "sheet") if e.attr("sheetId") == str(sheet.sheet_id))
        xml = splice(xml, element.start, element.end)
        names_el = child(xml, root(xml), "definedNames")
        if names_el is not None:
            scoped = [e for e in iter_matching(xml, names_el, "definedName") if e.attr("localSheetId") == str(index)]
            xml = remove_elements(xml, scoped)
            names_el = child(xml, root(xml), "definedNames")
            if names_el is not None and not list(iter_matching(xml, names_el, "definedName")):
                xml = splice(xml, names_el.start, names_el.end)
        xml = self._shift_indexes(xml, index + 1, -1)
        self.package.write(self.part, xml)
        self.package.remove_rel(self.part, sheet.rid)
        self.package.drop_part(sheet.part)

    @staticmethod
    def _shift_indexes(xml: str, at: int, delta: int) -> str:
        """Return ``xml`` with every sheet index (names' localSheetId, active/first tab) >= ``at`` moved."""
        top = root(xml)
        targets: list[tuple[Element, str]] = []
        names_el = child(xml, top, "definedNames")
        if names_el is not None:
            targets += [(e, "localSheetId") for e in iter_matching(xml, names_el, "definedName")]
        views = child(xml, top, "bookViews")
        if views is not None:
            targets += [(e, a) for e in iter_matching(xml, views, "workbookView") for a in ("activeTab", "firstSheet")]
        for element, attr in sorted(targets, key=lambda t: t[0].start, reverse=True):
            value = element.attr(attr)
            if value is not None and value.isdigit() and int(value) >= at:
                xml = set_attr(xml, element, attr, str(max(0, int(value) + delta)))
        return xml

    def define_name(self, name: str, formula: str, *, local_sheet: int | None = None, hidden: bool = False) -> None:
        """Define (or redefine) workbook name ``name`` as ``formula`` (without the leading '=')."""
        xml = self.xml
        top = root(xml)
        scope = None if local_sheet is None else str(local_sheet)
        names_el = child(xml, top, "definedNames")
        if names_el is not None:
            for e in iter_matching(xml, names_el, "definedName"):
                if (e.attr("name") or "").casefold() == name.casefold() and e.attr("localSheetId") == scope:
                    if e.empty:
                        opened = re.sub(r"\s*/>$", ">", xml[e.start : e.end])
                        xml = splice(xml, e.start, e.end, f"{opened}{esc_text(formula)}</{e.qname}>")
                    else:
                        xml = splice(xml, e.inner_start, e.inner_end, esc_text(formula))
                    self.package.write(self.part, xml)
                    return
        attrs = f' name="{esc_attr(name)}"' + (f' localSheetId="{scope}"' if scope is not None else "")
        attrs += ' hidden="1"' if hidden else ""
        fragment = f"<definedName{main_ns(top) if names_el is None else ''}{attrs}>{esc_text(formula)}</definedName>"
        if names_el is None:
            fragment = f"<definedNames{main_ns(top)}>{fragment.replace(main_ns(top), '', 1)}</definedNames>"
            xml = insert_ordered(xml, top, fragment, "definedNames", WORKBOOK_ORDER)
        else:
            xml = append_child(xml, names_el, fragment)
        self.package.write(self.part, xml)

    def full_calc_on_load(self) -> None:
        """Ask Excel, WPS and LibreOffice to recalculate every formula when the file is opened."""
        xml = self.xml
        top = root(xml)
        calc = child(xml, top, "calcPr")
        if calc is None:
            xml = insert_ordered(xml, top, f'<calcPr{main_ns(top)} fullCalcOnLoad="1"/>', "calcPr", WORKBOOK_ORDER)
        else:
            xml = set_attr(xml, calc, "fullCalcOnLoad", "1")
        self.package.write(self.part, xml)

    def drop_calc_chain(self) -> None:
        """Remove the calculation chain; Excel rebuilds it, and a stale one makes Excel repair the file."""
        for rel in self.package.rels(self.part):
            if rel.type == REL_CALC_CHAIN:
                self.package.remove_rel(self.part, rel.rid)
                self.package.drop_part(rel.target)


# ---------------------------------------------------------------------------------------------
# Styles: append what is needed, reuse what is there, never renumber
# ---------------------------------------------------------------------------------------------

STYLES_ORDER: tuple[str, ...] = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
)
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10, "@": 49}
_DEFAULT_STYLES = (
    XML_DECLARATION + f'<styleSheet xmlns="{NS_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
    '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
    'patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/>'
    '</border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles '
    'count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles><dxfs count="0"/></styleSheet>'
)


def _normalised(fragment: str) -> str:
    return re.sub(r">\s+<", "><", fragment.strip())


class StyleSheet:
    """The workbook's styles part: appends fonts, fills, borders, formats and xfs, returning their indexes."""

    def __init__(self, workbook: Workbook) -> None:
        self.package = workbook.package
        part = next((r.target for r in self.package.rels(workbook.part) if r.type == REL_STYLES), None)
        if part is None or part not in self.package:
            part = part or "xl/styles.xml"
            self.package.write(part, _DEFAULT_STYLES)
            self.package.add_override(part, CT_STYLES)
            if not any(r.type == REL_STYLES for r in self.package.rels(workbook.part)):
                self.package.add_rel(workbook.part, REL_STYLES, part)
        self.part = part
        self.xml = self.package.text(part)

    def _collection(self, local: str) -> Element:
        top = root(self.xml)
        found = child(self.xml, top, local)
        if found is None:
            self.xml = insert_ordered(self.xml, top, f'<{local}{main_ns(top)} count="0"/>', local, STYLES_ORDER)
            found = child(self.xml, root(self.xml), local)
            assert found is not None
        return found

    def _ensure(self, local: str, fragment: str) -> int:
        collection = self._collection(local)
        items = children(self.xml, collection)
        wanted = _normalised(fragment)
        for index, item in enumerate(items):
            if _normalised(self.xml[item.start : item.end]) == wanted:
                return index
        self.xml = append_child(self.xml, collection, fragment)
        if collection.attr("count") is not None:
            self.xml = set_attr(self.xml, self._collection(local), "count", str(len(items) + 1))
        return len(items)

    def font(self, fragment: str) -> int:
        """Return the index of ``<font>`` ``fragment``, appending it when missing."""
        return self._ensure("fonts", fragment)

    def fill(self, fragment: str) -> int:
        """Return the index of ``<fill>`` ``fragment``, appending it when missing."""
        return self._ensure("fills", fragment)

    def border(self, fragment: str) -> int:
        """Return the index of ``<border>`` ``fragment``, appending it when missing."""
        return self._ensure("borders", fragment)

    def dxf(self, fragment: str) -> int:
        """Return the index of differential format ``fragment``, appending it when missing."""
        return self._ensure("dxfs", fragment)

    def num_fmt(self, code: str) -> int:
        """Return the id of number format ``code``: a built-in id, an existing one, or a new one."""
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        collection = self._collection("numFmts")
        ids = [163]
        for item in children(self.xml, collection):
            if item.attr("formatCode") == code:
                return int(item.attr("numFmtId") or 0)
            ids.append(int(item.attr("numFmtId") or 0))
        new_id = max(ids) + 1
        self._ensure("numFmts", f'<numFmt numFmtId="{new_id}" formatCode="{esc_attr(code)}"/>')
        return new_id

    def xf(self, *, num_fmt: int = 0, font: int = 0, fill: int = 0, border: int = 0, alignment: str = "") -> int:
        """Return the index of a cell format combining the given parts, appending it when missing."""
        applied = "".join(
            f' {name}="1"'
            for name, used in (
                ("applyNumberFormat", num_fmt),
                ("applyFont", font),
                ("applyFill", fill),
                ("applyBorder", border),
                ("applyAlignment", alignment),
            )
            if used
        )
        head = f'<xf numFmtId="{num_fmt}" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0"{applied}'
        return self._ensure("cellXfs", f"{head}>{alignment}</xf>" if alignment else f"{head}/>")

    def save(self) -> None:
        """Write the styles part back (unchanged bytes when nothing was added)."""
        self.package.write(self.part, self.xml)

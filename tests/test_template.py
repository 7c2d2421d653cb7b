"""The macro-enabled template: reproducible build, its VBA project, ribbon and sheets, and `.xlsm` round trips.

The VBA project is checked the strict way: oletools' dir-driven parser (``VBA_Project`` with
``relaxed=False``), which reads each module where the dir stream says it is, rather than
``extract_macros``, which falls back to scanning for anything that looks like source. And
LibreOffice imports every module from the template, as it shows in the Basic/ folder of an
.ods it converts the template to.
"""

from __future__ import annotations

import importlib.metadata
import io
import random
import re
import struct
import tomllib
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import olefile
import pytest
from oletools.olevba import VBA_Project, decompress_stream
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.excel import cfb, template, vba
from perfxl.excel.udfgen import vba_wrappers
from perfxl.layout import CONF_SHEET
from perfxl.readers import read_source
from perfxl.readers.workbook import read_workbook
from tests.lo import convert
from tests.workbooks import read_parts, rewrite, sheet_parts

ROOT = Path(__file__).parent.parent
COMMITTED = ROOT / "workbooks" / "template.xlsm"
CHENGDE = ROOT / "examples" / "chengde-2025.txt"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
UI = "{http://schemas.microsoft.com/office/2009/07/customui}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a fresh build of the template."""
    return template.build_template(tmp_path_factory.mktemp("template") / "template.xlsm")


def vba_bin(path: Path) -> bytes:
    """Return the vbaProject.bin of a workbook."""
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/vbaProject.bin")


def strict_modules(data: bytes) -> dict[str, tuple[str, int, int]]:
    """Return every module as oletools' strict, dir-driven parser reads it: (source, type, text offset)."""
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    project = VBA_Project(ole, "", "PROJECT", "VBA/dir", relaxed=False)
    project.parse_project_stream()
    codes = {name.rsplit(".", 1)[0]: code for _, name, code in project.parse_modules()}
    return {m.name: (codes[m.name], m.type, m.textoffset) for m in project.modules}


def code_names(path: Path) -> list[str]:
    """Return the workbook's code name and then every sheet's, in tab order, as the file states them."""
    parts = read_parts(path)
    book = ElementTree.fromstring(parts["xl/workbook.xml"])
    names = [book.find("m:workbookPr", NS).get("codeName")]  # type: ignore[union-attr]
    for part in sheet_parts(path).values():
        sheet_pr = ElementTree.fromstring(parts[part]).find("m:sheetPr", NS)
        names.append(None if sheet_pr is None else sheet_pr.get("codeName"))
    return [n or "" for n in names]


# --- reproducible and up to date ----------------------------------------------------------------


STYLES_PART = "xl/styles.xml"


def same_template(path: Path) -> tuple[dict[str, bytes], list[tuple[str, ...]]]:
    """Return what makes a template: every part but the style table, and each styled cell's resolved style.

    XlsxWriter's patch releases number and deduplicate the style table differently (3.3.4
    writes one font more than 3.3.1 for the same formats), so the style table is compared by
    what each cell and conditional format resolves to, and everything else byte for byte.
    """
    import openpyxl

    parts = {name: data for name, data in read_parts(path).items() if name != STYLES_PART}
    book = openpyxl.load_workbook(path)
    styles = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.has_style:
                    looks = (c.number_format, c.font, c.fill, c.border, c.alignment, c.protection)
                    styles.append((ws.title, c.coordinate, *map(repr, looks)))
        for cf in ws.conditional_formatting:
            styles += [
                (ws.title, str(cf.sqref), rule.formula[0] if rule.formula else "", repr(rule.dxf)) for rule in cf.rules
            ]
    return parts, styles


def test_committed_template_is_the_build_output(built: Path, tmp_path: Path) -> None:
    again = template.build_template(tmp_path / "again.xlsm")
    assert built.read_bytes() == again.read_bytes()
    assert same_template(COMMITTED) == same_template(built), "rebuild: perfxl template -o workbooks/template.xlsm"


def test_cli_template_command(tmp_path: Path) -> None:
    result = runner.invoke(app, ["template", "-o", str(tmp_path / "t.xlsm")])
    assert result.exit_code == 0, result.output
    assert same_template(tmp_path / "t.xlsm") == same_template(COMMITTED)
    refused = runner.invoke(app, ["template", "-o", str(tmp_path / "t.xlsx")])
    assert refused.exit_code == 2
    assert ".xlsm" in refused.output


def test_xlwings_is_the_pinned_version(monkeypatch: pytest.MonkeyPatch) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"xlwings=={template.XLWINGS_VERSION}" in pyproject["project"]["dependencies"]
    assert importlib.metadata.version("xlwings") == template.XLWINGS_VERSION
    monkeypatch.setattr(template, "XLWINGS_VERSION", "0.0.1")
    with pytest.raises(template.BuildError, match=r"0\.0\.1"):
        template.xlwings_modules()


# --- the VBA project ----------------------------------------------------------------------------


def test_every_module_parses_strictly_with_exactly_the_repo_source(built: Path) -> None:
    modules = strict_modules(vba_bin(built))
    names = code_names(built)
    expected = {m.name: m for m in template.project_modules(names)}
    assert set(modules) == set(expected)
    for name, (code, kind, offset) in modules.items():
        assert code == expected[name].code, name
        assert offset == 0, f"{name} must hold source only"
        assert kind == (0x21 if expected[name].kind is vba.ModuleKind.STANDARD else 0x22), name
    # The sources in the repo, module by module.
    for path in sorted(template.VBA_SOURCES.glob("*.bas")):
        text = path.read_text(encoding="ascii")
        assert modules[path.stem][0] == vba.crlf(text)
    folder = Path(importlib.metadata.distribution("xlwings").locate_file("xlwings"))
    assert modules["xlwings"][0].encode("ascii") == (folder / "xlwings.bas").read_bytes()
    udfs = (ROOT / "udfs.py").read_text(encoding="utf-8")
    assert modules["xlwings_udfs"][0] == vba.crlf(vba_wrappers("udfs", udfs))
    dictionary = modules["Dictionary"][0]
    assert dictionary.startswith('Attribute VB_Name = "Dictionary"\r\nAttribute VB_Base = "0{FCFB3D2A-')
    body = (folder / "addin" / "Dictionary.cls").read_bytes().decode("ascii").split("Attribute VB_Description")[1]
    assert dictionary.endswith(body.split("\r\n", 1)[1])


def test_every_sheet_code_name_has_its_document_module(built: Path) -> None:
    names = code_names(built)
    assert names[0] == "ThisWorkbook"
    assert all(names), "every sheet needs a code name"
    modules = strict_modules(vba_bin(built))
    assert modules["ThisWorkbook"][0].splitlines()[1] == f'Attribute VB_Base = "{vba.WORKBOOK_BASE}"'
    for name in names[1:]:
        assert modules[name][0].splitlines()[1] == f'Attribute VB_Base = "{vba.WORKSHEET_BASE}"'


def test_project_is_version_0xffff_without_cache(built: Path) -> None:
    ole = olefile.OleFileIO(io.BytesIO(vba_bin(built)), raise_defects=olefile.DEFECT_INCORRECT)
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("CC61FFFF000100")
    assert not [s for s in ole.listdir() if s[-1].startswith("__SRP_")]
    project = ole.openstream("PROJECT").read().decode("ascii")
    assert project.startswith('ID="{') and "\r\n[Workspace]\r\n" in project
    # Not protected, no password, visible: the values decrypt against this project's ID.
    project_id = re.search(r'ID="(\{[^"]+\})"', project).group(1)  # type: ignore[union-attr]
    for key, plain in (("CMG", bytes(4)), ("DPB", b"\x00"), ("GC", b"\xff")):
        value = re.search(rf'{key}="([0-9A-F]+)"', project).group(1)  # type: ignore[union-attr]
        assert _decrypt(value, project_id) == plain, key


def _decrypt(value: str, project_id: str) -> bytes:
    """Return the data of a PROJECT-stream CMG/DPB/GC value (MS-OVBA 2.4.3.3), checking its key."""
    data = bytes.fromhex(value)
    seed, version, key = data[0], data[1] ^ data[0], data[2] ^ data[0]
    assert version == 2 and key == sum(project_id.encode()) & 0xFF
    plain, enc1, enc2, out = key, data[2], data[1], bytearray()
    for byte in data[3:]:
        out.append(byte ^ ((enc2 + plain) & 0xFF))
        enc2, enc1, plain = enc1, byte, out[-1]
    out = out[(seed & 6) // 2 :]
    (length,) = struct.unpack("<I", out[:4])
    return bytes(out[4 : 4 + length])


def test_libreoffice_imports_every_module(built: Path, tmp_path: Path) -> None:
    (ods,) = convert(built, "ods", tmp_path / "ods")
    expected = {m.name: m for m in template.project_modules(code_names(built))}
    kinds = {vba.ModuleKind.STANDARD: "normal", vba.ModuleKind.CLASS: "class", vba.ModuleKind.DOCUMENT: "document"}
    with zipfile.ZipFile(ods) as zf:
        basic = {n.rsplit("/", 1)[1][:-4]: zf.read(n) for n in zf.namelist() if n.startswith("Basic/VBAProject/")}
    basic.pop("script-lb")
    assert set(basic) == set(expected)
    for name, xml in basic.items():
        module = ElementTree.fromstring(xml)
        assert module.get("{http://openoffice.org/2000/script}moduleType") == kinds[expected[name].kind], name
        # LibreOffice drops the Attribute lines and adds its own VBA-mode header.
        lines = (module.text or "").split("\n")
        header = ["Option VBASupport 1", "Option ClassModule"]
        assert lines[0].startswith("Rem Attribute VBA_ModuleType=")
        body = [line for line in lines[1:] if line not in header]
        ours = [line for line in expected[name].code.split("\r\n") if not line.startswith("Attribute ")]
        assert "\n".join(body).strip("\n") == "\n".join(ours).strip("\n"), name


# --- writer units: compression, compound file -------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 3, 4095, 4096, 4097, 8192, 20000])
def test_compression_round_trips(size: int) -> None:
    rng = random.Random(size)
    text = bytes(rng.choice(b"Dim x As Long\r\n' perfxl  ") for _ in range(size))
    assert bytes(decompress_stream(bytearray(vba.compress(text)))) == text
    noise = bytes(rng.randrange(256) for _ in range(size))
    # Incompressible chunks are stored raw, which MS-OVBA pads to 4,096 bytes.
    assert bytes(decompress_stream(bytearray(vba.compress(noise))))[:size] == noise


def test_compound_file_trees_are_valid_red_black_trees() -> None:
    for count in range(1, 70):
        streams = {f"VBA/M{i}": bytes([i % 256]) * (i * 97) for i in range(count)}
        streams["PROJECT"] = b"x" * 5000
        data = cfb.compound_file(streams)
        assert data == cfb.compound_file(streams)
        ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
        for path, content in streams.items():
            assert ole.openstream(path).read() == content, path
        storage = next(e for e in ole.direntries if e is not None and e.name == "VBA")
        assert _black_height(ole, storage.sid_child, red_parent=False) > 0


def _black_height(ole: olefile.OleFileIO, sid: int, *, red_parent: bool) -> int:
    """Return the black height below ``sid``, failing on a red node with a red parent or unequal paths."""
    if sid == cfb.NOSTREAM:
        return 1
    entry = ole.direntries[sid]
    red = entry.color == 0
    assert not (red and red_parent)
    left = _black_height(ole, entry.sid_left, red_parent=red)
    right = _black_height(ole, entry.sid_right, red_parent=red)
    assert left == right
    return left + (0 if red else 1)


def test_vba_sources_must_be_ascii_and_named_once() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        vba.vba_project([vba.standard_module('Attribute VB_Name = "M"\nMsgBox "你好"\n')])
    with pytest.raises(ValueError, match="twice"):
        vba.vba_project([vba.standard_module('Attribute VB_Name = "M"\n')] * 2)


# --- ribbon and sheets --------------------------------------------------------------------------


def ribbon(path: Path) -> ElementTree.Element:
    """Return the customUI part of a workbook, found through the package's root relationship."""
    parts = read_parts(path)
    rels = ElementTree.fromstring(parts["_rels/.rels"])
    (rel,) = [r for r in rels.iter(f"{RELS}Relationship") if r.get("Type") == template.RIBBON_REL_TYPE]
    return ElementTree.fromstring(parts[rel.get("Target", "")])


def test_ribbon_tab_buttons_and_callbacks(built: Path) -> None:
    ui = ribbon(built)
    (tab,) = ui.iter(f"{UI}tab")
    assert tab.get("label") == "绩效目标"
    buttons = list(tab.iter(f"{UI}button"))
    assert [b.get("label") for b in buttons] == ["新建项目", "校验", "清除标记", "部门汇总", "合并", "导出文本", "关于"]
    for element in [tab, *tab.iter(f"{UI}group"), *buttons]:
        assert re.search(r"[\u4e00-\u9fff]", element.get("label", "")), element.get("id")
    modules = strict_modules(vba_bin(built))
    from perfxl.excel import buttons as python_side

    for button in buttons:
        assert button.get("imageMso")
        module, sub = (button.get("onAction") or "").split(".")
        source = modules[module][0]
        m = re.search(rf"^Sub {sub}\(control As IRibbonControl\)\r\n(.*?)^End Sub", source, re.M | re.S)
        assert m is not None, f"{module}.{sub}"
        call = re.fullmatch(r'\s*RunPython "import perfxl\.excel\.buttons as b; b\.(\w+)\(\)"\s*', m.group(1))
        assert call is not None and callable(getattr(python_side, call.group(1)))


def test_conf_sheet_and_check_column(built: Path) -> None:
    parts = read_parts(built)
    book = ElementTree.fromstring(parts["xl/workbook.xml"])
    states = {s.get("name"): s.get("state") for s in book.iterfind("m:sheets/m:sheet", NS)}
    assert states[CONF_SHEET] == "hidden"
    from openpyxl import load_workbook

    wb = load_workbook(built)
    conf = wb[CONF_SHEET]
    settings = {}
    for row in conf.iter_rows(min_col=1, max_col=2, values_only=True):
        if row[0] is None:
            break
        assert str(row[0]).upper() not in {k.upper() for k in settings}, "xlwings refuses duplicate keys"
        settings[row[0]] = row[1]
    assert settings == {"UDF Modules": "udfs"}
    assert any("xlwings config create" in str(c.value) for c in conf["A"])
    form = wb["项目1"]
    assert form["H1"].value == "=PX_PROJECT_STATUS()"
    assert form["H9"].value == "检查"
    assert form["H10"].value == '=IF(COUNTA(A10:E10)=0,"",PX_CHECK_VALUE(A10,B10,C10,D10,E10))'


def test_check_column_errors_are_not_findings(built: Path, tmp_path: Path) -> None:
    # Where Python is absent (WPS, macros blocked) the 检查 cells are saved as #NAME?: that is no problem.
    part = sheet_parts(built)["项目1"]
    xml = read_parts(built)[part].decode()
    xml, n = re.subn(r'<c r="H10"([^>]*)><f>', r'<c r="H10"\1 t="e"><f>', xml)
    assert n == 1
    xml = xml.replace("<v></v></c>", "<v>#NAME?</v></c>", 1)
    saved = rewrite(built, tmp_path / "wps.xlsm", {part: xml.encode()})
    assert not [f for f in read_workbook(saved).findings if f.cell and f.cell.startswith("H")]


# --- .xlsm round trips --------------------------------------------------------------------------


def test_import_to_xlsm_then_cli_writes_keep_vba_and_ribbon(tmp_path: Path) -> None:
    book = tmp_path / "承德.xlsm"
    assert runner.invoke(app, ["import", str(CHENGDE), "-o", str(book)]).exit_code == 0
    before = read_parts(book)
    assert len(read_source(book).department.projects) == len(read_source(CHENGDE).department.projects)
    ours = strict_modules(before["xl/vbaProject.bin"])
    shipped = strict_modules(vba_bin(COMMITTED))
    for name in ("PxRibbon", "xlwings", "Dictionary", "xlwings_udfs"):
        assert ours[name] == shipped[name]
    assert {n for n in ours if n.startswith("Sheet")} == set(code_names(book)[1:])
    for command in (["validate", str(book), "--write"], ["rollup", str(book)], ["clear", str(book)]):
        result = runner.invoke(app, command)
        assert result.exit_code in (0, 1), result.output
        after = read_parts(book)
        assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"], command
        assert after[template.RIBBON_PART] == before[template.RIBBON_PART], command
        assert next(ribbon(book).iter(f"{UI}tab")).get("label") == "绩效目标", command


def test_import_to_xlsm_refuses_several_sources(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(CHENGDE), str(CHENGDE), "-o", str(tmp_path / "x.xlsm")])
    assert result.exit_code == 2
    assert not list(tmp_path.iterdir())

"""Build the macro-enabled template (``workbooks/template.xlsm``) and workbooks like it, from source.

What goes in, all read at build time:

- the department-workbook layout (``perfxl.writers.workbook``): 部门, one project form, 部门汇总,
  the hidden lists, and a hidden ``xlwings.conf`` sheet;
- the VBA modules in ``perfxl/excel/vba/`` (the ribbon callbacks), xlwings' standalone module
  and its Dictionary class from the installed xlwings, which must be the pinned version (the
  module names its DLL by version), the wrappers of the ``@xw.func`` functions of ``udfs.py``
  (``perfxl.excel.udfgen``), and an empty document module per sheet code name;
- the ribbon ``perfxl/excel/ribbon.xml``.

Two builds are byte-identical: the document properties carry a fixed date, the VBA project is
deterministic (``perfxl.excel.vba``), and the package is rewritten with fixed zip entry dates
and attributes. The ribbon is customUI14 (Office 2010 and later), related from the package root
with the 2007 relationship type MS-OI29500 gives it. openpyxl re-creates only the 2006 type on
save, so re-saving the template with openpyxl would silently drop the ribbon; perfxl's own
in-place editor (``perfxl.writers.package``) copies the relationship untouched.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import uuid
import zipfile
from datetime import datetime
from pathlib import Path

from perfxl.excel.udfgen import vba_wrappers
from perfxl.excel.vba import (
    WORKBOOK_BASE,
    WORKSHEET_BASE,
    Module,
    class_module,
    document_module,
    standard_module,
    vba_project,
)
from perfxl.model import Department, Project
from perfxl.writers.files import replacing
from perfxl.writers.workbook import MacroBook, write_department_workbook

# The version the embedded xlwings module is written for; pyproject pins the same.
XLWINGS_VERSION = "0.37.8"
UDF_MODULE = "udfs"
SOURCES = Path(__file__).resolve().parent
VBA_SOURCES = SOURCES / "vba"
RIBBON = SOURCES / "ribbon.xml"
RIBBON_PART = "customUI/customUI14.xml"
RIBBON_REL_TYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
RIBBON_REL_ID = "rIdPerfxlRibbon"
CREATED = datetime(2025, 1, 1)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

CONF_SETTINGS: tuple[tuple[str, str], ...] = (("UDF Modules", UDF_MODULE),)
CONF_NOTES: tuple[str, ...] = (
    "以上是本工作簿的 xlwings 设置：A 列为设置项，B 列为值，从 A1 起逐行填写，遇到空行即停止读取。",
    "Python 位置（解释器）：安装 perfxl 后，在同一个 Python 环境中运行一次「xlwings config create --force」，",
    "它把当前 Python 写入 %USERPROFILE%\\.xlwings\\xlwings.conf，本机所有 perfxl 工作簿都会使用。",
    "只想让本工作簿使用另一个 Python 时，在上面的设置中加一行：A 列 Interpreter_Win，B 列 python.exe 的完整路径",
    "（Mac 为 Interpreter_Mac）；也可以在工作簿所在文件夹放一个 xlwings.conf 文件。",
    "「UDF Modules」是工作表函数（PX_CHECK_VALUE 等）所在的 Python 模块，请勿修改。",
)


class BuildError(RuntimeError):
    """The template cannot be built in this environment (wrong xlwings, missing udfs.py)."""


def _xlwings_folder() -> Path:
    """Return the installed xlwings package folder, without importing xlwings."""
    try:
        version = importlib.metadata.version("xlwings")
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(f"未安装 xlwings，请安装 xlwings=={XLWINGS_VERSION}") from None
    if version != XLWINGS_VERSION:
        raise BuildError(
            f"已安装的 xlwings 是 {version}，模板需要 {XLWINGS_VERSION}（其 VBA 模块按版本号调用 DLL），"
            f"请运行 pip install xlwings=={XLWINGS_VERSION}"
        )
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("找不到 xlwings 的安装位置")
    return Path(next(iter(spec.submodule_search_locations)))


def xlwings_modules() -> list[Module]:
    """Return xlwings' standalone VBA module and its Dictionary class, from the installed xlwings."""
    folder = _xlwings_folder()
    source = (folder / "xlwings.bas").read_bytes().decode("ascii")
    if f"'Version: {XLWINGS_VERSION}\r\n" not in source:
        raise BuildError(f"xlwings.bas 不是 {XLWINGS_VERSION} 版本")
    dictionary = (folder / "addin" / "Dictionary.cls").read_bytes().decode("ascii")
    return [standard_module(source), class_module(dictionary)]


def udf_source() -> tuple[str, Path]:
    """Return the text and path of the UDF module (``udfs.py``) Excel will import, without importing it."""
    spec = importlib.util.find_spec(UDF_MODULE)
    if spec is None or spec.origin is None:
        raise BuildError(f"找不到工作表函数模块 {UDF_MODULE}.py")
    path = Path(spec.origin)
    return path.read_text(encoding="utf-8"), path


def own_modules() -> list[Module]:
    """Return perfxl's VBA modules: the ``.bas`` files of ``perfxl/excel/vba/`` and the generated UDF wrappers."""
    modules = [standard_module(p.read_text(encoding="ascii")) for p in sorted(VBA_SOURCES.glob("*.bas"))]
    source, path = udf_source()
    modules.append(standard_module(vba_wrappers(UDF_MODULE, source, str(path))))
    return modules


def project_modules(code_names: list[str]) -> list[Module]:
    """Return every module of the template's VBA project, given the workbook's and sheets' code names."""
    book, *sheets = code_names
    documents = [document_module(book, WORKBOOK_BASE), *(document_module(s, WORKSHEET_BASE) for s in sheets)]
    return [*documents, *own_modules(), *xlwings_modules()]


def build_workbook(dept: Department, path: Path) -> Path:
    """Write ``dept`` as a macro-enabled workbook with perfxl's VBA project and ribbon; return ``path``."""
    macro = MacroBook(
        vba_project=lambda names: vba_project(project_modules(list(names))),
        settings=CONF_SETTINGS,
        notes=CONF_NOTES,
        created=CREATED,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    built = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.xlsm")
    try:
        write_department_workbook(dept, built, macro=macro)
        _with_ribbon(built, path)
    finally:
        built.unlink(missing_ok=True)
    return path


def build_template(path: Path) -> Path:
    """Build the empty template (one blank project form) at ``path``; return ``path``."""
    return build_workbook(Department(projects=[Project()]), path)


def _with_ribbon(built: Path, path: Path) -> None:
    """Write ``built`` to ``path`` with the ribbon part and its relationship, every zip entry normalised."""
    with zipfile.ZipFile(built) as zf:
        parts = [(info.filename, zf.read(info)) for info in zf.infolist()]
    rel = f'<Relationship Id="{RIBBON_REL_ID}" Type="{RIBBON_REL_TYPE}" Target="{RIBBON_PART}"/>'
    parts = [
        (name, data.replace(b"</Relationships>", rel.encode() + b"</Relationships>") if name == "_rels/.rels" else data)
        for name, data in parts
    ]
    parts.append((RIBBON_PART, RIBBON.read_bytes()))
    with replacing(path) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for name, data in parts:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            # Entry metadata as Excel writes it, the same on every platform.
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            zf.writestr(info, data)

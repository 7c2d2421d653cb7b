"""Every output is written through a temporary file beside it and gets the user's normal permissions.

A consolidated workbook on a bureau's shared drive must open for colleagues: the umask decides
who may read a new output, as for any document the user saves, and an updated workbook keeps
the permissions it had.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.consolidate import consolidate, discover
from perfxl.paths import shown
from perfxl.writers.files import TEMPORARY_SUFFIX, replacing, temporary_beside
from perfxl.writers.workbook import write_department_workbook
from tests.generate import seed_departments
from tests.test_consolidate import table

EXAMPLES = Path(__file__).parent.parent / "examples"
CHENGDE = EXAMPLES / "chengde-2025.txt"
ZUNHUA = EXAMPLES / "zunhua-2025.txt"

runner = CliRunner()


@pytest.fixture
def umask() -> Iterator[int]:
    """Run the test under umask 027 (group may read, others nothing), restoring the old one after."""
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the 承德 example imported as a department workbook."""
    path = tmp_path_factory.mktemp("source") / "承德.xlsx"
    result = runner.invoke(app, ["import", str(CHENGDE), "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


# (command, with {src} for the workbook and {out} for the output folder; what it writes)
OUTPUTS = [
    (["import", str(CHENGDE), "-o", "{out}/单位.xlsx"], ["单位.xlsx"]),
    (["import", str(CHENGDE), "-o", "{out}/单位.xlsm"], ["单位.xlsm"]),
    (["template", "-o", "{out}/template.xlsm"], ["template.xlsm"]),
    (["inspect", "{src}", "--format", "json", "-o", "{out}/inspect.json"], ["inspect.json"]),
    (["validate", "{src}", "--format", "json", "-o", "{out}/findings.json"], ["findings.json"]),
    (["export", "{src}", "-o", "{out}/文本.docx"], ["文本.docx"]),
    (["rollup", "{src}", "-o", "{out}/汇总副本.xlsx"], ["汇总副本.xlsx"]),
    (
        ["consolidate", "{src}", "-o", "{out}/合并.xlsx", "--parquet", "{out}/pq"],
        ["合并.xlsx", "pq/项目.parquet", "pq/指标.parquet", "pq/来源.parquet"],
    ),
]


@pytest.mark.parametrize(("command", "written"), OUTPUTS, ids=[c[0] for c, _ in OUTPUTS])
def test_new_outputs_get_the_umask_permissions(
    command: list[str], written: list[str], workbook: Path, tmp_path: Path, umask: int
) -> None:
    args = [a.format(src=workbook, out=tmp_path) for a in command]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    for name in written:
        assert _mode(tmp_path / name) == 0o666 & ~umask, name
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(TEMPORARY_SUFFIX)]
    assert not leftovers


def test_replaced_outputs_keep_their_permissions(workbook: Path, tmp_path: Path, umask: int) -> None:
    copy = tmp_path / "承德.xlsx"
    copy.write_bytes(workbook.read_bytes())
    copy.chmod(0o600)
    before = copy.read_bytes()
    result = runner.invoke(app, ["validate", str(copy), "--write"])
    assert result.exit_code == 1, result.output
    assert copy.read_bytes() != before and _mode(copy) == 0o600
    merged = tmp_path / "合并.xlsx"
    for mode in (0o640, 0o604):
        merged.write_bytes(b"")
        merged.chmod(mode)
        result = runner.invoke(app, ["consolidate", str(copy), "-o", str(merged)])
        assert result.exit_code == 0, result.output
        assert merged.stat().st_size > 0 and _mode(merged) == mode


def test_a_failed_write_leaves_neither_output_nor_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("stopped")
    assert not list(tmp_path.iterdir())


def test_temporaries_never_clash_and_are_never_taken_for_inputs(workbook: Path, tmp_path: Path) -> None:
    folder = tmp_path / "各部门"
    folder.mkdir()
    (folder / "承德.xlsx").write_bytes(workbook.read_bytes())
    # A killed run's temporary stays out; a workbook whose name starts with a dot is still an input.
    left = temporary_beside(folder / "汇总.xlsx")
    hidden = folder / ".备份.xlsx"
    hidden.write_bytes(workbook.read_bytes())
    assert left.name.startswith(".汇总.") and left.parent == folder
    assert temporary_beside(folder / "汇总.xlsx") != left
    files, missing = discover([folder])
    assert sorted(p.name for p in files) == [".备份.xlsx", "承德.xlsx"] and not missing


LONG = "长" * 100  # 300 bytes in UTF-8: longer than any file system allows a name to be
# (command with {src} the workbook, {file} a plain file, {out} an empty folder; what the message says)
BAD_OUTPUTS = [
    (["inspect", "{src}", "-f", "json", "-o", "{src}"], "应以 .json 结尾"),
    (["inspect", "{text}", "-f", "json", "-o", "{text}"], "会覆盖来源文件本身"),
    (["validate", "{src}", "-f", "json", "-o", "{out}/结果.json"], "是一个文件夹"),
    (["inspect", "{src}", "-o", "{file}/i.json"], "路径中有一段不是文件夹"),
    (["validate", "{src}", "-o", "{out}/" + LONG + ".json"], "文件名太长"),
    (["validate", "{src}", "--write", "-o", "{out}/副本.json"], "应与原工作簿一样以 .xlsx 结尾"),
    (["rollup", "{src}", "-o", "{out}/汇总.txt"], "应与原工作簿一样以 .xlsx 结尾"),
    (["clear", "{src}", "-o", "{out}/副本.xlsm"], "应与原工作簿一样以 .xlsx 结尾"),
    (["rollup", "{src}", "-o", "{out}/" + LONG + ".xlsx"], "文件名太长"),
    (["export", "{src}", "-o", "{out}/" + LONG + ".docx"], "文件名太长"),
    (["import", str(CHENGDE), "-o", "{file}/单位.xlsx"], "路径中有一段不是文件夹"),
    (["demo", "-o", "{file}"], "已有同名的文件"),
    (["consolidate", "{src}", "-o", "{out}/合并.xlsx", "--parquet", "{file}"], "已是一个文件"),
    (["consolidate", "{src}", "-o", "{out}/" + LONG + ".xlsx"], "文件名太长"),
    (["consolidate", "{src}", "-o", "{file}/合并.xlsx"], "路径中有一段不是文件夹"),
]


@pytest.mark.parametrize(("command", "reason"), BAD_OUTPUTS, ids=[f"{c[0]}-{r}" for c, r in BAD_OUTPUTS])
def test_an_output_that_cannot_be_written_is_refused_in_chinese(
    command: list[str], reason: str, workbook: Path, tmp_path: Path
) -> None:
    src = tmp_path / "承德.xlsx"
    src.write_bytes(workbook.read_bytes())
    text = tmp_path / "承德.json"
    text.write_bytes(CHENGDE.read_bytes())
    file = tmp_path / "说明"
    file.write_text("不是文件夹", encoding="utf-8")
    out = tmp_path / "输出"
    out.mkdir()
    (out / "结果.json").mkdir()
    before = {p: p.read_bytes() for p in (src, text, file)}
    args = [a.format(src=src, text=text, file=file, out=out) for a in command]
    result = runner.invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert reason in result.stderr.replace("\n", "")
    assert {p: p.read_bytes() for p in before} == before
    assert [p.name for p in out.iterdir()] == ["结果.json"]


@pytest.mark.parametrize("command", ["inspect", "validate"])
def test_output_without_json_format_writes_the_json_and_shows_the_table(
    command: str, workbook: Path, tmp_path: Path
) -> None:
    target = tmp_path / f"{command}.json"
    result = runner.invoke(app, [command, str(workbook), "-o", str(target)], env={"COLUMNS": "200"})
    assert result.exit_code in (0, 1), result.output
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document == json.loads(runner.invoke(app, [command, str(workbook), "-f", "json"]).stdout)
    assert ("projects" if command == "inspect" else "findings") in document
    assert ("单位编码 593001" if command == "inspect" else "校验结果：承德.xlsx") in result.stdout


# (the bytes of a file name as the file system holds them, the name perfxl prints and writes)
RAW_NAMES = [
    ("遵化.xlsx".encode(), "遵化.xlsx"),
    # A GBK name unpacked on Linux from a zip made on Chinese Windows.
    ("表格.xlsx".encode("gbk"), "表格.xlsx"),
    # Some GBK pairs are also valid UTF-8 (修改 holds DE B8, read as U+07B8): decoded from the bytes.
    ("县区（修改后）.xlsx".encode("gbk"), "县区（修改后）.xlsx"),
    (b"bad\xff.xlsx", "bad\\xff.xlsx"),
]


@pytest.mark.parametrize(("raw", "name"), RAW_NAMES, ids=[n for _, n in RAW_NAMES])
def test_a_file_name_that_is_not_utf8_is_shown_decoded(raw: bytes, name: str) -> None:
    folder = "/数据/县区"
    assert shown(Path(folder) / os.fsdecode(raw)) == f"{folder}/{name}"
    shown(os.fsdecode(raw)).encode("utf-8")


def test_consolidate_merges_a_workbook_whose_name_is_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    book = write_department_workbook(seed_departments()[1], folder / os.fsdecode("遵化市数据局.xlsx".encode("gbk")))
    (folder / os.fsdecode(b"empty\xff.xlsx")).write_bytes(b"")
    out = tmp_path / "合并.xlsx"
    report = consolidate([folder], out, workers=1)
    assert report.exit_code == 3 and report.reconciled
    sources = {r["文件"]: r["状态"] for r in table(out, "来源")}
    assert sources == {f"{folder}/遵化市数据局.xlsx": "已汇入", f"{folder}/empty\\xff.xlsx": "已拒绝"}
    assert {r["来源文件"] for r in table(out, "项目")} == {f"{folder}/遵化市数据局.xlsx"}
    assert len(table(out, "项目")) == 8
    validated = subprocess.run([sys.executable, "-m", "perfxl", "validate", book, "-f", "json"], capture_output=True)
    assert validated.returncode == 1 and b"Traceback" not in validated.stderr
    assert {f["file"] for f in json.loads(validated.stdout)["findings"]} == {f"{folder}/遵化市数据局.xlsx"}
    copy = tmp_path / "汇总后.xlsx"
    rolled = subprocess.run([sys.executable, "-m", "perfxl", "rollup", book, "-o", copy], capture_output=True)
    assert rolled.returncode == 0, rolled.stderr.decode("utf-8", "replace")
    assert "部门预算总额 497.12 万元" in rolled.stdout.decode("utf-8")


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_the_console_shows_a_gbk_file_name_as_the_name_it_spells(tmp_path: Path, encoding: str) -> None:
    source = tmp_path / os.fsdecode("遵化.txt".encode("gbk"))
    source.write_bytes(ZUNHUA.read_bytes())
    env = {**os.environ, "PYTHONIOENCODING": encoding, "COLUMNS": "300"}
    ran = subprocess.run(
        [sys.executable, "-m", "perfxl", "import", source, "-o", tmp_path / "遵化.xlsx"], capture_output=True, env=env
    )
    assert ran.returncode == 0, ran.stderr.decode(encoding, "replace")
    assert f"{tmp_path}/遵化.txt → {tmp_path}/遵化.xlsx（8 个项目）" in ran.stdout.decode(encoding)

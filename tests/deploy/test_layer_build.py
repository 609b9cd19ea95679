"""``python -m labelhub_tools build-layer``: what the layer holds, and what it must not.

One build per session (``layer_build``), plus a second one for the byte-identical zip;
both install from the wheel cache. The checks the build makes (pins, engine imports,
replacing a folder) are also tried on small fakes, where they must fail.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from labelhub_tools.layerbuild import DEFAULT_OUT, LayerBuildError
from labelhub_tools.layerbuild.archive import ZIP_TIME, write_zip
from labelhub_tools.layerbuild.build import BuildOptions, build_layer, format_report
from labelhub_tools.layerbuild.deps import check_pins, find_python, read_pins
from labelhub_tools.layerbuild.engine import check_engine_imports, shipped_files

from .project import ROOT, read_yaml

ZIP_BUDGET = 5 * 1024 * 1024  # bytes; about 4.2 MB with redis (2.8 MB without), the monolithic SDK is 18 MB


def test_the_layer_holds_the_engine_and_the_pinned_packages_flat_at_its_root(layer_build):
    layer = layer_build.out
    for top in ("grafana_scf", "pymysql", "yaml", "fastjsonschema", "tencentcloud", "requests", "urllib3"):
        assert (layer / top / "__init__.py").is_file(), top
    assert sorted(
        p.name for p in (layer / "tencentcloud").iterdir() if p.is_dir() and p.name != "__pycache__"
    ) == [
        "common",
        "monitor",
    ], "the split SDK packages only, never the monolith"
    assert not (layer / "tencentcloud" / "monitor" / "v20230616").exists()
    assert not (layer / "bin").exists()


def test_the_layer_holds_the_engine_package_whole_and_no_tool(layer_build):
    engine = layer_build.out / "grafana_scf"
    built = {p.relative_to(engine) for p in engine.rglob("*") if p.is_file() and p.suffix != ".pyc"}
    source = set(shipped_files())
    assert built == source
    assert (engine / "sources" / "mysql" / "source.py").is_file()
    assert (engine / "validators" / "request_query.py").is_file()
    assert not (layer_build.out / "labelhub_tools").exists()


def test_the_bytecode_is_for_the_target_python_only(layer_build):
    layer = layer_build.out
    sources = list(layer.rglob("*.py"))
    compiled = list(layer.rglob("*.pyc"))
    assert compiled and all(p.parent.name == "__pycache__" for p in compiled)
    assert {p.name.split(".")[-2] for p in compiled} == {"cpython-310"}
    assert len(compiled) == len(sources)
    for source in sources:
        assert (source.parent / "__pycache__" / f"{source.stem}.cpython-310.pyc").is_file(), source


def test_nothing_in_the_layer_is_a_test_suite_or_a_cache(layer_build):
    for path in layer_build.out.rglob("*"):
        parts = path.relative_to(layer_build.out).parts
        assert not {"tests", "test", ".pytest_cache", ".git"} & set(parts), path
        assert path.suffix not in (".pyo", ".orig", ".rej"), path


def test_the_zip_is_sorted_with_fixed_times_and_modes(layer_build):
    with zipfile.ZipFile(layer_build.zip_path) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert archive.testzip() is None
    assert names == sorted(names)
    assert all(i.date_time == ZIP_TIME for i in infos)
    assert {(i.external_attr >> 16) for i in infos if not i.is_dir()} == {0o100644}
    assert {(i.external_attr >> 16) for i in infos if i.is_dir()} == {0o040755}
    assert not any("\\" in n or n.startswith("/") for n in names)
    files = sorted(
        p.relative_to(layer_build.out).as_posix() for p in layer_build.out.rglob("*") if p.is_file()
    )
    assert [n for n in names if not n.endswith("/")] == files


def test_the_zip_is_byte_identical_across_builds(layer_build, python310, tmp_path):
    again = build_layer(
        BuildOptions(out=tmp_path / "layer", zip_path=tmp_path / "layer.zip", python=python310)
    )
    assert again.zip_path.read_bytes() == layer_build.zip_path.read_bytes()


def test_the_layer_stays_small_and_the_report_says_so(layer_build):
    assert layer_build.zip_bytes <= ZIP_BUDGET
    by_name = {p.name: p for p in layer_build.packages}
    assert "grafana_scf" in by_name and "pymysql" in by_name and "tencentcloud-sdk-python-monitor" in by_name
    assert not any(name.startswith("(") for name in by_name), "every file belongs to a package"
    assert sum(p.bytes for p in layer_build.packages) == sum(
        p.stat().st_size for p in layer_build.out.rglob("*") if p.is_file()
    )
    report = format_report(layer_build)
    assert "tencentcloud-sdk-python-monitor" in report and "zip:" in report


def test_the_layer_file_would_upload_every_built_file(layer_build):
    src = read_yaml(ROOT / "layer" / "serverless.yml")["inputs"]["src"]
    assert (ROOT / "layer" / src["src"]).resolve() == DEFAULT_OUT.resolve()
    excluded = [p for p in layer_build.out.rglob("*") if any(p.match(g) for g in src.get("exclude", []))]
    assert excluded == []


def test_the_command_builds_the_folder_and_reports_sizes(python310, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "labelhub_tools", "build-layer", "--out", str(tmp_path / "l"), "--no-zip"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "grafana_scf" in done.stdout and "total" in done.stdout and "bytecode: compiled by" in done.stdout
    assert (tmp_path / "l" / "grafana_scf" / "__pycache__").is_dir()


def test_the_command_refuses_to_wipe_a_folder_that_is_not_a_layer(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    done = subprocess.run(
        [sys.executable, "-m", "labelhub_tools", "build-layer", "--out", str(tmp_path), "--no-compile"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "refusing to replace" in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("out", [ROOT / "layer", ROOT, ROOT / "layer" / "grafana_scf" / "build"])
def test_the_build_never_writes_over_the_engine_source(out):
    with pytest.raises(LayerBuildError, match="overlaps the engine's source"):
        build_layer(BuildOptions(out=out, compile=False))
    assert (ROOT / "layer" / "grafana_scf" / "__init__.py").is_file()


def test_the_build_command_needs_only_the_standard_library():
    probe = (
        "import sys; sys.path[:0] = sys.argv[1:]; import labelhub_tools.layerbuild.cli, "
        "labelhub_tools.layerbuild.build; print(sorted(m.split('.')[0] for m in sys.modules "
        "if m.split('.')[0] in ('yaml', 'pymysql', 'fastjsonschema', 'tencentcloud', 'requests')))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(ROOT / "tools"), str(ROOT / "layer")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_pins_must_be_exact(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("PyMySQL==1.2.4  # fine\nrequests>=2\n")
    with pytest.raises(LayerBuildError, match=r"requirements.txt:2: 'requests>=2' is not an exact pin"):
        read_pins(requirements)
    requirements.write_text("# nothing\n")
    with pytest.raises(LayerBuildError, match="pins nothing"):
        read_pins(requirements)


def _fake_dist(layer: Path, name: str, version: str) -> None:
    info = layer / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nbody\n")


def test_an_unpinned_missing_or_other_version_fails_the_build(tmp_path):
    _fake_dist(tmp_path, "PyYAML", "6.0.3")
    _fake_dist(tmp_path, "idna", "3.20")
    _fake_dist(tmp_path, "certifi", "2025.1.1")
    pins = {"pyyaml": "6.0.3", "certifi": "2026.10.19.post1", "pymysql": "1.2.4"}
    with pytest.raises(LayerBuildError) as failure:
        check_pins(tmp_path, pins)
    message = str(failure.value)
    assert "idna==3.20 was pulled in but is not pinned" in message
    assert "certifi: pinned 2026.10.19.post1, installed 2025.1.1" in message
    assert "pymysql==1.2.4 is pinned but was not installed" in message
    assert "pyyaml" not in message


def test_a_shipped_module_importing_a_dev_tool_fails_the_build(tmp_path):
    engine = tmp_path / "layer" / "grafana_scf"
    (engine / "sources").mkdir(parents=True)
    (engine / "__init__.py").write_text("")
    (engine / "sources" / "__init__.py").write_text("")
    (engine / "app.py").write_text("from grafana_scf.sources import base\nfrom grafana_scf.app import App\n")
    (engine / "sources" / "base.py").write_text("class Source: ...\n")
    check_engine_imports(tmp_path / "layer")  # attributes and shipped modules pass
    (engine / "routes.py").write_text("from labelhub_tools.emulator import server\n")
    (engine / "sources" / "registry.py").write_text("SOURCES = {'x': 'labelhub_tools.demo.loader:seed'}\n")
    with pytest.raises(LayerBuildError) as failure:
        check_engine_imports(tmp_path / "layer")
    assert "grafana_scf/routes.py needs labelhub_tools.emulator" in str(failure.value)
    assert "grafana_scf/sources/registry.py needs labelhub_tools.demo.loader" in str(failure.value)


def test_the_shipped_engine_files_are_the_package_less_bytecode():
    shipped = {p.as_posix() for p in shipped_files()}
    assert "app.py" in shipped and "sources/cloudmonitor/api.py" in shipped
    assert "validators/request_query.py" in shipped
    assert not any("__pycache__" in p or p.endswith(".pyc") for p in shipped)


def test_a_python_of_another_version_is_refused():
    with pytest.raises(LayerBuildError, match=r"no Python 3\.10 interpreter"):
        find_python("3.10", explicit=sys.executable if sys.version_info[:2] != (3, 10) else "/nonexistent")


def test_the_zip_of_a_tiny_folder_is_deterministic(tmp_path):
    folder = tmp_path / "layer"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "b.py").write_text("B = 2\n")
    (folder / "a.py").write_text("A = 1\n")
    (folder / "a.py").chmod(0o600)
    first = write_zip(folder, tmp_path / "one.zip")
    (folder / "a.py").touch()
    second = write_zip(folder, tmp_path / "two.zip")
    assert first == second
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert archive.namelist() == ["a.py", "pkg/", "pkg/b.py"]

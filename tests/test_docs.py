"""The docs name every setting, macro, route and command the code has."""

from __future__ import annotations

import re
from pathlib import Path

from grafana_scf.routes import Router
from grafana_scf.settings import SETTINGS
from grafana_scf.sources.mysql.macros import MACROS
from labelhub_tools.cli import COMMANDS

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = DOCS.parent / "README.md"


def test_every_setting_is_documented():
    text = (DOCS / "configuration.md").read_text()
    for name in SETTINGS:
        assert f"`{name}`" in text, name


def test_every_macro_is_documented():
    text = (DOCS / "catalog.md").read_text()
    for name in MACROS:
        assert re.search(rf"`\$__{name}[`(]", text), name


def test_every_route_is_documented():
    text = (DOCS / "ARCHITECTURE.md").read_text()
    for path in Router.ROUTES:
        assert re.search(rf"`(?:[A-Z]+ )?{re.escape(path)}`", text), path


def test_every_command_is_in_the_readme():
    text = README.read_text()
    for name in COMMANDS:
        assert f"| `labelhub {name}" in text, name


def test_the_per_product_defaults_example_loads_as_documented():
    import yaml

    from grafana_scf.sources.cloudmonitor.catalog import load_catalog

    text = (DOCS / "catalog.md").read_text()
    section = text.split("## Cloud Monitor catalogs: per-product defaults", 1)[1]
    example = yaml.safe_load(section.split("```yaml", 1)[1].split("```", 1)[0])
    disk = load_catalog({"source": "cloudmonitor", **example}).metrics["cvm_disk"]
    assert (disk.namespace, disk.statistic, disk.periods) == ("QCE/CVM", "avg", (60, 300, 3600, 86400))
    assert dict(disk.dimensions) == {"InstanceId": "{id}"}

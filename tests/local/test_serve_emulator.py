"""``serve`` points Cloud Monitor functions at the local emulator unless real settings exist."""

from __future__ import annotations

import argparse
import json
import urllib.request

import pytest

from labelhub_tools.local import cli

ROOT_WITH_CLOUD = "source: cloudmonitor  # the catalog's source\n"


def args(mode="auto"):
    return argparse.Namespace(emulator=mode, emulator_port=0)


@pytest.fixture()
def project(tmp_path):
    (tmp_path / "datasource" / "cm").mkdir(parents=True)
    (tmp_path / "datasource" / "cm" / "catalog.yaml").write_text(ROOT_WITH_CLOUD)
    return tmp_path


def test_auto_starts_the_emulator_and_passes_its_endpoint_and_demo_keys(project, monkeypatch):
    for key in cli._CLOUD_KEYS:
        monkeypatch.delenv(key, raising=False)
    environ, emulator = cli._cloud_environment(args(), project)
    try:
        assert emulator is not None
        assert environ["CLOUD_API_ENDPOINT"] == emulator.url
        assert environ["CLOUD_API_SECRET_ID"].startswith("AKIDEMULATOR")
        with urllib.request.urlopen(emulator.url + "/__emulator__/health", timeout=5) as response:
            assert response.status == 200 and json.loads(response.read())
    finally:
        emulator.close()


@pytest.mark.parametrize("key", cli._CLOUD_KEYS)
def test_real_settings_keep_the_emulator_off(project, monkeypatch, key):
    monkeypatch.setenv(key, "set-by-the-user")
    environ, emulator = cli._cloud_environment(args(), project)
    assert emulator is None
    assert environ[key] == "set-by-the-user"


def test_no_cloud_monitor_function_no_emulator(tmp_path, monkeypatch):
    for key in cli._CLOUD_KEYS:
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "datasource" / "biz").mkdir(parents=True)
    (tmp_path / "datasource" / "biz" / "catalog.yaml").write_text("source: mysql\n# source: cloudmonitor\n")
    assert cli._cloud_environment(args(), tmp_path)[1] is None
    assert cli._cloud_environment(args("off"), tmp_path)[1] is None

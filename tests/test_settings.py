"""Settings: one frozen, typed object read once; every field is an environment variable."""

from __future__ import annotations

import dataclasses

import pytest

from grafana_scf.settings import SETTINGS, SettingError, Settings, read_settings


def test_every_field_is_a_declared_variable_and_the_defaults_match():
    names = [f.name for f in dataclasses.fields(Settings)]
    assert [n.upper() for n in names] == list(SETTINGS)
    defaults = read_settings({})
    for name in names:
        assert getattr(defaults, name) == SETTINGS[name.upper()].default, name


def test_values_parse_from_the_environment_and_overrides_win():
    settings = read_settings({"MYSQL_PORT": "3307", "GRAFANA_BACKEND_DEBUG": "yes"}, MAX_ROWS=5)
    assert settings.mysql_port == 3307 and settings.grafana_backend_debug is True
    assert settings.max_rows == 5


def test_an_empty_read_timeout_means_the_computed_default():
    assert read_settings({"MYSQL_READ_TIMEOUT_S": ""}).mysql_read_timeout_s is None
    assert read_settings({"MYSQL_READ_TIMEOUT_S": "7"}).mysql_read_timeout_s == 7
    with pytest.raises(SettingError, match=r"MYSQL_READ_TIMEOUT_S='0': expected a positive integer"):
        read_settings({"MYSQL_READ_TIMEOUT_S": "0"})


def test_the_object_is_frozen():
    settings = read_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_rows = 1  # type: ignore[misc]


def test_an_unknown_override_or_a_bad_value_names_the_variable():
    with pytest.raises(SettingError, match=r"unknown setting.*MAX_ROW"):
        read_settings({}, MAX_ROW=5)
    with pytest.raises(SettingError, match=r"MYSQL_PORT='99999': expected a TCP port"):
        read_settings({"MYSQL_PORT": "99999"})


def test_a_mistyped_attribute_is_an_error_not_a_silent_default():
    with pytest.raises(AttributeError):
        read_settings({}).mysql_hots  # type: ignore[attr-defined]  # noqa: B018

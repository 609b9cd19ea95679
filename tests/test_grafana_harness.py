"""The Grafana harness against behaviours of Grafana's own toDataFrame.

Every expectation here is what @grafana/data (the version pinned in
tests/grafana/13.2/package.json) does with the body, so a change of that behaviour, or a
harness that stops running Grafana's code faithfully, fails these tests.
"""

from __future__ import annotations

import json
import math
import textwrap
import time
from pathlib import Path

import pytest

from support.grafana import (
    HARNESS_DIR,
    INSTALL_COMMAND,
    PROCESS_DATA_FRAME,
    GrafanaFrames,
    GrafanaHarnessError,
)


@pytest.fixture(scope="module")
def grafana():
    # Shadows a session-wide `grafana` fixture of a conftest, if there is one.
    with GrafanaFrames() as frames:
        yield frames


def fields_by_name(frame):
    return {field["name"]: field for field in frame["fields"]}


def test_runs_the_pinned_grafana_data(grafana):
    pinned = json.loads((HARNESS_DIR / "package.json").read_text("utf-8"))
    assert grafana.info["grafana_data"] == pinned["dependencies"]["@grafana/data"] == "13.2.3"
    assert grafana.info["node"].startswith("v")
    assert grafana.info["load_ms"] > 0


# -- /query ---------------------------------------------------------------------


def test_time_series_becomes_time_and_value_fields(grafana):
    body = [
        {
            "target": "labels per hour",
            "datapoints": [[3, 1_700_000_000_000], [None, 1_700_003_600_000]],
        },
        {"target": "tagged", "tags": {"project": "p1"}, "datapoints": [[1.5, 5]], "refId": "B"},
    ]
    first, second = grafana.convert(body)

    assert first["name"] == "labels per hour"
    assert first["refId"] is None
    assert first["length"] == 2
    assert [(f["name"], f["type"]) for f in first["fields"]] == [
        ("Time", "time"),
        ("Value", "number"),
    ]
    time_field, value_field = first["fields"]
    assert time_field["values"] == [1_700_000_000_000, 1_700_003_600_000]
    assert value_field["values"] == [3, None]
    assert value_field["labels"] is None

    assert second["refId"] == "B"
    assert second["length"] == 1
    assert second["fields"][1]["labels"] == {"project": "p1"}
    assert second["fields"][1]["values"] == [1.5]


def test_data_frame_keeps_types_labels_and_config(grafana):
    body = [
        {
            "name": "throughput",
            "refId": "A",
            "meta": {"executedQueryString": "SELECT 1"},
            "fields": [
                {"name": "ts", "type": "time", "values": [1000, 2000]},
                {
                    "name": "count",
                    "type": "number",
                    "values": [3, 4],
                    "labels": {"project": "p1"},
                    "config": {"unit": "short", "displayName": "Labels"},
                },
                # No type: Grafana guesses it from the first non-null value...
                {"name": "who", "values": [None, "ann"]},
                # ...and a field named "time" is a time field whatever it holds.
                {"name": "time", "values": ["x", "y"]},
                # A declared type is kept even where the values do not match it.
                {"name": "code", "type": "string", "values": [1, 2]},
            ],
        }
    ]
    (frame,) = grafana.convert(body)

    assert frame["name"] == "throughput"
    assert frame["refId"] == "A"
    assert frame["meta"] == {"executedQueryString": "SELECT 1"}
    assert frame["length"] == 2  # computed by Grafana: the DTO had none
    fields = fields_by_name(frame)
    assert {name: f["type"] for name, f in fields.items()} == {
        "ts": "time",
        "count": "number",
        "who": "string",
        "time": "time",
        "code": "string",
    }
    assert fields["count"]["labels"] == {"project": "p1"}
    assert fields["count"]["config"] == {"unit": "short", "displayName": "Labels"}
    assert fields["count"]["values"] == [3, 4]
    assert fields["ts"]["config"] == {}  # filled in by Grafana
    assert fields["who"]["values"] == [None, "ann"]


def test_data_frame_with_length_is_taken_as_is(grafana):
    # With "length" and values present Grafana returns the object untouched: no type
    # guess, no default config. A backend that sends "length" must send types itself.
    (frame,) = grafana.convert([{"fields": [{"name": "n", "values": [1, 2]}], "length": 2}])
    (field,) = frame["fields"]
    assert field["type"] is None
    assert field["config"] is None
    assert frame["length"] == 2


def test_table_columns_and_rows(grafana):
    body = [
        {
            "type": "table",
            "refId": "T",
            "columns": [
                {"text": "Time", "type": "time"},
                {"text": "Project"},
                {"text": "Labels", "type": "number", "unit": "short"},
                {"text": "Share", "type": "percent"},  # not a Grafana field type
            ],
            "rows": [[1000, "p1", 3, "0.5"], [2000, "p2", 4, "0.25"]],
        }
    ]
    (frame,) = grafana.convert(body)

    assert frame["refId"] == "T"
    assert frame["length"] == 2
    assert [(f["name"], f["type"]) for f in frame["fields"]] == [
        ("Time", "time"),
        ("Project", "string"),
        ("Labels", "number"),
        ("Share", "number"),  # unknown type -> guessed; numeric strings guess "number"
    ]
    fields = fields_by_name(frame)
    assert fields["Time"]["values"] == [1000, 2000]
    assert fields["Project"]["values"] == ["p1", "p2"]
    assert fields["Labels"]["values"] == [3, 4]
    assert fields["Labels"]["config"] == {"unit": "short"}
    assert fields["Share"]["values"] == ["0.5", "0.25"]  # the type changes, the values do not


def test_table_rows_must_be_a_list(grafana):
    with pytest.raises(AssertionError, match=r"element 0: Expected table rows to be array"):
        grafana.convert([{"columns": [{"text": "a"}], "rows": {"a": 1}}])


def test_annotation_frame_with_other_field_of_arrays(grafana):
    body = [
        {
            "fields": [
                {"name": "time", "type": "time", "values": [1000, 2000]},
                {"name": "title", "type": "string", "values": ["deploy", "rollback"]},
                {"name": "tags", "type": "other", "values": [["release", "v2"], []]},
            ]
        }
    ]
    (frame,) = grafana.convert(body)

    tags = fields_by_name(frame)["tags"]
    assert tags["type"] == "other"
    assert tags["values"] == [["release", "v2"], []]
    assert frame["length"] == 2


def test_data_plane_schema_and_data(grafana):
    body = [
        {
            "schema": {
                "name": "s",
                "refId": "A",
                "fields": [{"name": "t", "type": "time"}, {"name": "v", "type": "number"}],
            },
            "data": {"values": [[1000, 2000], [7]]},
        }
    ]
    (frame,) = grafana.convert(body)
    assert frame["name"] == "s"
    assert frame["refId"] == "A"
    assert frame["length"] == 2
    assert [f["values"] for f in frame["fields"]] == [[1000, 2000], [7, None]]  # padded


def test_unsupported_row_names_its_index(grafana):
    body = [{"target": "ok", "datapoints": []}, {"time": 1, "value": 2}]
    with pytest.raises(AssertionError, match=r"element 1: Unsupported data format"):
        grafana.convert(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"target": "a", "datapoints": []}, r"must be an array of frames, got an object"),
        ([None], r"element 0: .*'fields' in null"),
        ([[], 5], r"element 1: .*'fields' in 5"),
    ],
)
def test_unconvertible_bodies(grafana, body, message):
    with pytest.raises(AssertionError, match=message):
        grafana.convert(body)


def test_array_element_is_an_array_data_frame(grafana):
    # A bare list of rows is converted (one field per key of the first row).
    (frame,) = grafana.convert([[{"project": "p1", "n": 1}, {"project": "p2", "n": 2}]])
    assert [(f["name"], f["type"], f["values"]) for f in frame["fields"]] == [
        ("project", "string", ["p1", "p2"]),
        ("n", "number", [1, 2]),
    ]


def test_raw_http_body_is_parsed_by_node(grafana):
    text = '[{"target": "a", "datapoints": [[1, 2]]}]'
    assert grafana.convert(text) == grafana.convert(text.encode()) == grafana.convert(json.loads(text))
    with pytest.raises(AssertionError, match=r"not valid JSON"):
        grafana.convert('[{"target": "a", "datapoints": [[NaN, 2]]}]')


def test_nan_in_a_python_body_is_rejected(grafana):
    with pytest.raises(AssertionError, match=r"cannot parse"):
        grafana.convert([{"target": "a", "datapoints": [[math.nan, 2]]}])


# -- /variable --------------------------------------------------------------------


def test_variable_text_and_value(grafana):
    assert grafana.variable([{"__text": "A", "__value": 1}]) == [{"text": "A", "value": "1"}]


def test_variable_values_are_stringified_by_javascript(grafana):
    body = [
        {"__text": "float", "__value": 2.0},
        {"__text": "bool", "__value": True},
        {"__text": "none", "__value": None},
        {"__text": 7, "__value": "x"},
        {"__text": "float", "__value": "dropped: the first text wins"},
    ]
    assert grafana.variable(body) == [
        {"text": "float", "value": "2"},  # JSON 2.0 is the JS number 2
        {"text": "bool", "value": "true"},
        {"text": "none", "value": "null"},
        {"text": "7", "value": "x"},
    ]


def test_variable_plain_values_become_text_options(grafana):
    assert grafana.variable(["a", "b", "a"]) == [{"text": "a"}, {"text": "b"}]


def test_variable_without_text_and_value_fields_uses_every_field(grafana):
    # Texts keep their JSON type here: only the __text/__value mapping stringifies.
    body = [{"id": 1, "name": "a"}, {"id": 2, "name": "a"}]
    assert grafana.variable(body) == [{"text": 1}, {"text": 2}, {"text": "a"}]


def test_variable_reply_carries_the_frame(grafana):
    reply = grafana.request([{"__text": "A", "__value": 1}], mode="variable")
    (frame,) = reply["frames"]
    assert [(f["name"], f["type"]) for f in frame["fields"]] == [
        ("__text", "string"),
        ("__value", "number"),
    ]


def test_variable_unsupported_body(grafana):
    with pytest.raises(AssertionError, match=r"Unsupported data format"):
        grafana.variable({"text": "a"})


# -- the harness itself -------------------------------------------------------------


def test_many_requests_on_one_process(grafana):
    for n in range(50):
        (frame,) = grafana.convert([{"target": str(n), "datapoints": [[n, 0]]}])
        assert frame["name"] == str(n)
        assert frame["fields"][1]["values"] == [n]


def test_missing_install_says_how_to_install(tmp_path):
    (tmp_path / "to_data_frame.cjs").write_text("")
    with pytest.raises(GrafanaHarnessError) as raised, GrafanaFrames(harness_dir=tmp_path):
        pass
    assert INSTALL_COMMAND in str(raised.value)
    assert "npm ci --prefix tests/grafana" in str(raised.value)


def _fake_harness(directory: Path, script: str, version: str = "13.2.3") -> Path:
    """A harness dir whose 'Grafana' is a stub script, to test failure handling."""
    (directory / "package.json").write_text(
        json.dumps({"dependencies": {"@grafana/data": "13.2.3"}}), "utf-8"
    )
    module = directory / PROCESS_DATA_FRAME
    module.parent.mkdir(parents=True)
    module.write_text("")
    ready = json.dumps({"ready": True, "grafana_data": version, "node": "v0", "load_ms": 1})
    stub = f"process.stdout.write({json.dumps(ready)} + '\\n');\n" + textwrap.dedent(script)
    (directory / "to_data_frame.cjs").write_text(stub, "utf-8")
    return directory


def test_hung_node_fails_instead_of_hanging(tmp_path):
    # Reads requests and never answers.
    harness = _fake_harness(tmp_path, "process.stdin.on('data', () => {});\n")
    started = time.monotonic()
    with GrafanaFrames(harness_dir=harness, timeout=1.0) as frames:
        with pytest.raises(GrafanaHarnessError, match=r"did not finish answering within 1.0s"):
            frames.convert([])
        assert time.monotonic() - started < 15


def test_crashed_node_reports_its_stderr(tmp_path):
    harness = _fake_harness(
        tmp_path,
        """
        process.stdin.on('data', () => {
          process.stderr.write('boom from node\\n');
          process.exit(3);
        });
        """,
    )
    with (
        GrafanaFrames(harness_dir=harness, timeout=10.0) as frames,
        pytest.raises(GrafanaHarnessError, match=r"(?s)exited while answering.*exit code 3.*boom"),
    ):
        frames.convert([])


def test_stale_install_is_reported(tmp_path):
    harness = _fake_harness(tmp_path, "process.stdin.resume();\n", version="12.0.0")
    with pytest.raises(GrafanaHarnessError, match=r"loaded @grafana/data 12\.0\.0 but package.json"):
        GrafanaFrames(harness_dir=harness).start()

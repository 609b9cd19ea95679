"""Data frames and per-refId results, mirroring Grafana's names.

A query produces a ``DataResponse``: frames, or an error with its status and
source. A request's answers are kept in a ``QueryDataResponse`` keyed by refId;
only ``render.py`` turns them into the wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from grafana_scf.deadline import DeadlineExceeded
from grafana_scf.errors import ErrorSource, QueryError

FieldType = Literal["time", "number", "string", "boolean", "other"]


@dataclass
class Field:
    """One column: a name, a Grafana field type, values, and optional labels/config."""

    name: str
    type: FieldType
    values: list[Any]
    labels: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dto(self) -> dict[str, Any]:
        dto: dict[str, Any] = {"name": self.name, "type": self.type, "values": self.values}
        if self.labels:
            dto["labels"] = self.labels
        if self.config:
            dto["config"] = self.config
        return dto


@dataclass
class Frame:
    """A Grafana data frame: named columns of equal length, plus meta."""

    name: str
    fields: list[Field]
    ref_id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return len(self.fields[0].values) if self.fields else 0

    def notice(self, text: str, severity: str = "warning") -> None:
        self.meta.setdefault("notices", []).append({"severity": severity, "text": text})

    def to_dto(self, ref_id: str) -> dict[str, Any]:
        """The DataFrame DTO Grafana's ``toDataFrame`` reads (it has ``fields``)."""
        dto: dict[str, Any] = {
            "refId": self.ref_id or ref_id,
            "name": self.name,
            "fields": [f.to_dto() for f in self.fields],
        }
        if self.meta:
            dto["meta"] = self.meta
        return dto


def series_frame(
    name: str,
    times: list[Any],
    values: list[Any],
    labels: dict[str, str] | None = None,
    time_config: dict[str, Any] | None = None,
    value_config: dict[str, Any] | None = None,
) -> Frame:
    """One series as a dataplane ``timeseries-multi`` frame: ``[time, value]``, the value
    field named ``name`` and carrying the labels that make the series unique."""
    fields = [
        Field("time", "time", times, config=dict(time_config or {})),
        Field(name, "number", values, labels=dict(labels or {}), config=dict(value_config or {})),
    ]
    return Frame(name, fields, meta={"type": "timeseries-multi", "typeVersion": [0, 1]})


@dataclass
class DataResponse:
    """The result of one query: frames, or an error with its status and source."""

    frames: list[Frame] = field(default_factory=list)
    error: str | None = None
    status: int = HTTPStatus.OK
    error_source: ErrorSource | None = None
    out_of_time: bool = False
    """The request's deadline ran out under this query: nothing after it can run either."""

    @classmethod
    def failed(cls, status: int, message: str, source: ErrorSource = "downstream") -> DataResponse:
        return cls(error=message, status=int(status), error_source=source)

    @classmethod
    def from_error(cls, error: Exception) -> DataResponse:
        wrapped = QueryError.from_error(error)
        failed = cls.failed(wrapped.status, wrapped.message, wrapped.source)
        failed.out_of_time = isinstance(error, DeadlineExceeded)
        return failed

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class QueryDataResponse:
    """Every query's result, keyed by refId, in request order."""

    responses: dict[str, DataResponse] = field(default_factory=dict)

    def failures(self) -> list[tuple[str, DataResponse]]:
        return [(ref, r) for ref, r in self.responses.items() if not r.ok]

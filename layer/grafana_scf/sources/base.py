"""The one small interface every data source implements.

A source answers the protocol's questions for its catalog; the app does the
HTTP, validation, auth and rendering around it. ``query`` returns frames or
raises ``QueryError``/``ServiceError``; the app keys the outcome by refId.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from grafana_scf.frames import Frame
from grafana_scf.protocol import AdhocFilter, DataQuery, VariableRequest


@dataclass(frozen=True)
class HealthResult:
    """What ``GET /`` reports: OK or ERROR, a sentence, and details safe to show."""

    status: Literal["OK", "ERROR"]
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    code: str = ""  # on ERROR: what failed, in a word (shown by Grafana's "Save & test")


class Source(Protocol):
    """A catalog-driven data source (MySQL, Cloud Monitor)."""

    kind: str

    def check_health(self) -> HealthResult: ...

    def list_metrics(self, metric: str | None, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``/metrics``: ``[{value, label, payloads}]`` for the query editor."""

    def metric_payload_options(
        self, metric: str, name: str, payload: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """``/metric-payload-options``: ``[{value, label}]`` for one payload field."""

    def variable_names(self) -> list[str]:
        """The names ``/variable`` and legacy ``/search`` accept."""

    def annotation_names(self) -> list[str]:
        """The names legacy ``/annotations`` accepts."""

    def query(self, query: DataQuery) -> list[Frame]: ...

    def variable(self, request: VariableRequest) -> list[dict[str, str]]:
        """``/variable``: ``[{__text, __value}]``."""

    def tag_keys(self) -> list[dict[str, str]]: ...

    def tag_values(self, key: str, filters: tuple[AdhocFilter, ...]) -> list[dict[str, str]]: ...

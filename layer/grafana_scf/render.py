"""The one place that turns results into the wire format Grafana reads.

The JSON datasource cannot carry a per-target error inside a 200, so a request
with any failed refId is answered with that error (4xx/5xx, ``message`` naming the
refId); otherwise the answer is the array of frame DTOs.
"""

from __future__ import annotations

import math
from typing import Any

from grafana_scf.errors import ServiceError
from grafana_scf.frames import Frame, QueryDataResponse
from grafana_scf.transport import Response


def render_query(result: QueryDataResponse) -> Response:
    failures = result.failures()
    if failures:
        return render_failures(failures)
    frames = [
        frame.to_dto(ref_id) for ref_id, response in result.responses.items() for frame in response.frames
    ]
    return Response.json(frames)


def render_failures(failures: list) -> Response:
    """The first failure names the status; every failure is listed."""
    # A server-side failure outranks a client one: the panel should say the backend broke.
    ordered = sorted(failures, key=lambda item: -int(item[1].status >= 500))
    ref_id, first = ordered[0]
    errors = [{"refId": ref, "message": r.error, "status": r.status} for ref, r in failures]
    message = "; ".join(f"{ref}: {r.error}" for ref, r in ordered)
    return Response.error(first.status, message, refId=ref_id, error=first.error, errors=errors)


def render_error(error: ServiceError) -> Response:
    return Response.error(error.status, error.message)


def render_rows(frames: list[Frame]) -> list[dict[str, Any]]:
    """Frames as row objects: the shape of /variable answers and legacy annotations."""
    rows: list[dict[str, Any]] = []
    for frame in frames:
        names = [f.name for f in frame.fields]
        columns = [f.values for f in frame.fields]
        rows.extend(dict(zip(names, values)) for values in zip(*columns))
    return rows


def finite(value: Any) -> Any:
    """NaN and infinities are not JSON: they travel as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

"""The one place that turns results into the wire format Grafana reads.

The JSON datasource has no error field inside a 200: the plugin hands each element
of the answer to ``toDataFrame`` and nothing else. So when some refIds worked and
others failed, the answer keeps the frames of those that worked and carries each
failure as a frame of its own: the failed refId, no fields, and the error as a
``meta.notices`` entry of severity ``error`` (Grafana shows frame notices on the
panel header). When every refId failed, the answer is the error itself (4xx/5xx,
``message`` naming the refIds). The ``rows`` format (alert rules) has no notices:
any failed refId fails the whole answer there. The body is serialised piece by piece
and measured as it grows: one over ``max_bytes`` (SCF's 6 MB response limit) is
refused with a 400 naming the refIds, before it is ever whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from grafana_scf.errors import ServiceError
from grafana_scf.frames import DataResponse, Frame, QueryDataResponse
from grafana_scf.limits import AnswerTooLarge
from grafana_scf.transport import JSON_HEADERS, Response, encode_json

_ROWS_PER_PIECE = 1000


def render_query(
    result: QueryDataResponse, answer_format: str = "frames", max_bytes: int | None = None
) -> Response:
    """Frame DTOs (Grafana's JSON datasource), or flat rows (Infinity's backend parser)."""
    failures = result.failures()
    if answer_format == "rows":
        failures = failures or unsaid_failures(result)
    if failures and (answer_format == "rows" or len(failures) == len(result.responses)):
        return render_failures(failures)
    pieces = _row_pieces(result) if answer_format == "rows" else _frame_pieces(result)
    try:
        return _measured_array(pieces, max_bytes)
    except AnswerTooLarge as exc:
        answered = [ref for ref, response in result.responses.items() if response.frames]
        too_large = [(ref, DataResponse.from_error(exc)) for ref in answered]
        return render_failures(failures + too_large)


def _measured_array(pieces: Iterator[list[Any]], max_bytes: int | None) -> Response:
    """A JSON array written piece by piece, refused as soon as it outgrows ``max_bytes``."""
    parts: list[bytes] = []
    size = 2
    for piece in pieces:
        encoded = encode_json(piece)[1:-1]
        if not encoded:
            continue
        size += len(encoded) + (1 if parts else 0)
        if max_bytes is not None and size > max_bytes:
            raise AnswerTooLarge(size, max_bytes)
        parts.append(encoded)
    return Response(200, b"[" + b",".join(parts) + b"]", dict(JSON_HEADERS))


def _frame_pieces(result: QueryDataResponse) -> Iterator[list[Any]]:
    """Every refId in request order: its frames, or one error frame when it failed."""
    for ref_id, response in result.responses.items():
        if not response.ok:
            yield [error_frame(ref_id, response)]
        for frame in response.frames:
            yield [frame.to_dto(ref_id)]


def _row_pieces(result: QueryDataResponse) -> Iterator[list[Any]]:
    piece: list[dict[str, Any]] = []
    for row in _iter_rows(result):
        piece.append(row)
        if len(piece) == _ROWS_PER_PIECE:
            yield piece
            piece = []
    if piece:
        yield piece


def error_frame(ref_id: str, response: DataResponse) -> dict[str, Any]:
    """A failed refId among working ones: no fields, the error as a notice Grafana shows
    on the panel, and the status and source under ``meta.custom`` for other clients."""
    text = f"{ref_id}: {response.error}"
    custom = {"error": response.error, "status": response.status, "errorSource": response.error_source}
    return {
        "refId": ref_id,
        "name": ref_id,
        "fields": [],
        "meta": {"notices": [{"severity": "error", "text": text}], "custom": custom},
    }


def unsaid_failures(result: QueryDataResponse) -> list[tuple[str, DataResponse]]:
    """Every refId whose frames carry what only a notice could say, as a 400: flat rows
    carry no notice, and an alert rule must evaluate to an error, never to other data
    than it asked for. A result cut at a row cap; an ad hoc filter key left unapplied."""
    failures = []
    for ref_id, response in result.responses.items():
        customs = [f.meta.get("custom", {}) for f in response.frames]
        cuts = sorted({str(c["truncated"]) for c in customs if c.get("truncated")})
        unknown = sorted({key for c in customs for key in c.get("unknownFilterKeys", ())})
        problems = []
        if cuts:
            whole = "the rows format answers whole results only: narrow the range"
            problems.append(f"{'; '.join(cuts)}; {whole}")
        if unknown:
            problems.append(
                f"ad hoc filter key {', '.join(map(repr, unknown))} is not offered; the rows format "
                "cannot say that a filter was left unapplied: remove it"
            )
        if problems:
            failures.append((ref_id, DataResponse.failed(HTTPStatus.BAD_REQUEST, "; ".join(problems))))
    return failures


_ROW_KEYS = frozenset({"refId", "metric", "time", "value"})


def flat_rows(result: QueryDataResponse) -> list[dict[str, Any]]:
    """Every point as one flat object, for clients that parse rows (Infinity, alert rules).

    A time series point is ``{refId, metric, <label>: …, time, value}``: its string
    columns (refId, metric and the labels) identify the series uniquely, so a
    long-to-wide conversion gives one uniquely labelled numeric series each. A
    table row keeps its own columns, plus ``refId``. A label whose name clashes
    with those keys is sent as ``label_<name>``.
    """
    return list(_iter_rows(result))


def _iter_rows(result: QueryDataResponse) -> Iterator[dict[str, Any]]:
    for ref_id, response in result.responses.items():
        for frame in response.frames:
            if str(frame.meta.get("type", "")).startswith("timeseries"):
                yield from _series_rows(ref_id, frame)
            else:
                yield from ({"refId": ref_id, **row} for row in render_rows([frame]))


def _series_rows(ref_id: str, frame: Frame) -> Iterator[dict[str, Any]]:
    time_field = next(f for f in frame.fields if f.type == "time")
    for field in frame.fields:
        if field.type != "number":
            continue
        labels = {(f"label_{k}" if k in _ROW_KEYS else k): v for k, v in field.labels.items()}
        base = {"refId": ref_id, "metric": field.name, **labels}
        yield from ({**base, "time": t, "value": v} for t, v in zip(time_field.values, field.values))


def render_failures(failures: list[tuple[str, DataResponse]]) -> Response:
    """The first failure names the status; every failure is listed.

    RefIds that failed the same way share one sentence: ``B, C: MySQL did not answer …``.
    """
    # A server-side failure outranks a client one: the panel should say the backend broke.
    ordered = sorted(failures, key=lambda item: -int(item[1].status >= 500))
    ref_id, first = ordered[0]
    errors = [{"refId": ref, "message": r.error, "status": r.status} for ref, r in failures]
    alike: dict[tuple[int, str | None], list[str]] = {}
    for ref, r in ordered:
        alike.setdefault((r.status, r.error), []).append(ref)
    message = "; ".join(f"{', '.join(refs)}: {error}" for (_, error), refs in alike.items())
    return Response.error(first.status, message, refId=ref_id, error=first.error, errors=errors)


def render_error(error: ServiceError) -> Response:
    """``{"message"}``; errors with a ``code`` add ``error: {code, message}``, the shape the
    simpod plugin's health check reads (it shows only the status text otherwise)."""
    code = getattr(error, "code", None)
    extra = {"error": {"code": code, "message": error.message}} if code else {}
    return Response.error(error.status, error.message, getattr(error, "headers", None), **extra)


def render_rows(frames: list[Frame]) -> list[dict[str, Any]]:
    """Frames as row objects: the shape of /variable answers and legacy annotations."""
    rows: list[dict[str, Any]] = []
    for frame in frames:
        names = [f.name for f in frame.fields]
        columns = [f.values for f in frame.fields]
        rows.extend(dict(zip(names, values)) for values in zip(*columns))
    return rows

"""Tencent Cloud credentials, read afresh for every request.

On SCF the execution role's temporary keys arrive as ``TENCENTCLOUD_SECRETID``,
``TENCENTCLOUD_SECRETKEY`` and ``TENCENTCLOUD_SESSIONTOKEN`` and are rotated
while an instance stays warm, so they are read from ``os.environ`` per request,
never kept from the cold start. An explicit pair (``CLOUD_API_SECRET_ID`` /
``CLOUD_API_SECRET_KEY``, for local runs and the emulator) wins over the role.
The SDK's own provider chain is never used: it reads other variable names and
ends in ``OSError("TKE_REGION not exist")`` when it finds nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grafana_scf.errors import ServiceError
from grafana_scf.settings import Settings

ROLE_ID, ROLE_KEY, ROLE_TOKEN = "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"


class CredentialsError(ServiceError):
    """No usable credentials: a deployment problem, reported without any secret (500)."""


@dataclass(frozen=True)
class Credentials:
    """One key pair (with the STS token of temporary keys) and where it came from."""

    secret_id: str = field(repr=False)
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    origin: str = "execution role"

    def secrets(self) -> tuple[str, ...]:
        """Every secret string, for scrubbing messages."""
        return tuple(s for s in (self.secret_id, self.secret_key, self.token) if s)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_credentials(settings: Settings, environ: Mapping[str, str] | None = None) -> Credentials:
    """The credentials to sign the next call with; ``CredentialsError`` when there are none."""
    env = os.environ if environ is None else environ
    explicit_id, explicit_key = (
        _clean(settings.cloud_api_secret_id),
        _clean(settings.cloud_api_secret_key),
    )
    if explicit_id or explicit_key:
        if not (explicit_id and explicit_key):
            raise CredentialsError(
                "CLOUD_API_SECRET_ID and CLOUD_API_SECRET_KEY must be set together (only one is set)"
            )
        return Credentials(explicit_id, explicit_key, None, "CLOUD_API_SECRET_ID/CLOUD_API_SECRET_KEY")
    role_id, role_key = _clean(env.get(ROLE_ID)), _clean(env.get(ROLE_KEY))
    if role_id and role_key:
        return Credentials(role_id, role_key, _clean(env.get(ROLE_TOKEN)), "execution role")
    if role_id or role_key:
        missing = ROLE_KEY if role_id else ROLE_ID
        raise CredentialsError(f"incomplete execution-role credentials: {missing} is not set")
    raise CredentialsError(
        "no Tencent Cloud credentials: bind an execution role to the function (role: in "
        "serverless.yml; SCF then sets TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN) or set "
        "CLOUD_API_SECRET_ID and CLOUD_API_SECRET_KEY"
    )


def scrub(text: str, credentials: Credentials | None) -> str:
    """``text`` with every secret of ``credentials`` replaced by ``***``."""
    if credentials is None:
        return text
    for secret in credentials.secrets():
        text = text.replace(secret, "***")
    return text

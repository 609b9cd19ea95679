"""What an action handler gets besides its parameters: region, clock, limits, keys."""

from __future__ import annotations

from dataclasses import dataclass

from labelhub_tools.emulator.auth import CredentialStore

# Retention of GetMonitorData per period, in seconds (second-level data: 1 day,
# 1- and 5-minute data: 31 days, hourly: 93 days, daily: 186 days).
RETENTION_SECONDS = {
    5: 86400,
    10: 86400,
    60: 31 * 86400,
    300: 31 * 86400,
    3600: 93 * 86400,
    86400: 186 * 86400,
}


@dataclass(frozen=True)
class Limits:
    """GetMonitorData limits. ``conservative`` follows the older documentation
    (10 instances, 1,440 points per call); ``newest`` the current SDK docstring
    (50 and 7,200). ``ingest_delay`` is how many seconds old a slot must be before
    it is reported, like the real service's processing delay."""

    max_instances: int = 10
    max_points: int = 1440
    ingest_delay: int = 60

    @classmethod
    def named(cls, profile: str, ingest_delay: int = 60) -> Limits:
        """The ``conservative`` or ``newest`` limits."""
        if profile == "conservative":
            return cls(10, 1440, ingest_delay)
        if profile == "newest":
            return cls(50, 7200, ingest_delay)
        raise ValueError(f"unknown limits profile {profile!r} (conservative or newest)")


@dataclass(frozen=True)
class ActionContext:
    """Per-request facts an action may use: ``now`` is the emulator's clock."""

    region: str | None
    now: float
    limits: Limits
    credentials: CredentialStore
    seed: int = 0

"""Identical concurrent requests, on one instance or many, make one backend call.

The first to ask takes a lock in Redis (``SET NX`` with a short TTL) and does the work;
the work stores its result under keys the others read (``lookup``). The others poll
``lookup`` until the result is there, the lock is gone (the holder failed: they look
once more, then do the work themselves), or their share of the request's time is up
(then they do it themselves too). Without Redis everybody does their own work.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TypeVar

from grafana_scf import deadline
from grafana_scf.shared.store import SharedStore

T = TypeVar("T")

LOCK_TTL_S = 15.0
"""A lock outlives a holder that died by at most this (and never the holder's own deadline)."""
POLL_S = 0.02
WAIT_SHARE = 0.5
"""A waiter waits at most this share of its time left, keeping the rest for its own call."""

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def coalesced(
    store: SharedStore,
    name: str,
    lookup: Callable[[], T | None],
    compute: Callable[[], T],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``lookup()`` if it answers; else ``compute()`` here or in whoever holds the lock for ``name``."""
    found = lookup()
    if found is not None:
        return found
    lock_key = store.key("lock", name)
    token = secrets.token_hex(8)
    ttl_ms = max(200, int(min(LOCK_TTL_S, deadline.current().remaining_s()) * 1000))
    ok, taken = store.call("SET NX", lambda r: r.set(lock_key, token, nx=True, px=ttl_ms))
    if not ok or taken:
        try:
            return compute()
        finally:
            if taken:
                store.call("DEL", lambda r: r.eval(_RELEASE, 1, lock_key, token))
    wait_until = time.monotonic() + deadline.current().remaining_s() * WAIT_SHARE
    while time.monotonic() < wait_until:
        sleep(POLL_S)
        found = lookup()
        if found is not None:
            return found
        ok, holder = store.call("GET", lambda r: r.get(lock_key))
        if not ok or holder is None:
            found = lookup()
            return found if found is not None else compute()
    return compute()

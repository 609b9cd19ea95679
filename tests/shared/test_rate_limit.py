"""One Cloud Monitor rate limit per account, shared by instances in separate processes,
against the emulator enforcing the account's limit; the per-instance bucket without Redis."""

from __future__ import annotations

import time
from pathlib import Path

from grafana_scf.shared.gcra import RateLimitTimeout as SharedRateLimitTimeout
from grafana_scf.shared.gcra import SharedRateLimit
from grafana_scf.shared.store import SharedStore
from grafana_scf.sources.cloudmonitor.ratelimit import TokenBucket
from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY

from .instances import results, start_instances

WORKER = Path(__file__).with_name("rate_worker.py")
INSTANCES, CALLS, RATE = 4, 5, 5


def run_instances(tmp_path: Path, settings: dict) -> list[dict]:
    """``INSTANCES`` workers, each making ``CALLS`` rate-limited calls at once."""
    return results(start_instances(tmp_path, WORKER, settings, CALLS, INSTANCES))


def settings_for(emulator, **extra) -> dict:
    return {
        "CLOUD_API_ENDPOINT": emulator.url,
        "CLOUD_API_SECRET_ID": DEFAULT_SECRET_ID,
        "CLOUD_API_SECRET_KEY": DEFAULT_SECRET_KEY,
        "CLOUD_API_RATE_LIMIT": RATE,
        "CLOUD_API_RETRIES": 0,
        **extra,
    }


def refused_by_emulator(emulator) -> int:
    outcomes = emulator.stats()["actions"].get("DescribeBaseMetrics", {}).get("outcomes", {})
    return outcomes.get("RequestLimitExceeded", 0)


def test_instances_share_one_limit_and_are_never_refused(tmp_path, emulator, redis_clean):
    emulator.reset()
    emulator.set_faults(rate_limit=RATE)  # per SecretId and action, a bucket of one second's worth
    try:
        answers = run_instances(tmp_path, settings_for(emulator, REDIS_URL=redis_clean.url))
        assert sum(a["ok"] for a in answers) == INSTANCES * CALLS
        assert refused_by_emulator(emulator) == 0
        keys = [k.decode() for k in redis_clean.client().keys("*")]
        assert any(k.startswith("lh:v1:rate:") for k in keys)
        assert not any(DEFAULT_SECRET_ID in k for k in keys), "the SecretId itself never goes into Redis"
    finally:
        emulator.reset()


def test_without_redis_each_instance_has_its_own_bucket_and_the_account_is_throttled(tmp_path, emulator):
    emulator.reset()
    emulator.set_faults(rate_limit=RATE)
    try:
        answers = run_instances(tmp_path, settings_for(emulator))
        assert sum(a["refused"] for a in answers) > 0  # 4 instances x 5/s against 5/s for the account
        assert refused_by_emulator(emulator) == sum(a["refused"] for a in answers)
    finally:
        emulator.reset()


def test_the_per_instance_bucket_decides_when_redis_is_down():
    from support.private_mariadb import free_port

    waits = []
    bucket = TokenBucket(2, sleep=waits.append)
    store = SharedStore(f"redis://127.0.0.1:{free_port()}/0", 100, "cloudmonitor")
    limiter = SharedRateLimit(store, "AKIDexample", 2, bucket, sleep=waits.append)
    for _ in range(3):
        limiter.acquire(time.monotonic() + 10)
    assert len(waits) >= 1 and waits[-1] > 0  # the local bucket (1 token) made the later calls wait
    assert store.health().state == "degraded"


def test_the_shared_limit_hands_out_slots_one_interval_apart(redis_clean):
    store = SharedStore(redis_clean.url, 500, "cloudmonitor")
    waits: list[float] = []
    limiter = SharedRateLimit(store, "AKIDexample", 0.1, TokenBucket(1), sleep=waits.append)
    assert limiter.acquire(time.monotonic() + 60) == 0  # one call per 10 s, no burst: the first goes
    second = limiter.acquire(time.monotonic() + 60)  # nobody sleeps here (sleep is recorded)
    assert 5 < second <= 10 and waits == [second]
    try:
        limiter.acquire(time.monotonic() + 1)  # the next slot is ~20 s away: past this deadline
    except SharedRateLimitTimeout:
        pass
    else:
        raise AssertionError("a slot past the deadline was handed out")
    assert 15 < limiter.acquire(time.monotonic() + 60) <= 20  # the refused caller took no slot

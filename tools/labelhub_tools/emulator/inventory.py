"""The synthetic account: regions and the CVM, CDB, SCF and CLB instances in them.

Everything here is fixed data (no randomness), so listings are stable and tests can
name instances directly. A few instances misbehave on purpose, as told by their
``behaviour``:

* ``hot``: utilisation spikes above 85 % in the first 10 minutes of every hour;
  count metrics are twenty times higher then, other levels three times.
* ``silent``: exists in listings but has no monitoring data (no DataPoint at all).
* ``gappy``: no data from minute 30 to 45 of every hour, besides the usual gaps.
* ``flaky``: about one slot in five comes back with a ``null`` value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from labelhub_tools.emulator.catalog import NAMESPACES


@dataclass(frozen=True)
class Region:
    """A region as ``DescribeRegions`` lists it."""

    region: str
    name: str
    state: str = "AVAILABLE"


@dataclass(frozen=True)
class Instance:
    """One resource of any product.

    ``key`` is the value of its namespace's primary dimension (InstanceId,
    functionName or vip), the identity the synthetic series are keyed by.
    ``match`` holds the dimension values a monitoring request must agree with.
    """

    product: str
    key: str
    resource_id: str
    name: str
    region: str
    zone: str
    status: str
    behaviour: str = "normal"
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    match: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


REGIONS: tuple[Region, ...] = (
    Region("ap-guangzhou", "华南地区(广州)"),
    Region("ap-shanghai", "华东地区(上海)"),
    Region("ap-beijing", "华北地区(北京)"),
    Region("ap-hongkong", "港澳台地区(中国香港)"),
    Region("ap-shanghai-fsi", "华东地区(上海金融)", "UNAVAILABLE"),
)
AVAILABLE_REGIONS = frozenset(r.region for r in REGIONS if r.state == "AVAILABLE")


def _cvm(
    iid: str,
    name: str,
    region: str,
    ip: str,
    public: str | None = None,
    behaviour: str = "normal",
    state: str = "RUNNING",
    zone: int = 3,
) -> Instance:
    attrs = {
        "private_ip": ip,
        "public_ip": public,
        "instance_type": "S5.MEDIUM4",
        "cpu": 2,
        "memory": 4,
        "tags": {"project": name.split("-")[0]},
    }
    return Instance(
        "cvm",
        iid,
        iid,
        name,
        region,
        f"{region}-{zone}",
        state,
        behaviour,
        MappingProxyType(attrs),
        MappingProxyType({"InstanceId": iid}),
    )


def _cdb(iid: str, name: str, region: str, vip: str, kind: int = 1, behaviour: str = "normal") -> Instance:
    attrs = {"vip": vip, "instance_type": kind, "memory": 4000, "volume": 200}
    match = {"InstanceId": iid, "InstanceType": str(kind)}
    return Instance(
        "cdb",
        iid,
        iid,
        name,
        region,
        f"{region}-3",
        "1",
        behaviour,
        MappingProxyType(attrs),
        MappingProxyType(match),
    )


def _scf(
    name: str,
    region: str,
    fid: str,
    namespace: str = "default",
    behaviour: str = "normal",
    runtime: str = "Python3.10",
) -> Instance:
    attrs = {"namespace": namespace, "runtime": runtime}
    match = {"functionName": name, "namespace": namespace}
    return Instance(
        "scf",
        name,
        fid,
        name,
        region,
        "",
        "Active",
        behaviour,
        MappingProxyType(attrs),
        MappingProxyType(match),
    )


def _clb(
    lid: str, name: str, region: str, vip: str, kind: str = "OPEN", behaviour: str = "normal"
) -> Instance:
    attrs = {"vip": vip, "type": kind, "vpc_id": f"vpc-{region[3:5]}000001"}
    return Instance(
        "clb",
        vip,
        lid,
        name,
        region,
        f"{region}-3",
        "1",
        behaviour,
        MappingProxyType(attrs),
        MappingProxyType({"vip": vip}),
    )


def _fleet(count: int) -> tuple[Instance, ...]:
    """Plain CVMs in Shanghai, enough for listings to need more than one page."""
    return tuple(
        _cvm(
            f"ins-sh{n:06d}",
            f"fleet-node-{n:03d}",
            "ap-shanghai",
            f"10.1.{n // 200}.{n % 200 + 10}",
            zone=2 + n % 3,
        )
        for n in range(1, count + 1)
    )


INSTANCES: tuple[Instance, ...] = (
    _cvm("ins-gz0web01", "labelhub-web-1", "ap-guangzhou", "10.0.0.11", "203.0.113.11"),
    _cvm("ins-gz0web02", "labelhub-web-2", "ap-guangzhou", "10.0.0.12", "203.0.113.12", zone=6),
    _cvm("ins-gz0hot01", "labelhub-worker-hot", "ap-guangzhou", "10.0.0.21", behaviour="hot"),
    _cvm("ins-gz0sil01", "labelhub-batch-silent", "ap-guangzhou", "10.0.0.22", behaviour="silent"),
    _cvm("ins-gz0gap01", "labelhub-etl-gappy", "ap-guangzhou", "10.0.0.23", behaviour="gappy"),
    _cvm("ins-gz0flk01", "labelhub-legacy-flaky", "ap-guangzhou", "10.0.0.24", behaviour="flaky"),
    _cvm("ins-gz0off01", "labelhub-spare", "ap-guangzhou", "10.0.0.25", behaviour="silent", state="STOPPED"),
    _cvm("ins-sh0web01", "analytics-web-1", "ap-shanghai", "10.1.0.11", "198.51.100.11"),
    _cvm("ins-sh0job01", "analytics-jobs", "ap-shanghai", "10.1.0.12"),
    _cvm("ins-sh0hot01", "analytics-worker-hot", "ap-shanghai", "10.1.0.13", behaviour="hot"),
    *_fleet(120),
    _cvm("ins-bj0web01", "labelhub-web-bj-1", "ap-beijing", "10.2.0.11", "198.51.100.31"),
    _cvm("ins-bj0web02", "labelhub-web-bj-2", "ap-beijing", "10.2.0.12", "198.51.100.32"),
    _cdb("cdb-gz0main1", "labelhub-mysql-main", "ap-guangzhou", "10.0.0.50"),
    _cdb("cdb-gz0ro001", "labelhub-mysql-ro", "ap-guangzhou", "10.0.0.51", kind=3),
    _cdb("cdb-gz0hot01", "labelhub-mysql-reports", "ap-guangzhou", "10.0.0.52", behaviour="hot"),
    _cdb("cdb-sh0main1", "analytics-mysql", "ap-shanghai", "10.1.0.50"),
    _cdb("cdb-sh0dr001", "analytics-mysql-dr", "ap-shanghai", "10.1.0.51", kind=2),
    _cdb("cdb-bj0main1", "labelhub-mysql-bj", "ap-beijing", "10.2.0.50"),
    _scf("labelhub-dashboard-dev-business", "ap-guangzhou", "lam-gz0dbiz1"),
    _scf("labelhub-dashboard-dev-cloudmonitor", "ap-guangzhou", "lam-gz0dcm01"),
    _scf("labelhub-dashboard-prod-business", "ap-guangzhou", "lam-gz0pbiz1"),
    _scf("labelhub-dashboard-prod-cloudmonitor", "ap-guangzhou", "lam-gz0pcm01", behaviour="hot"),
    _scf("labelhub-api", "ap-guangzhou", "lam-gz0api01", runtime="Nodejs18.15"),
    _scf("image-thumbnail", "ap-guangzhou", "lam-gz0img01", behaviour="gappy"),
    _scf("nightly-export", "ap-guangzhou", "lam-gz0exp01", namespace="labelhub-jobs"),
    _scf("label-sync", "ap-guangzhou", "lam-gz0syn01", namespace="labelhub-jobs", behaviour="silent"),
    _scf("analytics-ingest", "ap-shanghai", "lam-sh0ing01"),
    _scf("report-mailer", "ap-shanghai", "lam-sh0mail1"),
    _scf("labelhub-edge-auth", "ap-beijing", "lam-bj0auth1"),
    _clb("lb-gz0pub01", "labelhub-public-clb", "ap-guangzhou", "203.0.113.10"),
    _clb("lb-gz0int01", "labelhub-internal-clb", "ap-guangzhou", "10.0.0.100", "INTERNAL"),
    _clb("lb-sh0pub01", "analytics-clb", "ap-shanghai", "198.51.100.20", behaviour="hot"),
    _clb("lb-bj0pub01", "labelhub-bj-clb", "ap-beijing", "198.51.100.30"),
)

_BY_KEY: dict[tuple[str, str], Instance] = {(i.product, i.key): i for i in INSTANCES}
SCF_NAMESPACES: dict[str, tuple[str, ...]] = {
    "ap-guangzhou": ("default", "labelhub-jobs"),
    "ap-shanghai": ("default",),
    "ap-beijing": ("default",),
    "ap-hongkong": ("default",),
}


def instances(product: str, region: str | None = None) -> list[Instance]:
    """Every instance of a product, optionally only those in one region, in listing order."""
    return [i for i in INSTANCES if i.product == product and region in (None, i.region)]


def find(product: str, key: str) -> Instance | None:
    """The instance of a product whose key (primary dimension value) is ``key``."""
    return _BY_KEY.get((product, key))


def behaviour_of(namespace: str, key: str) -> str:
    """The behaviour of the instance a namespace's key names (``normal`` if unknown)."""
    spec = NAMESPACES.get(namespace)
    instance = find(spec.product, key) if spec else None
    return instance.behaviour if instance else "normal"


def resolve(namespace: str, dimensions: Mapping[str, str], region: str) -> Instance | None:
    """The instance a GetMonitorData dimension set designates in a region, or None.

    None when the dimension names are not a valid combination (names are
    case-sensitive), when no instance has that key, when it lives in another region,
    when a given identity dimension disagrees, or when it has no metrics in this
    namespace (an internal CLB under QCE/LB_PUBLIC).
    """
    spec = NAMESPACES.get(namespace)
    if spec is None or not spec.accepts(set(dimensions)):
        return None
    instance = find(spec.product, dimensions[spec.primary])
    if instance is None or instance.region != region:
        return None
    if any(dimensions.get(name, value) != value for name, value in instance.match.items()):
        return None
    if instance.product == "clb" and instance.attrs["type"] != "OPEN":
        return None
    return instance

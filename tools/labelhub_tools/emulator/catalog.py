"""The metric catalogue: namespaces, their dimensions, and each metric's unit and periods.

One table serves both ``DescribeBaseMetrics`` (the catalogue as the API shows it)
and ``GetMonitorData`` (which periods a metric accepts, its default statistic and
the shape of its synthetic values). Names, dimension keys and periods follow the
public metric documentation; the value shapes (``base``, ``swing``) are invented.
"""

from __future__ import annotations

from dataclasses import dataclass

STATISTICS = ("avg", "max", "min", "sum")


@dataclass(frozen=True)
class NamespaceSpec:
    """A monitoring namespace: the product it covers and the dimensions it accepts.

    A request's dimension names must include every ``required`` name and may add
    ``optional`` ones; names are case-sensitive. ``primary`` is the dimension whose
    value identifies the instance (its key in the synthetic data).
    """

    name: str
    product: str
    primary: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    combinations: tuple[tuple[str, ...], ...]

    def accepts(self, names: set[str]) -> bool:
        """Whether a set of dimension names is a valid combination here."""
        return set(self.required) <= names <= set(self.required) | set(self.optional)


@dataclass(frozen=True)
class MetricSpec:
    """One metric: names, unit, supported periods, statistics and value shape.

    ``kind`` is ``percent`` (0-100), ``gauge`` (a level) or ``count`` (events summed
    over the period; ``base`` is then a rate per minute). ``long_stat`` is the
    default statistic from 300 s up when it differs from ``stat`` (CVM CPUUsage is
    averaged at 10/60 s but a maximum at 300 s and above).
    """

    namespace: str
    name: str
    cname: str
    unit: str
    unit_cname: str
    periods: tuple[int, ...]
    meaning_en: str
    meaning_zh: str
    kind: str
    base: float
    swing: float
    stat: str = "avg"
    long_stat: str | None = None

    def default_statistic(self, period: int) -> str:
        """The statistic ``Values`` carries at this period."""
        if self.long_stat and period >= 300:
            return self.long_stat
        return self.stat

    def describe(self) -> dict:
        """This metric as one ``MetricSet`` entry of ``DescribeBaseMetrics``."""
        spec = NAMESPACES[self.namespace]
        return {
            "Namespace": self.namespace,
            "MetricName": self.name,
            "Unit": self.unit,
            "UnitCname": self.unit_cname,
            "Period": list(self.periods),
            "Periods": [
                {"Period": str(period), "StatType": [self.default_statistic(period)]}
                for period in self.periods
            ],
            "Meaning": {"En": self.meaning_en, "Zh": self.meaning_zh},
            "Dimensions": [{"Dimensions": list(combo)} for combo in spec.combinations],
            "MetricCName": self.cname,
            "MetricEName": self.meaning_en,
        }


NAMESPACES: dict[str, NamespaceSpec] = {
    spec.name: spec
    for spec in (
        NamespaceSpec("QCE/CVM", "cvm", "InstanceId", ("InstanceId",), (), (("InstanceId",),)),
        NamespaceSpec(
            "QCE/CDB",
            "cdb",
            "InstanceId",
            ("InstanceId",),
            ("InstanceType",),
            (("InstanceId",), ("InstanceId", "InstanceType")),
        ),
        NamespaceSpec(
            "QCE/SCF_V2",
            "scf",
            "functionName",
            ("functionName", "namespace"),
            ("version", "alias", "appid"),
            (
                ("functionName", "namespace"),
                ("functionName", "namespace", "version"),
                ("functionName", "namespace", "alias"),
            ),
        ),
        NamespaceSpec(
            "QCE/LB_PUBLIC",
            "clb",
            "vip",
            ("vip",),
            ("loadBalancerPort", "protocol"),
            (("vip",), ("vip", "loadBalancerPort", "protocol")),
        ),
    )
}

_ALL = (10, 60, 300, 3600, 86400)
_CDB = (5, 60, 300, 3600, 86400)
_SCF = (60, 300, 3600, 86400)

# namespace, name, cname, unit, unit_cname, periods, meaning, kind, base, swing, stat, long_stat
_TABLE: tuple[tuple, ...] = (
    (
        "QCE/CVM",
        "CPUUsage",
        "CPU 利用率",
        "%",
        "%",
        _ALL,
        "CPU utilization",
        "percent",
        32,
        0.5,
        "avg",
        "max",
    ),
    (
        "QCE/CVM",
        "CpuLoadavg",
        "CPU 一分钟平均负载",
        "-",
        "-",
        _ALL,
        "1-minute CPU load average",
        "gauge",
        1.2,
        0.5,
    ),
    ("QCE/CVM", "MemUsage", "内存利用率", "%", "%", _ALL, "Memory utilization", "percent", 55, 0.2),
    ("QCE/CVM", "MemUsed", "内存使用量", "MB", "MB", _ALL, "Memory used", "gauge", 4096, 0.2),
    (
        "QCE/CVM",
        "LanOuttraffic",
        "内网出带宽",
        "Mbps",
        "Mbps",
        _ALL,
        "Private network outbound bandwidth",
        "gauge",
        20,
        0.6,
    ),
    (
        "QCE/CVM",
        "LanIntraffic",
        "内网入带宽",
        "Mbps",
        "Mbps",
        _ALL,
        "Private network inbound bandwidth",
        "gauge",
        15,
        0.6,
    ),
    (
        "QCE/CVM",
        "WanOuttraffic",
        "外网出带宽",
        "Mbps",
        "Mbps",
        _ALL,
        "Public network outbound bandwidth",
        "gauge",
        8,
        0.7,
    ),
    (
        "QCE/CVM",
        "WanIntraffic",
        "外网入带宽",
        "Mbps",
        "Mbps",
        _ALL,
        "Public network inbound bandwidth",
        "gauge",
        3,
        0.7,
    ),
    (
        "QCE/CVM",
        "TcpCurrEstab",
        "TCP 连接数",
        "Count",
        "个",
        _ALL,
        "Established TCP connections",
        "gauge",
        300,
        0.5,
    ),
    (
        "QCE/CVM",
        "CvmDiskUsage",
        "磁盘利用率",
        "%",
        "%",
        (60, 300, 3600, 86400),
        "Disk utilization",
        "percent",
        45,
        0.02,
    ),
    ("QCE/CDB", "CpuUseRate", "CPU 利用率", "%", "%", _CDB, "CPU utilization", "percent", 28, 0.5),
    ("QCE/CDB", "MemoryUse", "内存占用", "MB", "MB", _CDB, "Memory used", "gauge", 2048, 0.1),
    ("QCE/CDB", "MemoryUseRate", "内存利用率", "%", "%", _CDB, "Memory utilization", "percent", 62, 0.1),
    ("QCE/CDB", "VolumeRate", "磁盘利用率", "%", "%", _CDB, "Disk utilization", "percent", 40, 0.02),
    (
        "QCE/CDB",
        "Qps",
        "每秒执行操作数",
        "Count/s",
        "次/秒",
        _CDB,
        "Operations per second",
        "gauge",
        500,
        0.6,
    ),
    ("QCE/CDB", "Queries", "总请求数", "Count/s", "次/秒", _CDB, "Queries per second", "gauge", 600, 0.6),
    (
        "QCE/CDB",
        "SelectCount",
        "查询数",
        "Count/s",
        "次/秒",
        _CDB,
        "SELECT statements per second",
        "gauge",
        400,
        0.6,
    ),
    ("QCE/CDB", "SlowQueries", "慢查询数", "Count", "次", _CDB, "Slow queries", "count", 0.4, 0.5, "sum"),
    (
        "QCE/CDB",
        "ThreadsConnected",
        "当前打开连接数",
        "Count",
        "个",
        _CDB,
        "Open connections",
        "gauge",
        120,
        0.4,
    ),
    (
        "QCE/CDB",
        "MaxConnections",
        "最大连接数",
        "Count",
        "个",
        _CDB,
        "Maximum connections allowed",
        "gauge",
        800,
        0.0,
    ),
    (
        "QCE/CDB",
        "ConnectionUseRate",
        "连接数利用率",
        "%",
        "%",
        _CDB,
        "Connections used over the maximum",
        "percent",
        15,
        0.4,
    ),
    (
        "QCE/CDB",
        "InnodbCacheHitRate",
        "InnoDB 缓存命中率",
        "%",
        "%",
        _CDB,
        "InnoDB buffer pool hit rate",
        "percent",
        99,
        0.005,
    ),
    (
        "QCE/CDB",
        "Iops",
        "每秒 I/O 次数",
        "Count/s",
        "次/秒",
        _CDB,
        "I/O operations per second",
        "gauge",
        300,
        0.5,
    ),
    ("QCE/SCF_V2", "Invocation", "调用次数", "Count", "次", _SCF, "Invocations", "count", 30, 0.7, "sum"),
    (
        "QCE/SCF_V2",
        "Error",
        "错误次数",
        "Count",
        "次",
        _SCF,
        "Invocations that failed",
        "count",
        0.3,
        0.5,
        "sum",
    ),
    ("QCE/SCF_V2", "Duration", "运行时间", "ms", "毫秒", _SCF, "Average run time", "gauge", 120, 0.3),
    (
        "QCE/SCF_V2",
        "ConcurrentExecutions",
        "并发执行次数",
        "Count",
        "次",
        _SCF,
        "Concurrent executions",
        "gauge",
        3,
        0.6,
        "max",
    ),
    (
        "QCE/SCF_V2",
        "Throttle",
        "受限次数",
        "Count",
        "次",
        _SCF,
        "Throttled invocations",
        "count",
        0.05,
        0.5,
        "sum",
    ),
    ("QCE/SCF_V2", "Mem", "运行内存", "MB", "MB", (10, *_SCF), "Memory used while running", "gauge", 64, 0.2),
    (
        "QCE/SCF_V2",
        "BillDuration",
        "计费时间",
        "ms",
        "毫秒",
        _SCF,
        "Billed run time",
        "count",
        3600,
        0.7,
        "sum",
    ),
    (
        "QCE/SCF_V2",
        "Http2xx",
        "正确的调用次数",
        "Count",
        "次",
        _SCF,
        "Responses with a 2xx status",
        "count",
        29,
        0.7,
        "sum",
    ),
    (
        "QCE/SCF_V2",
        "Http4xx",
        "4xx 状态码",
        "Count",
        "次",
        _SCF,
        "Responses with a 4xx status",
        "count",
        0.5,
        0.5,
        "sum",
    ),
    (
        "QCE/SCF_V2",
        "Syserr",
        "系统内部错误次数",
        "Count",
        "次",
        _SCF,
        "Platform errors",
        "count",
        0.02,
        0.5,
        "sum",
    ),
    (
        "QCE/SCF_V2",
        "FunctionErrorPercentage",
        "函数错误率",
        "%",
        "%",
        _SCF,
        "Share of invocations that failed",
        "percent",
        1.0,
        0.5,
    ),
    (
        "QCE/LB_PUBLIC",
        "ClientConnum",
        "活跃连接数",
        "Count",
        "个",
        _ALL,
        "Active client connections",
        "gauge",
        800,
        0.6,
    ),
    (
        "QCE/LB_PUBLIC",
        "ClientNewConn",
        "新建连接数",
        "Count/s",
        "个/秒",
        _ALL,
        "New client connections per second",
        "gauge",
        40,
        0.6,
    ),
    ("QCE/LB_PUBLIC", "InTraffic", "入带宽", "Mbps", "Mbps", _ALL, "Inbound bandwidth", "gauge", 12, 0.6),
    ("QCE/LB_PUBLIC", "OutTraffic", "出带宽", "Mbps", "Mbps", _ALL, "Outbound bandwidth", "gauge", 30, 0.6),
    (
        "QCE/LB_PUBLIC",
        "QPS",
        "每秒请求数",
        "Count/s",
        "次/秒",
        _ALL,
        "Requests per second",
        "gauge",
        200,
        0.6,
    ),
    (
        "QCE/LB_PUBLIC",
        "ResponseTimeMax",
        "最大响应时间",
        "ms",
        "毫秒",
        _ALL,
        "Maximum response time",
        "gauge",
        250,
        0.3,
        "max",
    ),
    (
        "QCE/LB_PUBLIC",
        "DropTotalConns",
        "丢弃连接数",
        "Count",
        "个",
        _ALL,
        "Dropped connections",
        "count",
        0.2,
        0.5,
        "sum",
    ),
)


def _build() -> dict[str, dict[str, MetricSpec]]:
    table: dict[str, dict[str, MetricSpec]] = {name: {} for name in NAMESPACES}
    for row in _TABLE:
        namespace, name, cname, unit, unit_cname, periods, meaning, kind, base, swing, *stats = row
        spec = MetricSpec(
            namespace,
            name,
            cname,
            unit,
            unit_cname,
            tuple(periods),
            meaning,
            cname,
            kind,
            float(base),
            float(swing),
            *stats,
        )
        table[namespace][name.lower()] = spec
    return table


METRICS: dict[str, dict[str, MetricSpec]] = _build()


def find_metric(namespace: str, metric_name: str) -> MetricSpec | None:
    """The metric of that name (matched case-insensitively) in a namespace, or None."""
    return METRICS.get(namespace, {}).get(metric_name.lower())


def metrics_of(namespace: str) -> list[MetricSpec]:
    """Every metric of a namespace, in catalogue order (empty for unknown namespaces)."""
    return list(METRICS.get(namespace, {}).values())

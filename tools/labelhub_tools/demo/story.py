"""The demo's cast and calendar: clock and rhythms, projects, users, releases, incidents.

Everything here is pure and seeded; ``generator`` runs the task simulation on top.
Times are integer seconds since the window start (``t`` in ``[0, clock.end)``).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelhub_tools.demo.generator import DemoConfig

HOUR, DAY = 3600, 86400
CHINA_OFFSET = 8 * HOUR
_EPOCH = datetime(1970, 1, 1)
GROWTH_PER_DAY = 0.008
TASKS_PER_DAY = 1150  # task arrivals per day at `until`, scale 1
SIGNUPS_PER_DAY = 22

# Relative activity per hour of the day in China time (UTC+8), and the weekend factor.
UPLOAD_HOURS = (
    0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.4, 0.8, 1.5, 1.8, 1.7, 0.9, 1.4, 1.8, 1.8, 1.6, 1.3,
    0.8, 0.6, 0.5, 0.5, 0.4, 0.3,
)  # fmt: skip
LABEL_HOURS = (
    0.25, 0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.7, 1.3, 1.5, 1.5, 0.8, 1.3, 1.6, 1.6, 1.5,
    1.3, 0.8, 0.9, 1.0, 0.9, 0.6, 0.4,
)  # fmt: skip
SIGNUP_HOURS = (
    0.4, 0.2, 0.1, 0.1, 0.1, 0.2, 0.3, 0.6, 0.9, 1.2, 1.3, 1.3, 1.1, 1.2, 1.3, 1.3, 1.2, 1.1,
    1.1, 1.3, 1.5, 1.5, 1.2, 0.8,
)  # fmt: skip
UPLOAD_WEEKEND, LABEL_WEEKEND, SIGNUP_WEEKEND = 0.3, 0.5, 0.8

FIRST = (
    'Wei', 'Jing', 'Min', 'Hao', 'Yan', 'Li', 'Xin', 'Yu', 'Chen', 'Jun', 'Mei', 'Lei', 'Fang',
    'Hui', 'Tao', 'Ying', 'Ana', 'Maria', 'Jose', 'Grace', 'Joy', 'Mark', 'Priya', 'Rahul',
    'Amit', 'Sunita', 'Aisha', 'Fatima', 'Wanjiru', 'Linh', 'Minh', 'Thu', 'Budi', 'Siti',
    'Dewi', 'Emeka', 'Ngozi', 'Lucas', 'Sofia', 'Lena', 'Jonas',
)  # fmt: skip
LAST = (
    'Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou', 'Xu', 'Sun',
    'Ma', 'Zhu', 'Hu', 'Guo', 'Lin', 'He', 'Gao', 'Luo', 'Santos', 'Reyes', 'Cruz', 'Garcia',
    'Sharma', 'Patel', 'Singh', 'Kumar', 'Otieno', 'Kamau', 'Nguyen', 'Tran', 'Pham', 'Wijaya',
    'Santoso', 'Okafor', 'Adeyemi', 'Silva', 'Oliveira', 'Schmidt', 'Smith', 'Brown',
)  # fmt: skip
COUNTRIES = ("CN", "PH", "IN", "KE", "VN", "ID", "NG", "BR", "US", "DE")
COUNTRY_WEIGHTS = (50, 10, 10, 6, 6, 5, 5, 3, 3, 2)
CHANNELS = ("organic", "referral", "partner", "campaign")
CHANNEL_WEIGHTS = (50, 25, 15, 10)
ROLES = ("labeller", "reviewer", "manager", "admin")
ROLE_WEIGHTS = (86, 9, 4, 1)
CUSTOMERS = (
    'Acme Retail', 'Northwind Logistics', 'Globex Health', 'Initech', 'Umbrella Mobility',
    'Stark Agritech', 'Wayne Media', 'Hooli Search', 'Cyberdyne Robotics', 'Tyrell Vision',
    'Soylent Foods', 'Aperture Labs',
)  # fmt: skip
# modality: (weight, log-mean annotation seconds, seconds per label, use cases)
MODALITIES = {
    "image": (
        45,
        math.log(75),
        6,
        (
            "Shelf product boxes",
            "Street scene segmentation",
            "PCB defect detection",
            "Chest X-ray triage",
            "Crop disease tagging",
        ),
    ),
    "text": (
        25,
        math.log(50),
        8,
        ("Support ticket intent", "Contract entity tagging", "Toxicity review", "Search relevance rating"),
    ),
    "audio": (
        15,
        math.log(240),
        20,
        ("Mandarin call transcription", "Speaker diarisation", "Wake-word verification"),
    ),
    "video": (
        15,
        math.log(420),
        9,
        ("Warehouse action recognition", "Traffic object tracking", "Sports highlight tagging"),
    ),
}
RELEASES = (  # (title, tags); bugfix/hotfix/maintenance ones get a patch version
    ("Faster image loading in the labelling tool", "performance,labelling-ui"),
    ("Keyboard shortcuts for polygon editing", "feature,labelling-ui"),
    ("Fix autosave losing the last box", "bugfix,labelling-ui"),
    ("Bulk task import API", "feature,api"),
    ("Reviewer queue filters", "feature,review"),
    ("Dependency and security updates", "maintenance,security"),
    ("Audio waveform zoom", "feature,audio"),
    ("Project quality reports", "feature,reporting"),
    ("Hotfix: duplicate task assignment", "hotfix,assignment"),
    ("Video frame interpolation for tracking", "feature,video"),
    ("Single sign-on for enterprise customers", "feature,auth"),
    ("COCO and YOLO export", "feature,export"),
)
RUBRIC = ("Stricter review rubric (box tightness, label taxonomy v2)", "review,quality,rubric")
RUBRIC_RELAXED = ("Review rubric: relax box-tightness threshold", "bugfix,review,quality")


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation above 30, Knuth below)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class Clock:
    """Window arithmetic: ``t`` (seconds since start) to UTC datetimes and China local time."""

    def __init__(self, start: datetime, days: int) -> None:
        self.start = start
        self.end = days * DAY
        self.local0 = int((start - _EPOCH).total_seconds()) + CHINA_OFFSET

    def dt(self, t: int | None) -> datetime | None:
        return None if t is None else self.start + timedelta(seconds=t)

    def local_hour(self, t: int) -> int:
        return (self.local0 + t) // HOUR % 24

    def weekend(self, t: int) -> bool:
        return ((self.local0 + t) // DAY + 3) % 7 >= 5  # 1970-01-01 was a Thursday

    def growth(self, t: int) -> float:
        return math.exp(GROWTH_PER_DAY * (t - self.end) / DAY)

    def rhythm(self, t: int, hours: tuple[float, ...], weekend: float) -> float:
        """Activity at ``t`` relative to the weekly mean (which is 1)."""
        mean = sum(hours) * (5 + 2 * weekend) / (7 * 24)
        return hours[self.local_hour(t)] * (weekend if self.weekend(t) else 1) / mean

    def at_local(self, t: int, hour: int, weekdays_only: bool = False) -> int:
        """The first time >= ``t`` that is ``hour``:00 China time (on a weekday if asked)."""
        local = self.local0 + t
        target = local - local % DAY + hour * HOUR
        if target < local:
            target += DAY
        while weekdays_only and self.weekend(target - self.local0):
            target += DAY
        return target - self.local0

    def working(self, rng: random.Random, t: int) -> int:
        """``t`` if reviewers work then (09-22 China time), else next morning."""
        if 9 <= self.local_hour(t) < 22:
            return t
        return self.at_local(t, 9) + rng.randrange(2 * HOUR)


@dataclass
class Plot:
    """The window's events: signup campaign, bad review week, batch uploads, daily noise."""

    campaign: tuple[int, int] | None
    bad_week: tuple[int, int] | None
    bursts: list[tuple[int, int]]  # (hour-aligned start, number of tasks)
    day_noise: list[float] = field(repr=False)

    @classmethod
    def make(cls, config: DemoConfig, clock: Clock) -> Plot:
        rng = random.Random(f"{config.seed}/plot")
        end, campaign, bad_week = clock.end, None, None
        if config.days >= 35:
            start = clock.at_local(int(end * 0.45), 0)
            campaign = (start, start + 6 * DAY)
            rubric = clock.at_local(start + 8 * DAY, 10, weekdays_only=True)
            bad_week = (rubric, rubric + 7 * DAY)
        bursts, count = [], config.days // 25
        for k in range(count):
            t = clock.at_local(int(end * (k + 0.3 + 0.4 * rng.random()) / count), 10, True)
            size = 2.5 * TASKS_PER_DAY * config.scale * clock.growth(t) * rng.uniform(0.8, 1.4)
            if t + 4 * HOUR < end:
                bursts.append((t - t % HOUR, int(size)))
        noise = [rng.lognormvariate(0, 0.12) for _ in range(config.days + 1)]
        return cls(campaign, bad_week, bursts, noise)

    def noise(self, t: int) -> float:
        return self.day_noise[t // DAY]

    def in_campaign(self, t: int) -> bool:
        return self.campaign is not None and self.campaign[0] <= t < self.campaign[1]

    def review_strictness(self, t: int) -> float:
        bad = self.bad_week
        return 1.9 if bad is not None and bad[0] <= t < bad[1] else 1.0


@dataclass
class Project:
    id: int
    slug: str
    name: str
    customer: str
    modality: str
    created: int
    ends: int  # no tasks arrive from here on (clock.end when still active)
    status: str
    weight: float
    difficulty: float
    mu: float  # log-mean of annotation seconds
    seconds_per_label: float

    def row(self, clock: Clock) -> tuple:
        return (
            self.id,
            self.slug,
            self.name,
            self.customer,
            self.modality,
            self.status,
            clock.dt(self.created),
        )


def make_projects(config: DemoConfig, clock: Clock) -> list[Project]:
    """8-20 projects: a few from day one, more joining, two completed and one paused."""
    rng, end = random.Random(f"{config.seed}/projects"), clock.end
    count = max(8, min(20, round(12 + 2 * math.log2(config.scale))))
    created = sorted(
        rng.randrange(1800) if i < 4 else int(end * rng.uniform(0.08, 0.85)) for i in range(count)
    )
    projects, slugs = [], set()
    for pid, t in enumerate(created, 1):
        modality = rng.choices(list(MODALITIES), [m[0] for m in MODALITIES.values()])[0]
        _, mu, per_label, use_cases = MODALITIES[modality]
        customer, name = rng.choice(CUSTOMERS), rng.choice(use_cases)
        slug = re.sub(r"[^a-z0-9]+", "-", f"{customer.split()[0]} {name}".lower()).strip("-")
        slug = f"{slug}-{pid}" if slug in slugs else slug
        slugs.add(slug)
        projects.append(
            Project(
                pid,
                slug,
                name,
                customer,
                modality,
                t,
                end,
                "active",
                rng.lognormvariate(0, 0.6),
                rng.uniform(0.7, 1.4),
                mu + rng.gauss(0, 0.15),
                per_label,
            )
        )
    early = [p for p in projects if p.created < end * 0.4]
    for n, project in enumerate(rng.sample(early, min(3, len(early) - 1))):
        low, high, status = (0.75, 0.95, "paused") if n == 2 else (0.55, 0.9, "completed")
        ends = int(end * rng.uniform(low, high)) // HOUR * HOUR
        if ends > project.created + DAY:
            project.ends, project.status = ends, status
    return projects


def signup_rate(config: DemoConfig, clock: Clock, t: int) -> float:
    rhythm = clock.rhythm(t, SIGNUP_HOURS, SIGNUP_WEEKEND)
    return SIGNUPS_PER_DAY / 24 * config.scale * clock.growth(t) * rhythm


@dataclass
class User:
    id: int
    role: str
    channel: str
    created: int
    onboard: int = -1  # starts working (labellers and reviewers); -1: never does
    churn: int = 0  # stops working
    sloppiness: float = 1.0
    novice_until: int = 0  # rejected more often before this
    login: int = -1  # a last login without work; -1: none
    name: str = ""
    email: str = ""
    country: str = ""

    def row(self, clock: Clock, last_work: int) -> tuple:
        last = max(last_work, self.login)
        return (
            self.id,
            self.email,
            self.name,
            self.role,
            self.country,
            self.channel,
            clock.dt(self.created),
            clock.dt(last) if last >= 0 else None,
        )


def make_users(config: DemoConfig, clock: Clock, plot: Plot) -> list[User]:
    """A founding team and workforce in the first hour, then signups (campaign spike)."""
    rng = random.Random(f"{config.seed}/users")
    specs = []  # (created, role, channel, founding)
    for role, n, exponent in (
        ("admin", 2, 0.5),
        ("manager", 6, 0.5),
        ("reviewer", 15, 1),
        ("labeller", 120, 1),
    ):
        for _ in range(max(1, round(n * config.scale**exponent))):
            channel = "partner" if role == "labeller" else "organic"
            specs.append((rng.randrange(HOUR), role, channel, True))
    for hour in range(config.days * 24):
        t0 = hour * HOUR
        rate = signup_rate(config, clock, t0)
        for _ in range(poisson(rng, rate)):
            channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
            specs.append((t0 + rng.randrange(HOUR), rng.choices(ROLES, ROLE_WEIGHTS)[0], channel, False))
        for _ in range(poisson(rng, rate * 3.5) if plot.in_campaign(t0) else 0):
            specs.append((t0 + rng.randrange(HOUR), "labeller", "campaign", False))
    specs.sort(key=lambda spec: spec[0])
    return [_make_user(rng, clock, uid, *spec) for uid, spec in enumerate(specs, 1)]


def _make_user(
    rng: random.Random, clock: Clock, uid: int, created: int, role: str, channel: str, founding: bool
) -> User:
    user = User(uid, role, channel, created)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    user.name, user.email = f"{first} {last}", f"{first}.{last}.{uid}@example.com".lower()
    user.country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
    campaign = channel == "campaign"
    if role == "labeller" and rng.random() < (1 if founding else 0.5 if campaign else 0.7):
        delay = 0 if founding else int(rng.lognormvariate(math.log(20 * HOUR), 0.8))
        user.onboard = created + delay
        user.churn = user.onboard + int(rng.expovariate(1 / (100 * DAY)))
        user.sloppiness = rng.lognormvariate(0, 0.3) * (1.7 if campaign else 1.0)
        user.novice_until = 0 if founding else user.onboard + 7 * DAY
    elif role == "reviewer" and rng.random() < 0.9:
        user.onboard = created + (0 if founding else int(rng.lognormvariate(math.log(DAY), 0.6)))
        user.churn = user.onboard + int(rng.expovariate(1 / (300 * DAY)))
    if role in ("manager", "admin"):
        user.login = max(created, clock.end - 1 - int(rng.expovariate(1 / (1.5 * DAY))))
    elif rng.random() < 0.55:
        login = created + rng.randrange(60, 3 * DAY)
        user.login = login if login < clock.end else -1
    return user


def make_releases(config: DemoConfig, clock: Clock, plot: Plot) -> list[tuple[Any, ...]]:
    """About ten releases per 90 days, plus the review-rubric release and its fix."""
    rng, end = random.Random(f"{config.seed}/releases"), clock.end
    count, offset = max(1, round(config.days * 10 / 90)), rng.randrange(len(RELEASES))
    planned = []
    for k in range(count):
        at = int(end * (k + 0.3 + 0.4 * rng.random()) / count)
        planned.append(
            (clock.at_local(at, rng.choice((10, 14, 16)), True), RELEASES[(offset + k) % len(RELEASES)])
        )
    if plot.bad_week is not None:
        planned += [(plot.bad_week[0], RUBRIC), (plot.bad_week[1], RUBRIC_RELAXED)]
    minor, patch = rng.randint(8, 20), 0
    rows: list[tuple[Any, ...]] = []
    for at, (title, tags) in sorted(t for t in planned if t[0] < end - HOUR):
        if tags.split(",")[0] in ("bugfix", "hotfix", "maintenance"):
            patch += 1
        else:
            minor, patch = minor + 1, 0
        notes = f"{title}. Rolled out to all regions in a 30-minute canary window."
        rows.append((len(rows) + 1, f"3.{minor}.{patch}", clock.dt(at), title, notes, tags))
    return rows


def make_incidents(
    config: DemoConfig, clock: Clock, plot: Plot, releases: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """A few incidents: an outage, a release regression, the bad week, one still open."""
    rng, end = random.Random(f"{config.seed}/incidents"), clock.end
    # (started, resolved or None, severity, title, description, tags)
    items: list[tuple[int, int | None, str, str, str, str]] = []
    outage = int(end * rng.uniform(0.15, 0.85))
    items.append(
        (
            outage,
            outage + rng.randrange(20 * 60, 50 * 60),
            "sev1",
            "Primary database failover",
            "The labelling tool returned errors while the primary database failed over.",
            "database,outage",
        )
    )
    candidates = [
        r for r in releases if "feature" in r[5] and (r[2] - clock.start).total_seconds() < end - 6 * HOUR
    ]
    if candidates:
        release = rng.choice(candidates)
        at = int((release[2] - clock.start).total_seconds()) + rng.randrange(40 * 60, 2 * HOUR)
        items.append(
            (
                at,
                at + rng.randrange(30 * 60, 150 * 60),
                "sev2",
                f"Annotation saves failing after release {release[1]}",
                "Some saves returned HTTP 500; rolled back, then fixed forward.",
                "regression,release,labelling-ui",
            )
        )
    if plot.bad_week is not None:
        items.append(
            (
                plot.bad_week[0] + 2 * DAY + 3 * HOUR,
                plot.bad_week[1] + 4 * HOUR,
                "sev3",
                "Review rejection rate above 15%",
                "Stricter rubric plus campaign newcomers; rubric relaxed, refresher sent.",
                "quality,review",
            )
        )
    opened = max(0, end - rng.randrange(HOUR, 10 * HOUR))
    items.append(
        (
            opened,
            None,
            "sev2",
            "Elevated task API latency (cn-east)",
            "p95 of the task API above 2 s; investigating the review queue query.",
            "api,latency",
        )
    )
    rows: list[tuple[Any, ...]] = []
    for started, resolved, *rest in sorted(items, key=lambda item: item[0]):
        if resolved is not None:
            resolved = min(resolved, end - 60)
            if resolved <= started:
                continue
        rows.append(
            (len(rows) + 1, rest[1], rest[0], clock.dt(started), clock.dt(resolved), rest[2], rest[3])
        )
    return rows

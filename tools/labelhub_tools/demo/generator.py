"""Deterministic Labelhub demo data: pure row generation, no I/O, no clock reads.

``generate(config)`` yields ``(table, row)`` pairs, each ``row`` a tuple in
``COLUMNS[table]`` order. It streams: memory grows with the number of users and the
task backlog, never with the number of tasks. The same ``DemoConfig`` always yields
the same rows. The story (see docs/demo-data.md): a platform growing over
``[until - days, until)``; customers upload in China working hours (UTC+8); labellers
work days and evenings; batch uploads swell the backlog; a signup campaign brings
sloppy newcomers just as a stricter review rubric ships (the bad week); releases and
incidents to annotate the graphs with, one incident still open.

Rows come out as projects, releases, incidents, canary, then tasks and annotations
interleaved, then users (``last_active_at`` is known once all work is done), so a
loader must not check foreign keys row by row.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from labelhub_tools.demo import story
from labelhub_tools.demo.story import poisson

DEFAULT_SEED = 42
CANARY_ID = 1
CANARY_VALUE = "labelhub-canary-do-not-touch-7f3a9c"
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "email", "name", "role", "country", "signup_channel", "created_at", "last_active_at"),
    "projects": ("id", "slug", "name", "customer", "modality", "status", "created_at"),
    "tasks": (
        "id",
        "project_id",
        "status",
        "priority",
        "created_at",
        "assigned_to",
        "assigned_at",
        "submitted_at",
        "reviewed_at",
        "reviewed_by",
    ),
    "annotations": ("id", "task_id", "labeller_id", "label_count", "duration_s", "created_at"),
    "releases": ("id", "version", "released_at", "title", "notes", "tags"),
    "incidents": ("id", "title", "severity", "started_at", "resolved_at", "description", "tags"),
    "canary": ("id", "value"),
}
TABLES = tuple(COLUMNS)

CAPACITY_RATIO = 1.18  # labelling capacity over a week / regular arrivals over a week
BASE_REJECTION = 0.068
PRIORITIES, PRIORITY_WEIGHTS = (1, 2, 3, 4, 5), (10, 25, 45, 15, 5)
BURST_PRIORITY = 2


@dataclass(frozen=True)
class DemoConfig:
    """All the data depends on. ``until`` is UTC: naive, or aware (converted)."""

    until: datetime
    days: int = 90
    seed: int = DEFAULT_SEED
    scale: float = 1.0

    def __post_init__(self) -> None:
        until = self.until
        if until.tzinfo is not None:
            until = until.astimezone(timezone.utc).replace(tzinfo=None)
        object.__setattr__(self, "until", until.replace(microsecond=0))
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
            raise ValueError(f"days must be a positive integer, not {self.days!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, not {self.seed!r}")
        if (
            isinstance(self.scale, bool)
            or not isinstance(self.scale, (int, float))
            or not 0 < self.scale <= 1000
        ):
            raise ValueError(f"scale must be a number in (0, 1000], not {self.scale!r}")

    @property
    def start(self) -> datetime:
        return self.until - timedelta(days=self.days)


def generate(config: DemoConfig) -> Iterator[tuple[str, tuple]]:
    """Every row of the demo database as ``(table, row)`` pairs, in load order."""
    clock = story.Clock(config.start, config.days)
    plot = story.Plot.make(config, clock)
    projects = story.make_projects(config, clock)
    users = story.make_users(config, clock, plot)
    for project in projects:
        yield "projects", project.row(clock)
    releases = story.make_releases(config, clock, plot)
    for row in releases:
        yield "releases", row
    for row in story.make_incidents(config, clock, plot, releases):
        yield "incidents", row
    yield "canary", (CANARY_ID, CANARY_VALUE)
    sim = _TaskSim(config, clock, plot, projects, users)
    yield from sim.run()
    for user in users:
        yield "users", user.row(clock, sim.last_active[user.id])


def estimate_rows(config: DemoConfig) -> int:
    """Roughly how many rows ``generate`` yields (for progress bars), cheaply."""
    clock = story.Clock(config.start, config.days)
    plot = story.Plot.make(config, clock)
    hours = range(config.days * 24)
    tasks = sum(_arrival_rate(config, clock, plot, h * story.HOUR) for h in hours)
    tasks += sum(size for _, size in plot.bursts)
    users = sum(story.signup_rate(config, clock, h * story.HOUR) for h in hours)
    return int(tasks * 2.55 + users * 1.15 + 40)


def _arrival_rate(config: DemoConfig, clock: story.Clock, plot: story.Plot, t: int) -> float:
    rhythm = clock.rhythm(t, story.UPLOAD_HOURS, story.UPLOAD_WEEKEND)
    return story.TASKS_PER_DAY / 24 * config.scale * clock.growth(t) * rhythm * plot.noise(t)


def _capacity_rate(config: DemoConfig, clock: story.Clock, t: int) -> float:
    rhythm = clock.rhythm(t, story.LABEL_HOURS, story.LABEL_WEEKEND)
    return CAPACITY_RATIO * story.TASKS_PER_DAY / 24 * config.scale * clock.growth(t) * rhythm


class _Pool:
    """Workers of one role, in the order they start working; veterans get more work."""

    def __init__(self, workers: list[story.User]) -> None:
        self.users = sorted(workers, key=lambda u: (u.onboard, u.id))
        self.onboard = [u.onboard for u in self.users]

    def pick(self, rng: random.Random, t: int) -> story.User | None:
        """A worker who has started by ``t`` and not yet left, or None."""
        n = bisect.bisect_right(self.onboard, t)
        if not n:
            return None
        for _ in range(8):
            user = self.users[int(n * rng.random() ** 1.4)]
            if user.churn > t:
                return user
        return next((u for u in reversed(self.users[max(0, n - 64) : n]) if u.churn > t), None)


# A queued task: (-priority, id, created, project); ids follow creation time.
_Task = tuple[int, int, int, story.Project]


class _TaskSim:
    """Hour by hour: tasks arrive into a priority queue, labellers take what capacity allows."""

    def __init__(self, config, clock, plot, projects, users) -> None:
        self.config, self.clock, self.plot, self.projects = config, clock, plot, projects
        self.rng = random.Random(f"{config.seed}/tasks")
        self.labellers = _Pool([u for u in users if u.role == "labeller" and u.onboard >= 0])
        self.reviewers = _Pool([u for u in users if u.role == "reviewer" and u.onboard >= 0])
        self.last_active = [-1] * (len(users) + 1)
        self.queue: list[_Task] = []
        self.next_task = self.next_annotation = 1
        self.bursts = dict(plot.bursts)

    def run(self) -> Iterator[tuple[str, tuple]]:
        for hour in range(self.config.days * 24):
            t0 = hour * story.HOUR
            self._arrive(t0)
            yield from self._assign(t0)
        for task in sorted(self.queue, key=lambda task: task[1]):
            yield "tasks", self._row(task, "queued")

    def _arrive(self, t0: int) -> None:
        rng = self.rng
        active = [p for p in self.projects if p.created <= t0 < p.ends]
        if not active:
            return
        count = poisson(rng, _arrival_rate(self.config, self.clock, self.plot, t0))
        projects = rng.choices(active, [p.weight for p in active], k=count)
        arrivals = [(t0 + rng.randrange(story.HOUR), p, _priority(rng)) for p in projects]
        burst = self.bursts.get(t0, 0)
        if burst:
            project = max(active, key=lambda p: p.weight)
            arrivals += [(t0 + rng.randrange(story.HOUR), project, BURST_PRIORITY) for _ in range(burst)]
        arrivals.sort(key=lambda arrival: arrival[0])
        for created, project, priority in arrivals:
            heapq.heappush(self.queue, (-priority, self.next_task, created, project))
            self.next_task += 1

    def _assign(self, t0: int) -> Iterator[tuple[str, tuple]]:
        rng = self.rng
        capacity = poisson(rng, _capacity_rate(self.config, self.clock, t0))
        for _ in range(min(capacity, len(self.queue))):
            task = self.queue[0]
            assigned = t0 + rng.randrange(story.HOUR)
            if assigned < task[2]:
                assigned = task[2] + rng.randrange(30, 600)
            labeller = self.labellers.pick(rng, assigned)
            if assigned >= self.clock.end or labeller is None:
                return
            heapq.heappop(self.queue)
            yield from self._work(task, labeller, assigned)

    def _work(self, task: _Task, labeller, assigned: int) -> Iterator[tuple[str, tuple]]:
        """Labelling sessions (one annotation each), then submission and review."""
        rng, end, project = self.rng, self.clock.end, task[3]
        t, sessions = assigned + int(rng.lognormvariate(6.5, 1.2)), []  # claimed, not started
        for session in range(1 + (rng.random() < 0.45) + (rng.random() < 0.15)):
            if session:
                t += int(rng.lognormvariate(7.5, 1.0))  # a break, median half an hour
            duration = min(4 * story.HOUR, max(5, int(rng.lognormvariate(project.mu, 0.55))))
            t += duration
            labels = duration / project.seconds_per_label * rng.lognormvariate(0, 0.25)
            sessions.append((max(1, round(labels)), duration, t))
        self._touch(labeller, assigned)
        for labels, duration, at in sessions:
            if at < end:
                self._touch(labeller, at)
                yield (
                    "annotations",
                    (self.next_annotation, task[1], labeller.id, labels, duration, self.clock.dt(at)),
                )
                self.next_annotation += 1
        submitted = t + rng.randrange(1, 30)
        if submitted >= end:
            yield "tasks", self._row(task, "in_progress", labeller, assigned)
        else:
            self._touch(labeller, submitted)
            yield "tasks", self._review(task, labeller, assigned, submitted)

    def _review(self, task: _Task, labeller, assigned: int, submitted: int) -> tuple:
        rng, clock = self.rng, self.clock
        reviewed = clock.working(rng, submitted + int(rng.lognormvariate(9.2, 0.9)))
        reviewer = self.reviewers.pick(rng, reviewed) if reviewed < clock.end else None
        if reviewer is None:
            return self._row(task, "submitted", labeller, assigned, submitted)
        self._touch(reviewer, reviewed)
        risk = BASE_REJECTION * task[3].difficulty * labeller.sloppiness
        risk *= self.plot.review_strictness(reviewed)
        if assigned < labeller.novice_until:
            risk *= 1.4
        status = "rejected" if rng.random() < min(risk, 0.9) else "accepted"
        return self._row(task, status, labeller, assigned, submitted, reviewed, reviewer)

    def _touch(self, user: story.User, t: int) -> None:
        if t > self.last_active[user.id]:
            self.last_active[user.id] = t

    def _row(
        self,
        task: _Task,
        status: str,
        labeller=None,
        assigned=None,
        submitted=None,
        reviewed=None,
        reviewer=None,
    ) -> tuple:
        dt = self.clock.dt
        return (
            task[1],
            task[3].id,
            status,
            -task[0],
            dt(task[2]),
            labeller.id if labeller else None,
            dt(assigned),
            dt(submitted),
            dt(reviewed),
            reviewer.id if reviewer else None,
        )


def _priority(rng: random.Random) -> int:
    return rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]

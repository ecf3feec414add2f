"""Generating a wave's assignments, and a planner's override of the shopper.

Rules (DOMAIN.md "Mystery shopping"), all checked against every assignment of any wave that
was not declined or cancelled:
- rotation: a shopper does not visit the same branch again within the wave's rotation_days;
- declared conflicts (ShopperConflict) are never assigned;
- daily cap: at most wave.daily_cap visits per shopper per (branch-local) day;
- spread: a branch's visits go to different weekdays where the wave has enough of them,
  alternating morning and afternoon windows, and visits are spread across the wave's days;
- a shopper who declined a branch's visit in this wave is not offered it again.
Generation fills what is missing (visits_per_branch per branch, or per agent when the wave
names agents), so running it twice creates nothing new; declined and cancelled assignments
leave a place to fill again. Functions flush; the caller commits.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core import audit
from qms.extensions import db
from qms.mystery.models import ShopAssignment, ShopperConflict, Wave
from qms.mystery.waves import PlanningError, wave_branches, wave_shoppers
from qms.org.models import Agent, Branch

INACTIVE = ("declined", "cancelled")
REASSIGNABLE = ("offered", "accepted", "declined")
SLOTS = ((time(9, 30), time(11, 30)), (time(14, 0), time(16, 0)))  # branch-local
REASONS = {
    "no_shoppers": _l("There is no active shopper in the wave's pool."),
    "conflict": _l("The shopper declared a conflict with this branch."),
    "declined": _l("The shopper declined this visit."),
    "rotation": _l("The shopper visited this branch within the rotation period."),
    "daily_cap": _l("The shopper already has the daily maximum of visits that day."),
    "not_shopper": _l("The user is not an active mystery shopper."),
    "not_in_pool": _l("The shopper is not in the wave's pool."),
}
PRECEDENCE = ("conflict", "declined", "rotation", "daily_cap")


@dataclass(frozen=True)
class Unplaced:
    branch_id: int
    agent_id: int | None
    visit: int                 # 1-based number of the visit at that branch/agent
    reason_code: str           # the rule that excluded most shoppers
    blocked: dict              # rule -> number of shoppers it excluded

    @property
    def reason(self) -> str:
        return str(REASONS[self.reason_code])


@dataclass
class Generation:
    created: list[ShopAssignment] = field(default_factory=list)
    kept: int = 0
    unplaced: list[Unplaced] = field(default_factory=list)


def wave_days(wave: Wave) -> list[date]:
    """Monday to Friday within the wave (every day if it has no weekday)."""
    days = [wave.starts_on + timedelta(days=i)
            for i in range((wave.ends_on - wave.starts_on).days + 1)]
    return [d for d in days if d.weekday() < 5] or days


def _window(branch: Branch, day: date, slot: int) -> tuple[datetime, datetime]:
    tz = ZoneInfo(branch.timezone or "Asia/Shanghai")
    start, end = SLOTS[slot]
    return (datetime.combine(day, start, tzinfo=tz).astimezone(UTC),
            datetime.combine(day, end, tzinfo=tz).astimezone(UTC))


def _local_day(moment: datetime, tz_name: str | None) -> date:
    return moment.astimezone(ZoneInfo(tz_name or "Asia/Shanghai")).date()


def _day_slot(moment: datetime, tz_name: str | None) -> tuple[date, int]:
    """The branch-local day of a window and whether it is the morning (0) or afternoon (1)."""
    local = moment.astimezone(ZoneInfo(tz_name or "Asia/Shanghai"))
    return local.date(), 0 if local.hour < 12 else 1


class _Book:
    """What the rules look at: other visits of the shoppers (any wave), conflicts, declines."""

    def __init__(self, wave: Wave, shopper_ids: list[int], exclude_id: int | None = None):
        self.rotation = timedelta(days=wave.rotation_days)
        self.cap = wave.daily_cap
        self.per_day: Counter = Counter()                 # (shopper, local day) -> visits
        self.visits: dict = defaultdict(list)             # (shopper, branch) -> [start]
        self.load: Counter = Counter()                    # shopper -> visits in this wave
        self.declined: set = set()                        # (shopper, branch, agent) this wave
        rows = db.session.execute(
            sa.select(ShopAssignment.id, ShopAssignment.wave_id, ShopAssignment.shopper_id,
                      ShopAssignment.branch_id, ShopAssignment.agent_id,
                      ShopAssignment.window_start, ShopAssignment.status, Branch.timezone)
            .join(Branch, Branch.id == ShopAssignment.branch_id)
            .where(ShopAssignment.shopper_id.in_(shopper_ids))).all()
        for aid, wave_id, shopper, branch, agent, start, status, tz in rows:
            if aid == exclude_id:
                continue
            if status in INACTIVE:
                if wave_id == wave.id and status == "declined":
                    self.declined.add((shopper, branch, agent))
                continue
            self.add(shopper, branch, start, tz, this_wave=wave_id == wave.id)
        self.conflicts = set(db.session.execute(
            sa.select(ShopperConflict.shopper_id, ShopperConflict.branch_id)
            .where(ShopperConflict.shopper_id.in_(shopper_ids))).all())

    def add(self, shopper: int, branch: int, start: datetime, tz: str | None,
            this_wave: bool = True) -> None:
        self.per_day[(shopper, _local_day(start, tz))] += 1
        self.visits[(shopper, branch)].append(start)
        if this_wave:
            self.load[shopper] += 1

    def broken(self, shopper: int, branch: Branch, agent_id: int | None,
               start: datetime) -> list[str]:
        """The rules a visit by `shopper` at `start` would break, in PRECEDENCE order."""
        out = []
        if (shopper, branch.id) in self.conflicts:
            out.append("conflict")
        if (shopper, branch.id, agent_id) in self.declined:
            out.append("declined")
        if self.rotation and any(abs(start - other) < self.rotation
                                 for other in self.visits[(shopper, branch.id)]):
            out.append("rotation")
        if self.per_day[(shopper, _local_day(start, branch.timezone))] >= self.cap:
            out.append("daily_cap")
        return out


def _targets(wave: Wave) -> list[tuple[Branch, int | None]]:
    """(branch, agent id) pairs shopped visits_per_branch times each."""
    if wave.agent_ids:
        agents = db.session.scalars(sa.select(Agent).where(Agent.id.in_(wave.agent_ids))
                                    .order_by(Agent.id)).all()
        return [(a.branch, a.id) for a in agents]
    return [(b, None) for b in wave_branches(wave)]


def _window_order(days: list[date], used: list[tuple[date, int]], n: int, visit: int,
                  offset: int) -> list[tuple[date, int]]:
    """Candidate (day, slot) windows for a target's next visit, best first: a weekday it does
    not have yet, then a day it does not have, the slot it has fewer of, near the day the
    visit would fall on if the target's n visits were spread evenly over the wave."""
    weekdays = Counter(d.weekday() for d, _s in used)
    used_days = {d for d, _s in used}
    slots = Counter(s for _d, s in used)
    preferred_slot = (offset + visit) % len(SLOTS)
    aim = (offset + visit * max(1, len(days) // max(n, 1))) % len(days)

    def rank(item):
        i, (day, slot) = item
        return (weekdays[day.weekday()], day in used_days, slots[slot],
                slot != preferred_slot, min(abs(i // len(SLOTS) - aim),
                                            len(days) - abs(i // len(SLOTS) - aim)))

    windows = [(d, s) for d in days for s in range(len(SLOTS))]
    return [w for _i, w in sorted(enumerate(windows), key=rank)]


def generate_assignments(wave: Wave, *, now: datetime, seed: int = 0) -> Generation:
    """Create the wave's missing assignments (status "offered"); report what could not be
    placed and why. Deterministic for a wave's state and seed."""
    rng = random.Random(f"{seed}:{wave.id}")
    shoppers = [u.id for u in wave_shoppers(wave)]
    rng.shuffle(shoppers)  # ties between equally loaded shoppers go by this order
    tiebreak = {s: i for i, s in enumerate(shoppers)}
    book = _Book(wave, shoppers)
    existing = db.session.execute(
        sa.select(ShopAssignment.branch_id, ShopAssignment.agent_id, ShopAssignment.window_start,
                  ShopAssignment.status).where(ShopAssignment.wave_id == wave.id)).all()
    days = wave_days(wave)
    result = Generation()
    offset = rng.randrange(len(days))
    for index, (branch, agent_id) in enumerate(_targets(wave)):
        used = [_day_slot(start, branch.timezone) for b, a, start, status in existing
                if b == branch.id and a == agent_id and status not in INACTIVE]
        result.kept += len(used)
        for visit in range(len(used), wave.visits_per_branch):
            scenario = wave.scenarios[(index + visit) % len(wave.scenarios)] \
                if wave.scenarios else None
            placed = _place(wave, book, shoppers, tiebreak, branch, agent_id, scenario,
                            _window_order(days, used, wave.visits_per_branch, visit,
                                          offset + index), now)
            if isinstance(placed, ShopAssignment):
                result.created.append(placed)
                used.append(_day_slot(placed.window_start, branch.timezone))
            else:
                code = "no_shoppers" if not shoppers else placed.most_common(1)[0][0]
                result.unplaced.append(Unplaced(branch.id, agent_id, visit + 1, code,
                                                dict(placed)))
    db.session.flush()
    return result


def _place(wave, book, shoppers, tiebreak, branch, agent_id, scenario, windows, now):
    """The new assignment, or a Counter of why each shopper could not take any window."""
    why: dict[int, set] = defaultdict(set)
    for day, slot in windows:
        start, end = _window(branch, day, slot)
        free = []
        for s in shoppers:
            broken = book.broken(s, branch, agent_id, start)
            if broken:
                why[s].update(broken)
            else:
                free.append(s)
        if free:
            shopper = min(free, key=lambda s: (book.load[s], tiebreak[s]))
            a = ShopAssignment(
                wave_id=wave.id, version_id=wave.version_id, shopper_id=shopper,
                branch_id=branch.id, agent_id=agent_id, scenario=scenario, window_start=start,
                window_end=end, due_at=end + timedelta(days=wave.days_to_submit),
                status="offered", created_at=now)
            db.session.add(a)
            book.add(shopper, branch.id, start, branch.timezone)
            return a
    return Counter(next(r for r in PRECEDENCE if r in rules) for rules in why.values())


# -- the planner's override ------------------------------------------------------------------

def broken_rules(a: ShopAssignment, shopper) -> list[str]:
    """Codes of the rules giving assignment `a` to `shopper` would break (REASONS)."""
    wave = db.session.get(Wave, a.wave_id)
    if shopper is None or not shopper.active or not shopper.has_role("shopper"):
        return ["not_shopper"]
    codes = [] if wave.shopper_ids is None or shopper.id in wave.shopper_ids \
        else ["not_in_pool"]
    book = _Book(wave, [shopper.id], exclude_id=a.id)
    if shopper.id == a.shopper_id and a.status == "declined":
        book.declined.discard((shopper.id, a.branch_id, a.agent_id))
    return codes + book.broken(shopper.id, a.branch, a.agent_id, a.window_start)


def reassign(a: ShopAssignment, shopper, *, by, now: datetime, force: bool = False) -> list[str]:
    """Give an assignment not yet started to another shopper (it is offered to them afresh).

    Refuses with the broken rules unless force=True; a forced override keeps the rules it
    broke in override_warning. Returns the codes of the rules overridden."""
    if a.status not in REASSIGNABLE:
        raise PlanningError({"": _l("Only an assignment not yet started can be reassigned.")})
    codes = broken_rules(a, shopper)
    if "not_shopper" in codes:
        raise PlanningError({"shopper_id": REASONS["not_shopper"]})
    if codes and not force:
        raise PlanningError({"shopper_id": "; ".join(str(REASONS[c]) for c in codes)})
    before = a.shopper_id
    a.shopper_id = shopper.id
    a.status = "offered"
    a.override_warning = "; ".join(codes) if codes else None
    audit.record("mystery.reassign", actor=by, subject=f"shop_assignment:{a.id}",
                 details={"from": before, "to": shopper.id, "overridden": codes}, now=now)
    db.session.flush()
    return codes


def cancel_assignment(a: ShopAssignment, *, by, now: datetime) -> None:
    if a.status not in REASSIGNABLE:
        raise PlanningError({"": _l("Only an assignment not yet started can be cancelled.")})
    a.status = "cancelled"
    audit.record("mystery.cancel", actor=by, subject=f"shop_assignment:{a.id}", now=now)
    db.session.flush()


def warning_text(codes: str | None) -> str:
    """override_warning (codes joined by "; ") in the reader's language."""
    return "; ".join(str(REASONS.get(c, c)) for c in (codes or "").split("; ") if c)

"""Policies to and from JSON-safe dicts, with the checks an admin's custom policy must pass."""

from __future__ import annotations

import re
from dataclasses import asdict, fields
from typing import Any

import holidays

from qms.complaints.sla.clock import zone
from qms.complaints.sla.policy import (
    DEADLINE,
    KINDS,
    RECEIPT,
    STARTS,
    UNITS,
    Milestone,
    PauseRule,
    Policy,
)
from qms.config import ROLES

SCHEMA = 1
MAX_COUNT = 3660  # ten years of days; anything longer is a typo

_CODE = re.compile(r"[A-Z][A-Z0-9_]{1,31}")  # sla_policies.code is String(32)
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_POLICY_KEYS = {"schema", "code", "name", "calendar", "timezone", "milestones", "pauses",
                "restart_on_new_facts", "basis"}
_MILESTONE_KEYS = {f.name for f in fields(Milestone)}
_PAUSE_KEYS = {f.name for f in fields(PauseRule)}


class PolicyError(ValueError):
    """A policy definition that does not validate; `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "code": policy.code,
        "name": policy.name,
        "calendar": {"country": policy.country, "subdiv": policy.subdiv},
        "timezone": policy.timezone,
        "restart_on_new_facts": policy.restart_on_new_facts,
        "basis": policy.basis,
        "milestones": {name: asdict(m) for name, m in policy.milestones.items()},
        "pauses": {name: asdict(p) for name, p in policy.pauses.items()},
    }


def policy_from_dict(data: dict[str, Any]) -> Policy:
    """The policy a dict describes; PolicyError (a ValueError) lists what is wrong with it."""
    problems = validate_policy_dict(data)
    if problems:
        raise PolicyError(problems)
    calendar = data["calendar"]
    return Policy(
        code=data["code"],
        name=data["name"],
        country=calendar["country"],
        subdiv=calendar.get("subdiv"),
        timezone=data["timezone"],
        milestones={n: Milestone(**m) for n, m in data["milestones"].items()},
        pauses={n: PauseRule(**p) for n, p in (data.get("pauses") or {}).items()},
        restart_on_new_facts=data.get("restart_on_new_facts", False),
        basis=data.get("basis", ""),
    )


def validate_policy_dict(data: Any) -> list[str]:
    """Every problem with a policy dict, as 'path: what is wrong'; empty when it is usable."""
    if not isinstance(data, dict):
        return ["policy: must be an object"]
    problems = [f"{key}: unknown field" for key in sorted(set(data) - _POLICY_KEYS)]
    if data.get("schema", SCHEMA) != SCHEMA:
        problems.append(f"schema: only version {SCHEMA} is understood")
    if not isinstance(data.get("code"), str) or not _CODE.fullmatch(data["code"]):
        problems.append("code: 2 to 32 capitals, digits or underscores, starting with a letter")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        problems.append("name: required")
    problems += _check_calendar(data.get("calendar"))
    try:
        if not isinstance(data.get("timezone"), str):
            raise ValueError
        zone(data["timezone"])
    except ValueError:
        problems.append(f"timezone: unknown time zone {data.get('timezone')!r}")
    for key in ("restart_on_new_facts",):
        if not isinstance(data.get(key, False), bool):
            problems.append(f"{key}: must be true or false")
    if not isinstance(data.get("basis", ""), str):
        problems.append("basis: must be text")
    problems += _check_milestones(data.get("milestones"))
    problems += _check_pauses(data.get("pauses", {}))
    return problems


def _check_calendar(cal: Any) -> list[str]:
    if not isinstance(cal, dict):
        return ["calendar: must be an object with country (and subdiv)"]
    problems = [f"calendar.{key}: unknown field" for key in sorted(set(cal) - {"country",
                                                                             "subdiv"})]
    supported = holidays.list_supported_countries()
    country, subdiv = cal.get("country"), cal.get("subdiv")
    if country not in supported:
        problems.append(f"calendar.country: {country!r} is not a holidays-library country")
    elif subdiv is not None and subdiv not in supported[country]:
        problems.append(f"calendar.subdiv: {subdiv!r} is not a subdivision of {country}")
    return problems


def _check_milestones(milestones: Any) -> list[str]:
    if not isinstance(milestones, dict) or not milestones:
        return ["milestones: at least one milestone is required"]
    problems = []
    for name, m in milestones.items():
        problems += _check_milestone(name, m, milestones)
    final = milestones.get("final")
    if not isinstance(final, dict):
        problems.append("milestones.final: required (the decision deadline)")
    elif final.get("start", RECEIPT) != RECEIPT or final.get("kind", DEADLINE) != DEADLINE:
        problems.append("milestones.final: must be a deadline counted from receipt")
    problems += _check_extension_cycles(milestones)
    return problems


def _check_milestone(name: Any, m: Any, milestones: dict) -> list[str]:
    at = f"milestones.{name}"
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return [f"{at}: name must be lower-case letters, digits and underscores"]
    if not isinstance(m, dict):
        return [f"{at}: must be an object"]
    problems = [f"{at}.{key}: unknown field" for key in sorted(set(m) - _MILESTONE_KEYS)]
    count = m.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        problems.append(f"{at}.count: a whole number from 1 to {MAX_COUNT}")
    for key, allowed, default in (("unit", UNITS, None), ("start", STARTS, RECEIPT),
                                  ("kind", KINDS, DEADLINE)):
        if m.get(key, default) not in allowed:
            problems.append(f"{at}.{key}: one of {', '.join(allowed)}")
    for key in ("roll_forward", "notify_customer", "statutory"):
        if not isinstance(m.get(key, False), bool):
            problems.append(f"{at}.{key}: must be true or false")
    if not isinstance(m.get("basis", ""), str):
        problems.append(f"{at}.basis: must be text")
    role = m.get("approver_role")
    if role is not None and role not in ROLES:
        problems.append(f"{at}.approver_role: one of {', '.join(ROLES)}")
    problems += _check_extends(at, name, m, milestones)
    return problems


def _check_extends(at: str, name: str, m: dict, milestones: dict) -> list[str]:
    base_name = m.get("extends")
    if base_name is None:
        return []
    base = milestones.get(base_name) if isinstance(base_name, str) else None
    if base_name == name or not isinstance(base, dict):
        return [f"{at}.extends: must name another milestone"]
    if base.get("start", RECEIPT) != m.get("start", RECEIPT):
        return [f"{at}.extends: an extension counts from the same event as {base_name}"]
    counts = (m.get("count"), base.get("count"))
    if (m.get("unit") == base.get("unit") and all(type(c) is int for c in counts)
            and counts[0] <= counts[1]):
        return [f"{at}.count: an extension must allow more time than {base_name}"]
    return []


def _check_extension_cycles(milestones: dict) -> list[str]:
    problems = []
    for name in milestones:
        seen, current = {name}, milestones[name]
        while isinstance(current, dict) and isinstance(current.get("extends"), str) \
                and current["extends"] in milestones:
            if current["extends"] in seen:
                problems.append(f"milestones.{name}.extends: extensions form a loop")
                break
            seen.add(current["extends"])
            current = milestones[current["extends"]]
    return problems


def _check_pauses(pauses: Any) -> list[str]:
    if not isinstance(pauses, dict):
        return ["pauses: must be an object"]
    problems = []
    for name, p in pauses.items():
        at = f"pauses.{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append(f"{at}: name must be lower-case letters, digits and underscores")
        elif not isinstance(p, dict):
            problems.append(f"{at}: must be an object")
        else:
            problems += [f"{at}.{key}: unknown field" for key in sorted(set(p) - _PAUSE_KEYS)]
            if not isinstance(p.get("notice_required", True), bool):
                problems.append(f"{at}.notice_required: must be true or false")
            if not isinstance(p.get("basis", ""), str):
                problems.append(f"{at}.basis: must be text")
    return problems

"""SLA engine against hand-counted dates: CN with 调休, UK business days, US calendar days."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from qms.complaints import sla
from qms.complaints.sla import workdays

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def at(day: str, tz, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=tz)


def d(day: str) -> date:
    return date.fromisoformat(day)


# --- the holidays library's China calendar, which the CN cases below rest on -----------------

@pytest.mark.parametrize("day, working", [
    ("2024-09-14", True),   # Saturday worked for the Mid-Autumn break
    ("2024-09-29", True),   # Sunday worked for National Day
    ("2024-10-12", True),   # Saturday worked for National Day
    ("2025-09-28", True),   # Sunday worked for National Day
    ("2025-10-11", True),   # Saturday worked for National Day
    ("2026-01-04", True),   # Sunday worked for New Year 2026
    ("2024-02-18", True),   # Sunday worked for Spring Festival 2024
    ("2011-12-31", True),   # Saturday worked for New Year 2012: recorded with the 2012 notice
    ("2024-10-07", False),  # Monday in the golden week
    ("2025-10-08", False),  # Wednesday in the golden week
    ("2025-05-05", False),  # Monday, Labour Day break
    ("2025-03-22", False),  # an ordinary Saturday
    ("2025-03-18", True),   # an ordinary Tuesday
])
def test_china_working_days_include_adjusted_days(day, working):
    assert workdays.is_working_day("CN", None, d(day)) is working


# --- CN_NFRA_2020: 15 / 30 / 60 calendar days, rolled to the next working day ----------------

@pytest.mark.parametrize("received, milestone, due", [
    # Mon 2025-03-03 + 15 = Tue 03-18, a working day
    ("2025-03-03", "final", "2025-03-18"),
    # + 30 = Wed 04-02 (Qingming is Fri 04-04)
    ("2025-03-03", "final_extended", "2025-04-02"),
    # + 60 = Fri 05-02, inside the Labour Day break 05-01..05-05 -> Tue 05-06
    ("2025-03-03", "final_max", "2025-05-06"),
    # Fri 2025-03-07 + 15 = Sat 03-22 -> Mon 03-24
    ("2025-03-07", "final", "2025-03-24"),
    # Sat 2025-03-08 + 15 = Sun 03-23 -> Mon 03-24
    ("2025-03-08", "final", "2025-03-24"),
    # Fri 2025-03-07 + 30 = Sun 04-06, after Qingming Fri 04-04 and the weekend -> Mon 04-07
    ("2025-03-07", "final_extended", "2025-04-07"),
    # + 60 = Tue 05-06, the first day back after Labour Day: no roll
    ("2025-03-07", "final_max", "2025-05-06"),
    # Wed 2025-09-17 + 15 = Thu 10-02; 10-01..10-08 are off -> Thu 10-09
    ("2025-09-17", "final", "2025-10-09"),
    # Mon 2024-09-16 + 15 = Tue 10-01; 10-01..10-07 are off -> Tue 10-08
    ("2024-09-16", "final", "2024-10-08"),
    # Sat 2024-09-14 + 15 = Sun 09-29, an official working day: due that Sunday
    ("2024-09-14", "final", "2024-09-29"),
    # Fri 2024-09-27 + 15 = Sat 10-12, an official working day: due that Saturday
    ("2024-09-27", "final", "2024-10-12"),
    # Sat 2025-09-13 + 15 = Sun 09-28, an official working day
    ("2025-09-13", "final", "2025-09-28"),
    # Fri 2025-09-26 + 15 = Sat 10-11, an official working day
    ("2025-09-26", "final", "2025-10-11"),
    # Thu 2025-12-18 + 15 = Fri 2026-01-02; 01-01..01-03 off -> Sun 2026-01-04, worked
    ("2025-12-18", "final", "2026-01-04"),
    # Wed 2024-01-31 + 15 = Thu 02-15; Spring Festival 02-10..02-17 -> Sun 02-18, worked
    ("2024-01-31", "final", "2024-02-18"),
])
def test_cn_due_dates(received, milestone, due):
    assert sla.due_date("CN_NFRA_2020", milestone, at(received, SHANGHAI)) == d(due)


@pytest.mark.parametrize("moment, due", [
    # 23:30 in Shanghai on Fri 03-07 is 15:30 UTC the same day: Shanghai date 03-07 -> 03-24
    (datetime(2025, 3, 7, 15, 30, tzinfo=UTC), "2025-03-24"),
    # 00:30 in Shanghai on Fri 03-07 is 16:30 UTC on Thu 03-06: still Shanghai's 03-07 -> 03-24
    # (counting the UTC date 03-06 would give Fri 03-21)
    (datetime(2025, 3, 6, 16, 30, tzinfo=UTC), "2025-03-24"),
    # 23:59 Shanghai on Thu 03-06 (15:59 UTC): 03-06 + 15 = Fri 03-21
    (datetime(2025, 3, 6, 15, 59, tzinfo=UTC), "2025-03-21"),
])
def test_cn_counts_by_the_shanghai_date(moment, due):
    assert sla.due_date("CN_NFRA_2020", "final", moment) == d(due)


def test_branch_zone_overrides_the_policy_zone():
    moment = datetime(2025, 3, 6, 16, 30, tzinfo=UTC)  # Fri 00:30 Shanghai, Thu 16:30 London
    assert sla.due_date("CN_NFRA_2020", "final", moment, tz="Europe/London") == d("2025-03-21")
    assert sla.due_date("CN_NFRA_2020", "final", moment, tz=SHANGHAI) == d("2025-03-24")


# --- UK_FCA_DISP -------------------------------------------------------------------------------

@pytest.mark.parametrize("received, due", [
    # Mon 03-03: Tue 1, Wed 2, Thu 3
    ("2025-03-03", "2025-03-06"),
    # Thu 03-06: Fri 1, Mon 2, Tue 3
    ("2025-03-06", "2025-03-11"),
    # Fri 03-07: Mon 1, Tue 2, Wed 3
    ("2025-03-07", "2025-03-12"),
    # Sat 03-08: the day after receipt is Sunday; Mon 1, Tue 2, Wed 3
    ("2025-03-08", "2025-03-12"),
    # Wed 2025-04-16: Thu 17 = 1; Good Friday 18, weekend, Easter Monday 21; Tue 22 = 2, Wed 23 = 3
    ("2025-04-16", "2025-04-23"),
    # Thu 2025-04-17: Tue 22, Wed 23, Thu 24
    ("2025-04-17", "2025-04-24"),
    # Mon 2024-12-23: Tue 24 = 1; Christmas 25, Boxing Day 26; Fri 27 = 2, Mon 30 = 3
    ("2024-12-23", "2024-12-30"),
    # Tue 2024-12-24: Fri 27, Mon 30, Tue 31
    ("2024-12-24", "2024-12-31"),
    # Fri 2024-12-27: Mon 30, Tue 31; New Year's Day Wed 01-01; Thu 2025-01-02 = 3
    ("2024-12-27", "2025-01-02"),
])
def test_uk_summary_resolution_is_the_third_business_day(received, due):
    assert sla.due_date("UK_FCA_DISP", "summary", at(received, LONDON)) == d(due)


@pytest.mark.parametrize("received, milestone, due", [
    # Thu 03-06 + 56 days = Thu 05-01
    ("2025-03-06", "final", "2025-05-01"),
    # Mon 03-10 + 56 = Mon 05-05, the May Day bank holiday: weeks are not rolled
    ("2025-03-10", "final", "2025-05-05"),
    # Sat 03-08 + 56 = Sat 05-03, not rolled either
    ("2025-03-08", "final", "2025-05-03"),
    # PSD, Wed 04-16: Apr 17, 22, 23, 24, 25, 28, 29, 30, May 1, 2 (10); May 5 bank holiday;
    # May 6, 7, 8, 9, 12 (15)
    ("2025-04-16", "final_psd", "2025-05-12"),
    # records: 3 years from receipt
    ("2025-03-06", "records_retention", "2028-03-06"),
    ("2024-02-29", "records_retention", "2027-02-28"),
])
def test_uk_final_and_other_limits(received, milestone, due):
    assert sla.due_date("UK_FCA_DISP", milestone, at(received, LONDON)) == d(due)


@pytest.mark.parametrize("decided, due", [
    ("2025-05-01", "2025-11-01"),
    ("2025-08-31", "2026-02-28"),  # no 31 February: the month's last day
])
def test_uk_ombudsman_referral_window_runs_six_months_from_the_final_response(decided, due):
    due_on = sla.due_date("UK_FCA_DISP", "ombudsman_referral", at("2025-03-06", LONDON),
                          decided_at=at(decided, LONDON))
    assert due_on == d(due)


# --- US_CFPB: calendar days, nothing rolled ---------------------------------------------------

@pytest.mark.parametrize("received, milestone, due", [
    ("2025-03-06", "final", "2025-03-21"),           # Thu + 15 = Fri
    ("2025-03-06", "final_extended", "2025-05-05"),  # + 60: Mar 25 days left, Apr 30, May 5
    ("2025-03-07", "final", "2025-03-22"),           # Fri + 15 = Sat, not rolled
    ("2025-06-04", "final", "2025-06-19"),           # lands on Juneteenth, not rolled
])
def test_us_cfpb(received, milestone, due):
    assert sla.due_date("US_CFPB", milestone, at(received, NEW_YORK)) == d(due)


def test_us_counts_by_the_new_york_date():
    # 03:00 UTC on Fri 03-07 is 22:00 EST on Thu 03-06 -> 03-06 + 15 = 03-21
    assert sla.due_date("US_CFPB", "final", datetime(2025, 3, 7, 3, tzinfo=UTC)) == d("2025-03-21")


# --- pauses, restarts, reviews ------------------------------------------------------------------

@pytest.mark.parametrize("paused, due", [
    (0, "2025-03-18"),
    (3, "2025-03-21"),  # 03-03 + 3 + 15 = Fri 03-21
    (5, "2025-03-24"),  # 03-03 + 5 + 15 = Sun 03-23 -> Mon 03-24
])
def test_cn_pauses_add_whole_days(paused, due):
    received = at("2025-03-03", SHANGHAI)
    assert sla.due_date("CN_NFRA_2020", "final", received, paused_days=paused) == d(due)


def test_pauses_do_not_move_the_customers_review_window():
    received, decided = at("2025-03-03", SHANGHAI), at("2025-03-18", SHANGHAI)
    assert sla.due_date("CN_NFRA_2020", "review_request", received, paused_days=10,
                        decided_at=decided) == d("2025-04-17")


def test_restart_counts_from_the_new_material():
    received = at("2025-03-03", SHANGHAI)
    restarted = at("2025-03-10", SHANGHAI, hour=14)
    # Mon 03-10 + 15 = Tue 03-25
    assert sla.due_date("CN_NFRA_2020", "final", received, restarted_at=restarted) \
        == d("2025-03-25")
    # + 30 = Wed 04-09; a pause after the restart still adds: + 2 = Fri 04-11
    assert sla.due_date("CN_NFRA_2020", "final_extended", received, restarted_at=restarted,
                        paused_days=2) == d("2025-04-11")


@pytest.mark.parametrize("milestone, kwargs, due", [
    # decision reached the customer Tue 03-18; + 30 = Thu 04-17
    ("review_request", {"decided_at": at("2025-03-18", SHANGHAI)}, "2025-04-17"),
    # decision Mon 2025-09-01 + 30 = Wed 10-01 (National Day) -> Thu 10-09
    ("review_request", {"decided_at": at("2025-09-01", SHANGHAI)}, "2025-10-09"),
    # applied Thu 04-10 + 30 = Sat 05-10 -> Mon 05-12
    ("review_decision", {"applied_at": at("2025-04-10", SHANGHAI)}, "2025-05-12"),
    # applied Sat 2025-03-29 + 30 = Mon 04-28, a normal Monday
    ("review_decision", {"applied_at": at("2025-03-29", SHANGHAI)}, "2025-04-28"),
])
def test_cn_review_windows(milestone, kwargs, due):
    assert sla.due_date("CN_NFRA_2020", milestone, at("2025-03-03", SHANGHAI), **kwargs) == d(due)


def test_deadlines_lists_the_milestones_whose_start_has_happened():
    received = at("2025-03-03", SHANGHAI)
    assert sla.deadlines("CN_NFRA_2020", received) == {
        "acknowledge": d("2025-03-10"),   # 5 working days: Mar 4, 5, 6, 7, 10
        "final": d("2025-03-18"),
        "final_extended": d("2025-04-02"),
        "final_max": d("2025-05-06"),
    }
    later = sla.deadlines("CN_NFRA_2020", received, decided_at=at("2025-03-18", SHANGHAI),
                          applied_at=at("2025-04-10", SHANGHAI))
    assert later["review_request"] == d("2025-04-17")
    assert later["review_decision"] == d("2025-05-12")


def test_extension_tiers_follow_extends():
    assert sla.extension_tiers(sla.PRESETS["CN_NFRA_2020"]) == (
        "final", "final_extended", "final_max")
    assert sla.extension_tiers(sla.PRESETS["UK_FCA_DISP"], "final_psd") == (
        "final_psd", "final_psd_max")
    cn = sla.PRESETS["CN_NFRA_2020"].milestones
    assert (cn["final_extended"].approver_role, cn["final_max"].approver_role) == (
        "complaints", "admin")
    assert sla.PRESETS["CN_NFRA_2020"].pauses["external_appraisal"].notice_required


# --- refusals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: sla.due_date("XX_NONE", "final", at("2025-03-03", SHANGHAI)),
    lambda: sla.due_date("CN_NFRA_2020", "summary", at("2025-03-03", SHANGHAI)),
    lambda: sla.due_date("UK_FCA_DISP", "final_max", at("2025-03-03", LONDON)),
    lambda: sla.due_date("CN_NFRA_2020", "final", datetime(2025, 3, 3, 10)),
    lambda: sla.due_date("CN_NFRA_2020", "final", date(2025, 3, 3)),
    lambda: sla.due_date("CN_NFRA_2020", "final", at("2025-03-03", SHANGHAI),
                         restarted_at=datetime(2025, 3, 5)),
    lambda: sla.due_date("CN_NFRA_2020", "review_request", at("2025-03-03", SHANGHAI),
                         decided_at=datetime(2025, 3, 18)),
    lambda: sla.due_date("CN_NFRA_2020", "review_request", at("2025-03-03", SHANGHAI)),
    lambda: sla.due_date("CN_NFRA_2020", "review_decision", at("2025-03-03", SHANGHAI)),
    lambda: sla.due_date("CN_NFRA_2020", "final", at("2025-03-03", SHANGHAI), tz="Mars/Base"),
    lambda: sla.due_date("CN_NFRA_2020", "final", at("2025-03-03", SHANGHAI), paused_days=-1),
    lambda: sla.due_date("CN_NFRA_2020", "final", at("2025-03-03", SHANGHAI),
                         restarted_at=at("2025-03-01", SHANGHAI)),
    # DISP has no pause and no restart
    lambda: sla.due_date("UK_FCA_DISP", "final", at("2025-03-03", LONDON), paused_days=2),
    lambda: sla.due_date("UK_FCA_DISP", "final", at("2025-03-03", LONDON),
                         restarted_at=at("2025-03-05", LONDON)),
])
def test_refusals_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


# --- policy dicts -------------------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(sla.PRESETS))
def test_preset_round_trips_through_json(code):
    policy = sla.PRESETS[code]
    data = json.loads(json.dumps(sla.policy_to_dict(policy)))
    assert sla.validate_policy_dict(data) == []
    assert sla.policy_from_dict(data) == policy


def test_custom_policy_is_usable_by_due_date():
    data = sla.policy_to_dict(sla.PRESETS["CN_NFRA_2020"])
    data["code"] = "CN_HOUSE_10"
    data["milestones"]["final"]["count"] = 10  # a stricter house rule
    custom = sla.policy_from_dict(data)
    # Fri 2025-09-26 + 10 = Mon 10-06 (Mid-Autumn, golden week) -> Thu 10-09
    assert sla.due_date(custom, "final", at("2025-09-26", SHANGHAI)) == d("2025-10-09")


def _broken(change):
    data = copy.deepcopy(sla.policy_to_dict(sla.PRESETS["CN_NFRA_2020"]))
    change(data)
    return data


@pytest.mark.parametrize("change, problem", [
    (lambda p: p.update(code="cn lower"), "code:"),
    (lambda p: p.update(name=" "), "name: required"),
    (lambda p: p.update(timezone="Asia/Atlantis"), "timezone: unknown"),
    (lambda p: p.update(colour="red"), "colour: unknown field"),
    (lambda p: p.update(schema=2), "schema:"),
    (lambda p: p.update(restart_on_new_facts="yes"), "restart_on_new_facts:"),
    (lambda p: p["calendar"].update(country="XX"), "calendar.country:"),
    (lambda p: p["calendar"].update(subdiv="ENG"), "calendar.subdiv:"),
    (lambda p: p.update(milestones={}), "milestones: at least one"),
    (lambda p: p["milestones"].pop("final"), "milestones.final: required"),
    (lambda p: p["milestones"]["final"].update(start="decision"), "milestones.final: must be"),
    (lambda p: p["milestones"]["final"].update(count=0), "milestones.final.count:"),
    (lambda p: p["milestones"]["final"].update(count=True), "milestones.final.count:"),
    (lambda p: p["milestones"]["final"].update(count="15"), "milestones.final.count:"),
    (lambda p: p["milestones"]["final"].update(unit="fortnights"), "milestones.final.unit:"),
    (lambda p: p["milestones"]["final"].update(roll_foward=True),
     "milestones.final.roll_foward: unknown field"),
    (lambda p: p["milestones"]["final"].update(roll_forward="no"),
     "milestones.final.roll_forward:"),
    (lambda p: p["milestones"]["final_max"].update(approver_role="ceo"),
     "milestones.final_max.approver_role:"),
    (lambda p: p["milestones"]["final_max"].update(extends="nothing"),
     "milestones.final_max.extends:"),
    (lambda p: p["milestones"]["final_max"].update(count=20),
     "milestones.final_max.count: an extension must allow more time"),
    (lambda p: p["milestones"]["final"].update(extends="final_max"), "form a loop"),
    (lambda p: p["milestones"].update({"Bad Name": {"count": 1, "unit": "weeks"}}),
     "milestones.Bad Name: name"),
    (lambda p: p["pauses"]["external_appraisal"].update(notice_required="always"),
     "pauses.external_appraisal.notice_required:"),
])
def test_validation_reports_problems(change, problem):
    problems = sla.validate_policy_dict(_broken(change))
    assert any(problem in p for p in problems), problems
    with pytest.raises(sla.PolicyError) as raised:
        sla.policy_from_dict(_broken(change))
    assert raised.value.problems == problems


def test_validation_reports_every_problem_at_once():
    def break_several(p):
        p.update(code="", timezone="Nowhere/None")
        p["milestones"]["final"]["unit"] = "moons"
    assert len(sla.validate_policy_dict(_broken(break_several))) == 3
    assert sla.validate_policy_dict("not a dict") == ["policy: must be an object"]


# --- escalation and pauses in time -------------------------------------------------------------

# Received 00:00 Shanghai Mon 2025-03-03, due Tue 03-18: allowed time runs to 03-19 00:00
# Shanghai, 16 days = 384 h. 50 % = 192 h -> 03-11 00:00; 80 % = 307.2 h = 12 d 19 h 12 min ->
# 03-15 19:12; 100 % -> 03-19 00:00 (all Shanghai; UTC is 8 hours earlier).
@pytest.mark.parametrize("now, fraction", [
    (datetime(2025, 3, 2, 12, tzinfo=UTC), 0.0),         # before receipt: 0, not negative
    (datetime(2025, 3, 10, 16, tzinfo=UTC), 0.5),
    (datetime(2025, 3, 15, 11, 12, tzinfo=UTC), 0.8),
    (datetime(2025, 3, 18, 16, tzinfo=UTC), 1.0),
    (datetime(2025, 3, 18, 15, 59, tzinfo=UTC), 1.0 - 1 / (384 * 60)),  # a minute to go
    (datetime(2025, 3, 22, 16, tzinfo=UTC), 1.25),       # 4 days over: 480 / 384
])
def test_elapsed_fraction(now, fraction):
    start = at("2025-03-03", SHANGHAI, hour=0)
    due = sla.due_date("CN_NFRA_2020", "final", start)
    assert due == d("2025-03-18")
    assert sla.elapsed_fraction(start, due, now, "Asia/Shanghai") == pytest.approx(fraction)


def test_elapsed_fraction_uses_real_time_over_a_dst_change():
    # Sat 2025-03-29 00:00 GMT to the end of Sun 03-30 (00:00 BST on 03-31 = 23:00 UTC on 03-30)
    # is 47 real hours, as the clocks go forward; half of it has passed at 23:30 UTC on 03-29.
    start = at("2025-03-29", LONDON, hour=0)
    now = datetime(2025, 3, 29, 23, 30, tzinfo=UTC)
    assert sla.elapsed_fraction(start, d("2025-03-30"), now, LONDON) == pytest.approx(0.5)


def test_elapsed_fraction_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        sla.elapsed_fraction(datetime(2025, 3, 3), d("2025-03-18"),
                             datetime(2025, 3, 4, tzinfo=UTC), SHANGHAI)


NOW = at("2025-03-10", SHANGHAI, hour=12)


@pytest.mark.parametrize("pauses, days", [
    ([], 0),
    ([(at("2025-03-05", SHANGHAI, 10), at("2025-03-08", SHANGHAI, 9))], 2),   # 2 d 23 h
    ([(at("2025-03-05", SHANGHAI, 10), at("2025-03-08", SHANGHAI, 10))], 3),
    ([(at("2025-03-05", SHANGHAI, 10), None)], 5),                            # open, to NOW
    # two pauses of 1 d each, and an overlapping pair counted once (03-06 10:00 to 03-08 10:00)
    ([(at("2025-03-01", SHANGHAI, 10), at("2025-03-02", SHANGHAI, 10)),
      (at("2025-03-03", SHANGHAI, 10), at("2025-03-04", SHANGHAI, 10))], 2),
    ([(at("2025-03-06", SHANGHAI, 10), at("2025-03-07", SHANGHAI, 20)),
      (at("2025-03-07", SHANGHAI, 8), at("2025-03-08", SHANGHAI, 10))], 2),
    # a pause recorded in UTC counts on the Shanghai clock: 03-05 02:00Z = 10:00 Shanghai
    ([(datetime(2025, 3, 5, 2, tzinfo=UTC), None)], 5),
])
def test_pause_days(pauses, days):
    assert sla.pause_days(pauses, NOW, SHANGHAI) == days


def test_pause_days_over_a_dst_change_count_wall_clock_days():
    # London moves to BST on Sun 2025-03-30: Sat 10:00 GMT to Mon 10:00 BST is 47 hours of
    # elapsed time but two whole days on the branch's clock.
    pause = (at("2025-03-29", LONDON), at("2025-03-31", LONDON))
    assert pause[1].astimezone(UTC) - pause[0].astimezone(UTC) == timedelta(hours=47)
    assert sla.pause_days([pause], at("2025-04-01", LONDON), LONDON) == 2


@pytest.mark.parametrize("pauses", [
    [(at("2025-03-05", SHANGHAI), at("2025-03-04", SHANGHAI))],   # ends before it starts
    [(datetime(2025, 3, 5, 10), None)],                           # naive
])
def test_pause_days_refusals(pauses):
    with pytest.raises(ValueError):
        sla.pause_days(pauses, NOW, SHANGHAI)

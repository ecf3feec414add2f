"""The preset SLA policies: China (NFRA, 2020 Measures), UK (FCA DISP) and the US CFPB portal."""

from __future__ import annotations

from qms.complaints.sla.policy import (
    BUSINESS_DAYS,
    CALENDAR_DAYS,
    DECISION,
    MONTHS,
    RETENTION,
    REVIEW_APPLICATION,
    WEEKS,
    WINDOW,
    Milestone,
    PauseRule,
    Policy,
)

# A prompt acknowledgement is expected everywhere but no preset's rules put a number on it, so
# every preset carries the same house standard; an installation sets its own.
_ACKNOWLEDGE = Milestone(
    5, BUSINESS_DAYS, statutory=False,
    basis="House standard: acknowledge promptly (no regulatory day count).",
)

_CN_MEASURES = "CBIRC Order 2020 No. 3 (now NFRA), Measures on consumer complaints"

CN_NFRA_2020 = Policy(
    code="CN_NFRA_2020",
    name="China: banking and insurance consumer complaints (NFRA, 2020 Measures)",
    country="CN",
    subdiv=None,
    timezone="Asia/Shanghai",
    # "Days" are calendar days; a limit ending on a rest day or public holiday ends on the
    # next working day (Civil Code art. 203), and China's calendar has adjusted working days
    # (调休), so the roll uses the holidays library's working-day test, not "Mon-Fri".
    milestones={
        "acknowledge": _ACKNOWLEDGE,
        "final": Milestone(
            15, CALENDAR_DAYS, roll_forward=True,
            basis=f"{_CN_MEASURES}: decision and notice within 15 days of receipt.",
        ),
        "final_extended": Milestone(
            30, CALENDAR_DAYS, roll_forward=True, extends="final",
            approver_role="complaints", notify_customer=True,
            basis=f"{_CN_MEASURES}: complex case, extendable to 30 days, complainant informed.",
        ),
        # 'admin' stands for the superior institution / head-office senior management.
        "final_max": Milestone(
            60, CALENDAR_DAYS, roll_forward=True, extends="final_extended",
            approver_role="admin", notify_customer=True,
            basis=f"{_CN_MEASURES}: especially complex, a further 30 days (60 in all) approved "
                  "by the superior institution or head-office senior management.",
        ),
        "review_request": Milestone(
            30, CALENDAR_DAYS, start=DECISION, roll_forward=True, kind=WINDOW,
            basis=f"{_CN_MEASURES}: the customer may apply for a review (核查) within 30 days "
                  "of receiving the decision.",
        ),
        "review_decision": Milestone(
            30, CALENDAR_DAYS, start=REVIEW_APPLICATION, roll_forward=True,
            basis=f"{_CN_MEASURES}: review decided within 30 days of the application.",
        ),
    },
    pauses={
        "external_appraisal": PauseRule(
            notice_required=True,
            basis=f"{_CN_MEASURES}: appraisal, testing or assessment time is excluded from "
                  "the time limit; the complainant is informed.",
        ),
    },
    restart_on_new_facts=True,
    basis=_CN_MEASURES,
)

UK_FCA_DISP = Policy(
    code="UK_FCA_DISP",
    name="United Kingdom: FCA complaint handling (DISP 1)",
    country="GB",
    subdiv="ENG",
    timezone="Europe/London",
    milestones={
        "acknowledge": _ACKNOWLEDGE,
        # "by close of business on the third business day following the day on which it is
        # received": business days exclude weekends and England's bank holidays. DISP 1.5.3G
        # (late or weekend receipt treated as next-business-day receipt) was deleted in 2016,
        # so the count starts from the actual receipt date.
        "summary": Milestone(
            3, BUSINESS_DAYS,
            basis="DISP 1.5: summary resolution by close of business on the third business "
                  "day following receipt.",
        ),
        # "by the end of eight weeks after its receipt": receipt date + 56 days. Weeks are
        # calendar time and DISP says nothing about moving the end, so it is not rolled.
        "final": Milestone(
            8, WEEKS,
            basis="DISP 1.6.2R: final or holding response by the end of 8 weeks after receipt.",
        ),
        "final_psd": Milestone(
            15, BUSINESS_DAYS,
            basis="DISP 1.6.2AR: payment services and e-money complaints, 15 business days.",
        ),
        "final_psd_max": Milestone(
            35, BUSINESS_DAYS, extends="final_psd", notify_customer=True,
            basis="DISP 1.6.2AR: exceptional PSD/EMD cases, 35 business days, after a holding "
                  "reply giving the reasons and the date of the final response.",
        ),
        "ombudsman_referral": Milestone(
            6, MONTHS, start=DECISION, kind=WINDOW,
            basis="DISP 2.8.2R: referral to the Financial Ombudsman within 6 months of the "
                  "final response.",
        ),
        "records_retention": Milestone(
            36, MONTHS, kind=RETENTION,
            basis="DISP 1.9.1R: complaint records kept for 3 years from receipt.",
        ),
    },
    basis="FCA Handbook DISP 1",
)

US_CFPB = Policy(
    code="US_CFPB",
    name="United States: CFPB complaint portal",
    country="US",
    subdiv=None,
    timezone="America/New_York",
    # The portal counts calendar days and does not move a deadline off weekends or federal
    # holidays, so nothing rolls.
    milestones={
        "acknowledge": _ACKNOWLEDGE,
        "final": Milestone(
            15, CALENDAR_DAYS,
            basis="CFPB portal: company response within 15 calendar days.",
        ),
        "final_extended": Milestone(
            60, CALENDAR_DAYS, extends="final", notify_customer=True,
            basis="CFPB portal: 'in progress' response, then the final response within 60 "
                  "days.",
        ),
    },
    basis="CFPB consumer complaint portal",
)

PRESETS: dict[str, Policy] = {p.code: p for p in (CN_NFRA_2020, UK_FCA_DISP, US_CFPB)}

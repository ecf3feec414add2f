"""Possible duplicates: unfinished complaints of the same person in the same category."""

from __future__ import annotations

import sqlalchemy as sa

from qms.complaints.models import Complaint
from qms.complaints.states import FINAL
from qms.extensions import db


def find_duplicates(*, customer_id: int | None, email: str | None, phone: str | None,
                    business_code: str | None, cause_code: str | None,
                    exclude_id: int | None = None) -> list[Complaint]:
    """Unfinished complaints of the same person (customer record, else e-mail, else phone) in
    the same category: the same business type and cause, as far as both are known."""
    if not business_code and not cause_code:
        return []
    if customer_id is not None:
        who = Complaint.customer_id == customer_id
    elif email:
        who = sa.func.lower(Complaint.complainant_email) == email.lower()
    elif phone:
        who = Complaint.complainant_phone == phone
    else:
        return []
    conds = [who, Complaint.status.not_in([str(s) for s in FINAL])]
    if business_code:
        conds.append(Complaint.business_code == business_code)
    if cause_code:
        conds.append(Complaint.cause_code == cause_code)
    if exclude_id is not None:
        conds.append(Complaint.id != exclude_id)
    return list(db.session.scalars(sa.select(Complaint).where(*conds)
                                   .order_by(Complaint.received_at)))


def duplicates_of(complaint: Complaint) -> list[Complaint]:
    return find_duplicates(customer_id=complaint.customer_id, email=complaint.complainant_email,
                           phone=complaint.complainant_phone,
                           business_code=complaint.business_code,
                           cause_code=complaint.cause_code, exclude_id=complaint.id)

"""Human references CMP-YYYY-NNNNNN: format, numbering per year, and uniqueness under concurrent
intakes — 20 threads on a real SQLite file, and on PostgreSQL when one is reachable."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.complaints import codes, intake
from qms.complaints.models import Complaint, ReferenceCounter
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.org.models import Branch

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
THREADS = 20


def _setup() -> None:
    with unit_of_work():
        codes.seed_codes()
        db.session.add(Branch(code="SH01", name="上海陆家嘴支行", region="华东", city="上海"))


def _payload(i: int) -> dict:
    return {"complainant_name": f"客户{i}", "complainant_email": f"c{i}@example.test",
            "branch_code": "SH01", "channel_code": "A01", "business_code": "B03",
            "description": f"第{i}件投诉"}


def test_format_and_numbering_per_year(app):
    _setup()
    refs = []
    for i in range(3):
        with unit_of_work():
            c, _ = intake.create_complaint(_payload(i), via="api", now=T0)
            refs.append(c.reference)
    assert refs == ["CMP-2026-000001", "CMP-2026-000002", "CMP-2026-000003"]
    # the year is Shanghai's: 31 December 17:00 UTC is already 1 January 2027 there
    with unit_of_work():
        c, _ = intake.create_complaint(_payload(9), via="api",
                                       now=datetime(2026, 12, 31, 17, 0, tzinfo=UTC))
    assert c.reference == "CMP-2027-000001"
    assert c.received_at.year == 2026  # the reference year is the entry's, not the receipt's
    assert {(r.year, r.value) for r in db.session.scalars(sa.select(ReferenceCounter))} == {
        (2026, 3), (2027, 1)}


def test_a_rolled_back_intake_gives_its_number_back(app):
    _setup()
    with pytest.raises(RuntimeError), unit_of_work():
        intake.create_complaint(_payload(1), via="api", now=T0)
        raise RuntimeError("the request failed after the insert")
    assert db.session.scalar(sa.select(sa.func.count(Complaint.id))) == 0
    with unit_of_work():
        c, _ = intake.create_complaint(_payload(2), via="api", now=T0)
    assert c.reference == "CMP-2026-000001"


def test_prefix_is_configurable(app):
    _setup()
    app.config["COMPLAINT_REFERENCE_PREFIX"] = "TS"
    with unit_of_work():
        assert intake.next_reference(T0) == "TS-2026-000001"


def _concurrent_intakes(app) -> tuple[list[str], list[BaseException]]:
    """THREADS intakes released at once, each in its own app context, session and
    transaction, as gunicorn workers' requests would be."""
    barrier = threading.Barrier(THREADS)
    refs: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                with unit_of_work():
                    c, _ = intake.create_complaint(_payload(i), via="api", now=T0)
                    ref = c.reference
                with lock:
                    refs.append(ref)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return refs, errors


def assert_unique(refs: list[str], errors: list[BaseException]) -> None:
    assert not errors, errors
    assert len(refs) == THREADS
    assert sorted(refs) == [f"CMP-2026-{n:06d}" for n in range(1, THREADS + 1)]
    stored = list(db.session.scalars(sa.select(Complaint.reference)))
    assert sorted(stored) == sorted(refs)
    assert all(re.fullmatch(r"CMP-2026-\d{6}", r) for r in stored)
    assert db.session.scalar(sa.select(ReferenceCounter.value)) == THREADS


def test_unique_under_concurrency_on_a_sqlite_file(app):
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    _setup()
    db.session.remove()
    refs, errors = _concurrent_intakes(app)
    assert_unique(refs, errors)


@pytest.mark.postgres
def test_unique_under_concurrency_on_postgresql(pg_app):
    _setup()
    db.session.remove()
    refs, errors = _concurrent_intakes(pg_app)
    assert_unique(refs, errors)

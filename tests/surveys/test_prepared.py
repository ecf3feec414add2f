"""The answering pages' statements (qms.surveys.prepared): types still apply, DBAPI errors come
out as SQLAlchemy's, a failed transaction leaves nothing, a single write commits by itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from qms.surveys import responses as svc
from qms.surveys.models import Invitation, Response
from qms.surveys.prepared import Prepared, connection, single_write, transaction
from tests.surveys.factories import sample_form
from tests.surveys.test_respond import count, create_personal_link, fresh


def test_values_keep_their_types_both_ways(app):
    _token, invitation = create_personal_link()
    when = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    stamp = Prepared(sa.update(Invitation.__table__)
                     .where(Invitation.__table__.c.id == sa.bindparam("iid"))
                     .values(sent_at=sa.bindparam("at", type_=Invitation.sent_at.type))
                     .returning(Invitation.__table__.c.sent_at))
    with connection() as conn, transaction(conn):
        (back,) = stamp.first(conn, iid=invitation.id, at=when)
    assert back == when and back.tzinfo is not None  # UTC-aware out, as the ORM gives it
    assert fresh(invitation).sent_at == when
    with pytest.raises(ValueError):  # naive datetimes are refused, as everywhere
        with connection() as conn, transaction(conn):
            stamp.first(conn, iid=invitation.id, at=datetime(2026, 3, 1))


def test_a_failed_submission_stores_nothing_and_says_integrity_error(app):
    token, invitation = create_personal_link()
    with connection() as conn:
        link = svc.resolve_personal_link(token, conn=conn)
    assert link.definition["sections"] and link.state is svc.LinkState.OPEN
    # a response for the invitation already exists: the unique invitation_id refuses another
    _db.session.add(Response(version_id=link.version.id, survey_id=link.version.survey_id,
                             invitation_id=invitation.id, channel="email", locale="zh_Hans"))
    _db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        with connection() as conn, transaction(conn):
            svc.submit_response(link, sample_form(), locale="zh_Hans", conn=conn)
    assert fresh(invitation).completed_at is None  # the claim was rolled back with the rest
    assert count(Response) == 1


def test_a_single_write_is_committed_by_itself(app):
    token, invitation = create_personal_link()
    with connection() as conn:
        link = svc.resolve_personal_link(token, conn=conn)
        assert svc.first_opening(link)
        with single_write(conn):
            svc.mark_opened(link, conn=conn)
        seen_inside = fresh(invitation).opened_at  # another connection already sees it
        again = svc.resolve_personal_link(token, conn=conn)
    assert seen_inside is not None and not svc.first_opening(again)

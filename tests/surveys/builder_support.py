"""Helpers and fixtures shared by the builder tests (services, access, pages)."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from qms.core.audit import AuditLog
from qms.surveys import builder, services
from qms.surveys.models import Survey
from tests.surveys.factories import sample_definition


class IsolatedClient(FlaskClient):
    """Each request in its own app context, as in production (no shared g / session)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def isolated_client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


def sample_survey(db):
    s = services.create_survey(title="网点满意度 2024", definition=sample_definition())
    db.session.commit()
    return s


def english_admin(login, make_user):
    """Signed in with English as their language, so that texts checked here do not depend
    on the catalogues."""
    return login(make_user("admin", locale="en"))


def draft(survey):
    from qms.extensions import db
    db.session.expire_all()
    return services.latest_version(db.session.get(Survey, survey.id))


def base(survey):
    return builder.revision(draft(survey).definition)


def survey_events(db):
    return [a for a in db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id))
            if a.startswith("survey_")]


def keys(d):
    return [[q["key"] for q in s["questions"]] for s in d["sections"]]


def question_form(q: dict, rev: str) -> dict:
    """What the question page posts for question q."""
    data = {"base": rev, "key": q["key"], "qtype": q["type"]}
    if q.get("required"):
        data["required"] = "y"
    for name in ("label", "help", "min_label", "max_label"):
        for loc, text in (q.get(name) or {}).items():
            data[f"{name}-{loc}"] = text
    number = q["type"] == "number"
    for prop, field in (("min", "num_min" if number else "scale_min"),
                        ("max", "num_max" if number else "scale_max"),
                        ("min_selected", "min_selected"), ("max_selected", "max_selected"),
                        ("max_length", "max_length")):
        if prop in q:
            data[field] = str(q[prop])
    for name in ("options", "rows"):
        for i, item in enumerate(q.get(name) or []):
            data[f"{name}-{i}-key"] = item["key"]
            for loc, text in item["label"].items():
                data[f"{name}-{i}-label-{loc}"] = text
            if "score" in item:
                data[f"{name}-{i}-score"] = str(item["score"])
    return data

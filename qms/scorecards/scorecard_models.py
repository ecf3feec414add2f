"""Scorecard models: the default models, versions (KPIs, targets, thresholds, weights typed in
or derived by AHP), publishing and activation. Services flush; the caller commits."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from qms.analytics import ahp
from qms.core.db import now_utc
from qms.extensions import db
from qms.scorecards.kpis import KPIS
from qms.scorecards.models import SCOPES, ScorecardModel, ScorecardModelVersion
from qms.scorecards.normalise import check_thresholds


class ModelError(ValueError):
    """Input that cannot be saved; `fields` says which and why (form errors / 400)."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


def _k(key, target, green, amber, weight) -> dict:
    return {"key": key, "target": target, "green": green, "amber": amber, "weight": weight}


# Targets and thresholds in the KPI's own unit; weights in percent (they sum to 100).
DEFAULT_KPIS = {
    "branch": [
        _k("csat_pct", 90, 90, 80, 15), _k("nps", 40, 40, 20, 10), _k("ces", 6, 5.5, 5, 5),
        _k("survey_response_rate", 20, 20, 10, 5), _k("mystery_score", 90, 90, 80, 15),
        _k("qa_score", 90, 90, 80, 15), _k("qa_autofail_rate", 2, 2, 5, 5),
        _k("complaints_per_1000", 1, 1, 2, 5), _k("complaints_closed_in_time_pct", 100, 95, 90, 5),
        _k("complaint_median_days_to_close", 10, 10, 15, 5),
        _k("complaints_upheld_pct", 20, 20, 35, 5), _k("audit_score", 90, 90, 80, 5),
        _k("overdue_actions", 0, 0, 2, 5),
    ],
    "agent": [
        _k("csat_pct", 90, 90, 80, 20), _k("nps", 40, 40, 20, 10), _k("ces", 6, 5.5, 5, 5),
        _k("survey_response_rate", 20, 20, 10, 5), _k("mystery_score", 90, 90, 80, 10),
        _k("qa_score", 90, 90, 80, 25), _k("qa_autofail_rate", 2, 2, 5, 10),
        _k("complaints_per_1000", 1, 1, 2, 5), _k("complaints_closed_in_time_pct", 100, 95, 90, 5),
        _k("complaints_upheld_pct", 20, 20, 35, 5),
    ],
}
DEFAULT_NAMES = {"branch": "Branch scorecard", "agent": "Agent scorecard"}


def active_version(scope: str) -> ScorecardModelVersion | None:
    """The latest published version of the scope's active model."""
    return db.session.scalars(
        sa.select(ScorecardModelVersion)
        .join(ScorecardModel, ScorecardModel.id == ScorecardModelVersion.model_id)
        .where(ScorecardModel.scope == scope, ScorecardModel.active.is_(True),
               ScorecardModelVersion.published_at.is_not(None))
        .order_by(ScorecardModelVersion.number.desc()).limit(1)).first()


def ensure_default_models(now: datetime | None = None) -> dict[str, ScorecardModelVersion]:
    """The active published version per scope, seeding a default model where there is none."""
    now = now or now_utc()
    out = {}
    for scope in SCOPES:
        version = active_version(scope)
        if version is None:
            model = ScorecardModel(name=DEFAULT_NAMES[scope], scope=scope, active=True,
                                   created_at=now)
            db.session.add(model)
            db.session.flush()
            _deactivate_others(model)
            version = ScorecardModelVersion(model=model, number=1, kpis=DEFAULT_KPIS[scope],
                                            weighting="manual", created_at=now,
                                            published_at=now)
            db.session.add(version)
            db.session.flush()
        out[scope] = version
    return out


def _deactivate_others(model: ScorecardModel) -> None:
    db.session.execute(sa.update(ScorecardModel)
                       .where(ScorecardModel.scope == model.scope, ScorecardModel.id != model.id)
                       .values(active=False))


def list_models() -> list[ScorecardModel]:
    return list(db.session.scalars(sa.select(ScorecardModel)
                                   .order_by(ScorecardModel.scope, ScorecardModel.id)))


def get_model(model_id: int) -> ScorecardModel | None:
    return db.session.get(ScorecardModel, model_id)


def get_version(model_id: int, version_id: int) -> ScorecardModelVersion | None:
    v = db.session.get(ScorecardModelVersion, version_id)
    return v if v is not None and v.model_id == model_id else None


def create_model(name: str, scope: str, *, now: datetime | None = None) -> ScorecardModel:
    name = (name or "").strip()
    fields = {}
    if not name:
        fields["name"] = _("Give the model a name.")
    if scope not in SCOPES:
        fields["scope"] = _("Choose branch or agent.")
    if fields:
        raise ModelError(fields)
    now = now or now_utc()
    model = ScorecardModel(name=name, scope=scope, active=False, created_at=now)
    db.session.add(model)
    db.session.add(ScorecardModelVersion(model=model, number=1, kpis=DEFAULT_KPIS[scope],
                                         weighting="manual", created_at=now))
    db.session.flush()
    return model


def new_version(model: ScorecardModel, *, now: datetime | None = None) -> ScorecardModelVersion:
    """A draft copied from the latest version (a published version is never edited)."""
    draft = next((v for v in model.versions if not v.is_published), None)
    if draft is not None:
        return draft
    last = model.versions[-1] if model.versions else None
    version = ScorecardModelVersion(
        model=model, number=(last.number + 1) if last else 1,
        kpis=[dict(k) for k in (last.kpis if last else DEFAULT_KPIS[model.scope])],
        weighting=last.weighting if last else "manual",
        ahp_matrix=last.ahp_matrix if last else None, ahp_cr=last.ahp_cr if last else None,
        overall_green=last.overall_green if last else 85.0,
        overall_amber=last.overall_amber if last else 70.0, created_at=now or now_utc())
    db.session.add(version)
    db.session.flush()
    return version


def _require_draft(version: ScorecardModelVersion) -> None:
    if version.is_published:
        raise ModelError({"version": _("A published version cannot be changed; make a new "
                                       "version.")})


def validate_kpis(scope: str, rows: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """Clean KPI rows {key, target, green, amber, weight, min_sample?} and their problems,
    keyed "<kpi key>.<field>"."""
    fields: dict[str, str] = {}
    clean = []
    seen = set()
    for row in rows:
        key = row.get("key")
        kpi = KPIS.get(key)
        if kpi is None or not kpi.applies_to(scope) or key in seen:
            fields[f"{key}.key"] = _("Unknown or repeated KPI for this scope.")
            continue
        seen.add(key)
        try:
            item = {"key": key, **{f: float(row[f]) for f in
                                   ("target", "green", "amber", "weight")}}
        except (KeyError, TypeError, ValueError):
            fields[f"{key}.target"] = _("Target, thresholds and weight must be numbers.")
            continue
        if item["weight"] < 0:
            fields[f"{key}.weight"] = _("A weight cannot be negative.")
        for problem in check_thresholds(kpi.direction, item["target"], item["green"],
                                        item["amber"]):
            fields[f"{key}.{problem}"] = (
                _("Higher is better: the target must be above 0.") if problem == "target"
                and kpi.direction == "higher" else
                _("Lower is better: the target cannot be negative.") if problem == "target"
                else _("Higher is better: amber must not be above green.")
                if kpi.direction == "higher"
                else _("Lower is better: amber must not be below green."))
        if row.get("min_sample") not in (None, ""):
            try:
                item["min_sample"] = max(0, int(row["min_sample"]))
            except (TypeError, ValueError):
                fields[f"{key}.min_sample"] = _("The minimum sample is a whole number.")
        clean.append(item)
    if not clean:
        fields["kpis"] = _("Choose at least one KPI.")
    elif sum(k["weight"] for k in clean) <= 0:
        fields["kpis"] = _("At least one KPI needs a weight above 0.")
    return clean, fields


def update_version(version: ScorecardModelVersion, rows: list[dict], *,
                   overall_green: float, overall_amber: float) -> ScorecardModelVersion:
    _require_draft(version)
    clean, fields = validate_kpis(version.model.scope, rows)
    if not (0 <= overall_amber <= overall_green <= 100):
        fields["overall"] = _("Overall thresholds: 0 ≤ amber ≤ green ≤ 100.")
    if fields:
        raise ModelError(fields)
    old_keys = [k["key"] for k in version.kpis or []]
    if [k["key"] for k in clean] != old_keys or version.weighting != "ahp":
        version.weighting = "manual"
        version.ahp_matrix = None
        version.ahp_cr = None
    else:  # AHP weights stay as derived; only targets and thresholds changed
        derived = {k["key"]: k["weight"] for k in version.kpis}
        for k in clean:
            k["weight"] = derived[k["key"]]
    version.kpis = clean
    version.overall_green, version.overall_amber = overall_green, overall_amber
    db.session.flush()
    return version


def apply_ahp(version: ScorecardModelVersion, matrix: list[list[float]]) -> ahp.AhpResult:
    """Weights from a pairwise matrix over the version's KPIs, in their order. Refused
    (ModelError, version unchanged) when CR >= 0.10 or the matrix is invalid."""
    _require_draft(version)
    result = ahp.ahp_priorities(matrix)  # AhpError for an invalid matrix
    if len(result.weights) != len(version.kpis):
        raise ModelError({"matrix": _("One row and column per KPI of the version.")})
    if not result.consistent:
        raise ModelError({"matrix": _("The judgements are too inconsistent (CR %(cr)s ≥ "
                                      "0.10).", cr=f"{result.cr:.3f}")})
    version.kpis = [{**k, "weight": round(100 * w, 2)}
                    for k, w in zip(version.kpis, result.weights, strict=True)]
    version.weighting = "ahp"
    version.ahp_matrix = [[float(x) for x in row] for row in matrix]
    version.ahp_cr = round(result.cr, 4)
    db.session.flush()
    return result


def publish_version(version: ScorecardModelVersion, *, activate: bool = True,
                    now: datetime | None = None) -> ScorecardModelVersion:
    _require_draft(version)
    _clean, fields = validate_kpis(version.model.scope, version.kpis or [])
    if fields:
        raise ModelError(fields)
    version.published_at = now or now_utc()
    if activate:
        version.model.active = True
        _deactivate_others(version.model)
    db.session.flush()
    return version


def activate_model(model: ScorecardModel) -> None:
    if not any(v.is_published for v in model.versions):
        raise ModelError({"model": _("Publish a version before making the model active.")})
    model.active = True
    _deactivate_others(model)
    db.session.flush()


def evaluate_matrix(matrix) -> tuple[ahp.AhpResult, list[ahp.Judgement]]:
    """AHP weights and CR of a matrix, with the most inconsistent judgements when CR >= 0.10
    (AhpError for a matrix that is not a pairwise comparison matrix)."""
    result = ahp.ahp_priorities(matrix)
    worst = [] if result.consistent else ahp.most_inconsistent(matrix, result.weights, k=3)
    return result, worst

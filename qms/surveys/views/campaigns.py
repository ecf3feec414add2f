"""Campaign pages for admin and QA staff, and the public opt-out page of a personal link."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from qms.core.forms import attach_errors
from qms.core.i18n import normalise_locale
from qms.core.permissions import get_scoped_or_404, public, roles_required, route_roles
from qms.core.ratelimit import rate_limited
from qms.core.tx import unit_of_work
from qms.surveys import campaigns as svc
from qms.surveys.models import Campaign, CounterLink
from qms.surveys.views import bp, public_bp
from qms.surveys.views.campaign_forms import (
    CHANNELS,
    AudienceFilterForm,
    AudienceUploadForm,
    CampaignForm,
    ConfirmForm,
    CounterLinksForm,
    split_codes,
    to_local,
)

STAFF = ("admin", "qa")
PROBLEMS_SHOWN = 200


def _me():
    return current_user._get_current_object()


def _campaign(campaign_id: int) -> Campaign:
    return get_scoped_or_404(Campaign, campaign_id, _me())


@bp.get("/campaigns")
@roles_required(*STAFF)
def campaigns():
    items = svc.list_campaigns(_me(), route_roles())
    return render_template("surveys/campaigns/list.html", campaigns=items,
                           counts=svc.invitation_counts(c.id for c in items),
                           status_label=svc.status_label, channels=dict(CHANNELS))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def campaign_new():
    form = CampaignForm(versions=svc.published_versions())
    if form.validate_on_submit():
        try:
            with unit_of_work():
                campaign = svc.create_campaign(form.service_data(), actor=_me(),
                                               roles=route_roles())
        except svc.CampaignError as exc:
            attach_errors(exc.fields, form)
        else:
            flash(_("Campaign %(name)s created.", name=campaign.name), "success")
            return redirect(url_for("surveys.campaign_detail", campaign_id=campaign.id))
    return render_template("surveys/campaigns/form.html", form=form, campaign=None)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def campaign_edit(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = CampaignForm(obj=campaign, versions=svc.published_versions())
    if campaign.status != svc.CampaignStatus.DRAFT:
        form.lock_running_fields()
    if request.method == "GET":
        form.closes_at.data = to_local(campaign.closes_at)
        if "opens_at" in form:
            form.opens_at.data = to_local(campaign.opens_at)
            form.branch_code.data = campaign.branch.code if campaign.branch else ""
    if form.validate_on_submit():
        try:
            with unit_of_work():
                svc.edit_campaign(campaign, form.service_data(), actor=_me(),
                                  roles=route_roles())
        except svc.CampaignError as exc:
            attach_errors(exc.fields, form)
        else:
            flash(_("Campaign %(name)s saved.", name=campaign.name), "success")
            return redirect(url_for("surveys.campaign_detail", campaign_id=campaign.id))
    return render_template("surveys/campaigns/form.html", form=form, campaign=campaign,
                           channels=dict(CHANNELS))


def _detail(campaign, upload=None, audience_filter=None, problems=None, status=200):
    stats = svc.campaign_stats(campaign)
    return render_template(
        "surveys/campaigns/detail.html", campaign=campaign, stats=stats,
        suppressed=svc.suppression_counts(campaign), reasons=svc.REASONS,
        upload=upload or AudienceUploadForm(), audience_filter=audience_filter or
        AudienceFilterForm(), confirm=ConfirmForm(), problems=problems or [],
        problems_shown=PROBLEMS_SHOWN, status_label=svc.status_label, channels=dict(CHANNELS),
        links=svc.live_links(campaign) if campaign.channel == "counter" else []), status


@bp.get("/campaigns/<int:campaign_id>")
@roles_required(*STAFF)
def campaign_detail(campaign_id: int):
    return _detail(_campaign(campaign_id))


def _flash_audience(result) -> None:
    flash(_("%(n)d customers invited; %(s)d suppressed; %(d)d already in this campaign.",
            n=result.invited, s=result.suppressed,
            d=result.skipped.get("already_invited", 0)), "success")


@bp.post("/campaigns/<int:campaign_id>/audience/upload")
@roles_required(*STAFF)
def campaign_audience_upload(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = AudienceUploadForm()
    if not form.validate_on_submit():
        return _detail(campaign, upload=form, status=400)
    try:
        text = form.file.data.read().decode(form.encoding.data)
    except (UnicodeDecodeError, LookupError):
        form.file.errors = [_("The file is not in the chosen text encoding.")]
        return _detail(campaign, upload=form, status=400)
    try:
        with unit_of_work():
            result = svc.add_audience_csv(campaign, text, principal=_me(), roles=route_roles())
    except svc.AudienceRejected as exc:
        form.form_errors.append(str(exc.fields[""]))
        return _detail(campaign, upload=form, problems=exc.rows, status=400)
    except svc.CampaignError as exc:
        attach_errors(exc.fields, form)
        return _detail(campaign, upload=form, status=400)
    _flash_audience(result)
    return redirect(url_for("surveys.campaign_detail", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/audience/filter")
@roles_required(*STAFF)
def campaign_audience_filter(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = AudienceFilterForm()
    if not form.validate_on_submit():
        return _detail(campaign, audience_filter=form, status=400)
    try:
        with unit_of_work():
            result = svc.add_audience_filter(
                campaign, branch_codes=split_codes(form.branch_codes.data),
                region=(form.region.data or "").strip() or None,
                segment=form.segment.data or None, principal=_me(), roles=route_roles())
    except svc.CampaignError as exc:
        attach_errors(exc.fields, form)
        return _detail(campaign, audience_filter=form, status=400)
    _flash_audience(result)
    return redirect(url_for("surveys.campaign_detail", campaign_id=campaign.id))


def _transition(campaign_id: int, action, done_message: str):
    campaign = _campaign(campaign_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            action(campaign, actor=_me())
    except svc.CampaignError as exc:
        for message in exc.fields.values():
            flash(str(message), "error")
    else:
        flash(done_message, "success")
    return redirect(url_for("surveys.campaign_detail", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/start")
@roles_required(*STAFF)
def campaign_start(campaign_id: int):
    return _transition(campaign_id, svc.start_campaign,
                       _("The campaign is running: e-mails go out within a minute."))


@bp.post("/campaigns/<int:campaign_id>/close")
@roles_required(*STAFF)
def campaign_close(campaign_id: int):
    return _transition(campaign_id, svc.close_campaign,
                       _("The campaign is closed: its links no longer open the survey."))


@bp.route("/campaigns/<int:campaign_id>/counter", methods=["GET", "POST"])
@roles_required(*STAFF)
def campaign_counter(campaign_id: int):
    campaign = _campaign(campaign_id)
    if campaign.channel != "counter":
        abort(404)
    form = CounterLinksForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                n = svc.create_counter_links(
                    campaign, branch_codes=split_codes(form.branch_codes.data),
                    per_agent=form.per_agent.data, principal=_me(), roles=route_roles())
        except svc.CampaignError as exc:
            attach_errors(exc.fields, form)
        else:
            flash(_("%(n)d counter links created.", n=n), "success")
            return redirect(url_for("surveys.campaign_counter", campaign_id=campaign.id))
    return render_template("surveys/campaigns/counter.html", campaign=campaign, form=form,
                           confirm=ConfirmForm(), links=svc.printed_links(campaign, with_qr=False))


@bp.get("/campaigns/<int:campaign_id>/counter/print")
@roles_required(*STAFF)
def campaign_counter_print(campaign_id: int):
    campaign = _campaign(campaign_id)
    if campaign.channel != "counter":
        abort(404)
    links = svc.printed_links(campaign)
    if request.args.get("link"):
        links = [p for p in links if str(p.link.id) == request.args["link"]]
    return render_template("surveys/campaigns/counter_print.html", campaign=campaign,
                           links=links)


@bp.post("/campaigns/<int:campaign_id>/counter/<int:link_id>/revoke")
@roles_required(*STAFF)
def campaign_counter_revoke(campaign_id: int, link_id: int):
    campaign = _campaign(campaign_id)
    link = get_scoped_or_404(CounterLink, link_id, _me())
    if link.campaign_id != campaign.id or not ConfirmForm().validate_on_submit():
        abort(404)
    with unit_of_work():
        svc.revoke_counter_link(link)
    flash(_("The link was revoked; printed codes of it no longer work."), "success")
    return redirect(url_for("surveys.campaign_counter", campaign_id=campaign.id))


# -- public: opt-out ----------------------------------------------------------------------

def _respondent_locale(invitation) -> str:
    """The language the respondent picked on our pages, else the invitation's."""
    return (normalise_locale(request.args.get("lang")) or normalise_locale(session.get("lang"))
            or invitation.locale)


@public_bp.route("/s/<token>/opt-out", methods=["GET", "POST"])
@public
@rate_limited()
def opt_out(token: str):
    invitation = svc.invitation_by_token(token)
    if invitation is None or invitation.customer is None:
        abort(404)
    form = ConfirmForm()
    already = invitation.customer.opted_out_at is not None
    done = False
    if form.validate_on_submit():
        with unit_of_work():
            svc.opt_out(invitation)
        done = True
    elif request.method == "POST":
        abort(400)
    with force_locale(_respondent_locale(invitation)):
        return render_template("surveys/campaigns/opt_out.html", form=form, done=done,
                               already=already)

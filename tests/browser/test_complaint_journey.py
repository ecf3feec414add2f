"""Acceptance: one complaint from the public form to an approved final response, in Chromium.

A member of the public complains on a phone in Simplified Chinese (with a photo) and keeps the
reference and the private link; officer A signs in, finds the complaint in the unassigned
queue, takes it, acknowledges, classifies, declares no conflict of interest, investigates,
drafts an upheld decision with redress and submits it; A cannot approve it (four eyes); officer
B approves it from "awaiting my approval"; the final response is kept in the complainant's
language and e-mailed (to the outbox), the history verifies; the complainant's status page
shows the answer, in Chinese, with no staff names.

Staff pages are in Simplified Chinese too (the browsers prefer zh-CN). The app runs with the
complaint fragments merged into the catalogues (see `app` below), so the page texts are those
of the zh_Hans catalogue whether or not the lead has merged them into messages.po yet.
"""

# ruff: noqa: RUF001  (full-width punctuation of the Chinese texts)

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from tests.conftest import PASSWORD, app_config, build_app

ROOT = Path(__file__).resolve().parents[2]
FRAGMENTS = ("complaints-intake", "complaints-workflow")
# A 1x1 PNG: the photo of the receipt.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
DESKTOP = {"width": 1280, "height": 900}
OFFICER_A, OFFICER_B = "李晓投诉", "赵敏复核"


# -- the app with the complaint translations ---------------------------------------------------

@pytest.fixture(scope="module")
def complaint_catalogues(tmp_path_factory) -> str:
    """The shipped catalogues with the complaint fragments merged in, compiled (until the lead
    merges qms/translations/fragments into messages.po, after which nothing changes)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from qms.config import LOCALES

    out = tmp_path_factory.mktemp("catalogues")
    translations = ROOT / "qms" / "translations"
    for locale in LOCALES:
        with open(translations / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
            catalog = read_po(fh, locale=locale)
        for name in FRAGMENTS:
            fragment = translations / "fragments" / f"{name}.{locale}.po"
            if fragment.exists():
                with open(fragment, "rb") as fh:
                    for message in read_po(fh, locale=locale):
                        if message.id and message.string:
                            catalog[message.id] = message
        target = out / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        with open(target / "messages.mo", "wb") as fh:
            write_mo(fh, catalog)
    return str(out)


@pytest.fixture
def app(tmp_path, complaint_catalogues):
    """The test app (real CSRF tokens, as in production) with those catalogues."""
    from qms.extensions import babel

    app = build_app(app_config(tmp_path, BABEL_TRANSLATION_DIRECTORIES=complaint_catalogues,
                               WTF_CSRF_ENABLED=True))
    with app.app_context():
        babel.domain_instance.cache.clear()  # Flask-Babel caches them across apps
        _db.create_all()
        yield app
        babel.domain_instance.cache.clear()
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def bank(app, make_branch, make_user):
    """A branch, its two complaint officers and the classification codes."""
    from types import SimpleNamespace

    from qms.complaints import codes

    branch = make_branch(code="SH01", name="上海分行营业部")
    officer_a = make_user("complaints", branch=branch, name=OFFICER_A,
                          email="li.officer@bank.test")
    officer_b = make_user("complaints", branch=branch, name=OFFICER_B,
                          email="zhao.checker@bank.test")
    codes.seed_codes()
    _db.session.commit()
    return SimpleNamespace(branch=branch, a=officer_a, b=officer_b)


# -- helpers -------------------------------------------------------------------------------------

def watch(page, errors: list[str]) -> None:
    """Collect script errors; a refused form's 4xx and the missing favicon are expected."""
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error"
            and not re.search(r"status of 4\d\d", msg.text)
            and not msg.location.get("url", "").endswith("/favicon.ico")
            and errors.append(msg.text))


def staff_page(browser, live_server, user, errors):
    """A desktop browser preferring Simplified Chinese, signed in through the login form."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    watch(page, errors)
    page.goto(f"{live_server}/login")
    page.get_by_label("电子邮箱", exact=True).fill(user.email)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{live_server}/")
    return context, page


def actions_panel(page):
    return page.get_by_role("region", name="操作", exact=True)


def action_box(page, label: str):
    """The <details> of one workflow action in the actions panel, opened."""
    summary = page.locator("summary", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    box = actions_panel(page).locator("details").filter(has=summary)
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    return box


def act(page, label: str, done: str, fill=None) -> None:
    """Open an action, let `fill` fill its form, send it; back on the complaint page with
    the flash message `done`."""
    from playwright.sync_api import expect

    box = action_box(page, label)
    if fill is not None:
        fill(box)
    with page.expect_navigation():
        box.get_by_role("button", name=label, exact=True).click()
    # a refused action stays on its own page (…/actions/<name>) and says why
    assert "/actions/" not in page.url and "/approvals/" not in page.url, \
        page.get_by_role("main").inner_text()
    expect(page.get_by_role("status").filter(has_text=done)).to_be_visible()


def state_label(status: str) -> str:
    """A state's name as the staff pages show it in zh_Hans (the state names have no
    translation in the catalogues yet: then the English name)."""
    from flask_babel import force_locale

    from qms.complaints.states import LABELS, Status

    with force_locale("zh_Hans"):
        return str(LABELS[Status(status)])


def offered(page) -> list[str]:
    return [s.strip() for s in actions_panel(page).locator("details > summary").all_inner_texts()]


# -- the journey -------------------------------------------------------------------------------

def test_a_complaint_from_the_public_form_to_an_approved_final_response(
        app, live_server, browser, phone, bank):
    from playwright.sync_api import expect

    from qms.complaints import history
    from qms.complaints.models import Complaint, ComplaintApproval, ComplaintEvent, ComplaintMessage
    from qms.core.uploads import Attachment

    errors: list[str] = []
    contexts = []
    try:
        # 1. The public form on a phone, in Simplified Chinese (the browser's preference).
        public = phone
        watch(public, errors)
        public.goto(f"{live_server}/complaint")
        assert public.locator("html").get_attribute("lang") == "zh-Hans"
        assert public.title() == "我要投诉"
        assert public.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
            "no sideways scrolling on a phone"
        public.get_by_label("您的姓名", exact=True).fill("王芳")
        public.get_by_label("电子邮箱", exact=True).fill("wang.fang@example.test")
        public.get_by_label("支行", exact=True).select_option(label="上海分行营业部")
        public.get_by_label("涉及什么业务？", exact=True).select_option(label="银行卡")
        public.get_by_label("事情经过", exact=True).fill(
            "3月1日在营业部柜台办理借记卡挂失，被收取了200元手续费，柜员未事先告知收费标准。")
        public.get_by_label("您希望我们如何处理？", exact=True).fill("退还200元手续费并书面说明。")
        public.get_by_label("文件或照片（JPEG、PNG 或 PDF）", exact=True).set_input_files(
            files=[{"name": "回单.png", "mimeType": "image/png", "buffer": PNG}])
        public.get_by_role("button", name="提交投诉", exact=True).click()
        public.wait_for_url(re.compile(r"/complaint-status/[^/?]+\?"))

        received = public.get_by_role("status")
        expect(received).to_contain_text("谢谢，我们已收到您的投诉。")
        year = datetime.now(ZoneInfo("Asia/Shanghai")).year
        reference = received.locator("strong.reference").inner_text()
        assert re.fullmatch(rf"CMP-{year}-\d{{6}}", reference), reference
        assert "您的投诉编号是" in received.inner_text()
        private_link = received.locator("code").inner_text()
        assert re.fullmatch(rf"{re.escape(live_server)}/complaint-status/[\w-]+", private_link)
        assert public.locator("html").get_attribute("lang") == "zh-Hans"
        expect(public.locator("[aria-current=step]")).to_have_text(re.compile(r"^\s*已受理\s"))

        _db.session.expire_all()
        complaint = _db.session.scalar(sa.select(Complaint).where(
            Complaint.reference == reference))
        assert (complaint.status, complaint.complainant_locale) == ("RECEIVED", "zh_Hans")
        assert complaint.branch_id == bank.branch.id and complaint.business_code == "B03"
        photo = _db.session.scalar(sa.select(Attachment))
        assert photo is not None and photo.filename == "回单.png"
        _db.session.commit()
        detail_url = f"{live_server}/complaints/{complaint.id}"

        # 2. Officer A: the unassigned queue, then every step up to the submitted decision.
        context_a, a = staff_page(browser, live_server, bank.a, errors)
        contexts.append(context_a)
        a.goto(f"{live_server}/complaints/")
        a.get_by_role("link", name=re.compile(r"^未分派")).click()
        a.get_by_role("link", name=reference, exact=True).click()
        a.wait_for_url(detail_url)
        assert a.locator("html").get_attribute("lang") == "zh-Hans"
        expect(a.get_by_role("heading", level=1)).to_contain_text(reference)
        expect(a.get_by_role("link", name="回单.png")).to_be_visible()  # the photo came along

        act(a, "接手处理", "您现在负责处理该投诉。")
        act(a, "受理", "已受理，受理通知已发送给客户。")

        def classify(box):
            box.get_by_label("渠道", exact=True).select_option("A01")
            box.get_by_label("业务类型", exact=True).select_option("B03")
            box.get_by_label("投诉原因", exact=True).select_option("C05")
            box.get_by_label("严重程度", exact=True).select_option("medium")
            box.get_by_label("产品", exact=True).fill("借记卡")

        act(a, "分类", "分类已保存。", classify)

        def declare(box):
            box.get_by_label("本人与该投诉及其处理结果无直接利害关系。", exact=True).check()
            box.get_by_label("说明", exact=True).fill("与投诉人无亲属或业务关系。")

        act(a, "声明无利益冲突", "您的声明已记录。", declare)
        act(a, "开始调查", "已开始调查。")

        def decide(box):
            box.get_by_label("处理结果", exact=True).select_option(label="支持")
            box.get_by_label("补偿金额", exact=True).fill("200.00")
            box.get_by_label("核实情况", exact=True).fill("调阅监控及业务凭证，柜员未告知挂失手续费。")
            box.get_by_label("处理理由", exact=True).fill("收费前未履行告知义务。")
            box.get_by_label("处理依据", exact=True).fill(
                "《银行业金融机构消费者权益保护工作管理办法》关于收费信息披露的规定。")
            box.get_by_label("救济措施", exact=True).fill("退还手续费200元，并对柜员进行培训。")

        act(a, "起草处理决定", "处理决定已起草。", decide)
        act(a, "提交审批", "处理决定待审批。")

        # 3. Four eyes: no approval for the maker — not offered, not in A's approval queue,
        # and a forged request is refused with the reason.
        assert offered(a) and "审批" not in offered(a), offered(a)  # (a holding reply is)
        approval = _db.session.scalar(sa.select(ComplaintApproval).where(
            ComplaintApproval.complaint_id == complaint.id))
        approval_id = approval.id
        _db.session.commit()
        token = a.locator("input[name=csrf_token]").first.input_value()
        forged = context_a.request.post(
            f"{detail_url}/approvals/{approval_id}",
            form={"decide_approval-csrf_token": token, "decide_approval-decision": "approve"},
            max_redirects=0)
        assert forged.status == 400
        assert "经办人不能审批自己的申请。" in forged.text()
        assert "该操作未执行。" in forged.text()
        a.goto(f"{live_server}/complaints/?queue=approvals")
        expect(a.get_by_role("cell", name="此队列中没有投诉。", exact=True)).to_be_visible()
        _db.session.expire_all()
        assert _db.session.get(Complaint, complaint.id).status == "PENDING_APPROVAL"
        _db.session.commit()

        # 4. Officer B approves from "awaiting my approval".
        context_b, b = staff_page(browser, live_server, bank.b, errors)
        contexts.append(context_b)
        b.goto(f"{live_server}/complaints/")
        b.get_by_role("link", name=re.compile(r"^待我审批")).click()
        b.get_by_role("link", name=reference, exact=True).click()
        b.wait_for_url(detail_url)
        box = action_box(b, "审批")
        expect(box).to_contain_text(OFFICER_A)      # who asked
        expect(box).to_contain_text("退还手续费200元")  # what is to be approved
        act(b, "审批", "已批准。", lambda box: box.get_by_label("批准", exact=True).check())
        expect(b.get_by_role("heading", level=1)).to_contain_text(state_label("RESPONSE_ISSUED"))
        assert "审批" not in offered(b)
        expect(b.get_by_role("main")).to_contain_text(f"由 {OFFICER_B} 批准")  # the timeline

        # 5. Issued, the letter kept in the complainant's language and sent; the history holds.
        _db.session.expire_all()
        complaint = _db.session.get(Complaint, complaint.id)
        assert complaint.status == "RESPONSE_ISSUED"
        assert (complaint.outcome, str(complaint.redress_amount)) == ("upheld", "200.00")
        assert complaint.decision_maker_id == bank.a.id
        assert complaint.approved_by_id == bank.b.id
        assert complaint.response_issued_at is not None
        final = _db.session.scalar(sa.select(ComplaintMessage).where(
            ComplaintMessage.complaint_id == complaint.id, ComplaintMessage.kind == "final"))
        assert final is not None and final.locale == "zh_Hans"
        assert final.subject == f"关于您的投诉 {reference} 的处理决定"
        assert reference in final.body and "退还手续费200元" in final.body
        assert final.to_email == "wang.fang@example.test"
        assert final.sent_at is not None and final.error is None
        outbox = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                  for p in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))]
        sent = [m for m in outbox if m["Subject"] == final.subject]
        assert len(sent) == 1 and sent[0]["To"] == "wang.fang@example.test"
        assert reference in sent[0].get_body(("plain",)).get_content()

        assert history.verify_all() == []
        events = list(_db.session.scalars(sa.select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == complaint.id).order_by(ComplaintEvent.seq)))
        kinds = [e.kind for e in events]
        assert kinds == ["received", "ownership", "acknowledged", "letter", "triaged",
                         "no_conflict_declared", "investigation_started", "decision_drafted",
                         "approval_requested", "decision_approved", "letter"], kinds
        by_kind = {e.kind: e for e in events}
        assert all(by_kind[k].actor_id == bank.a.id for k in (
            "ownership", "acknowledged", "triaged", "no_conflict_declared",
            "investigation_started", "decision_drafted", "approval_requested"))
        approved = by_kind["decision_approved"]
        assert (approved.actor_id, approved.approver_id) == (bank.b.id, bank.b.id)
        assert (approved.from_status, approved.to_status) == ("PENDING_APPROVAL",
                                                              "RESPONSE_ISSUED")
        assert by_kind["no_conflict_declared"].reason == "与投诉人无亲属或业务关系。"
        assert events[-1].changes["letter"] == [None, "final"]
        _db.session.commit()

        # 6. The complainant's private page, in the first (anonymous) browser: the answer is
        # sent, in Chinese, with no names of staff.
        public.goto(private_link)
        assert public.locator("html").get_attribute("lang") == "zh-Hans"
        expect(public.get_by_role("heading", level=1)).to_have_text(f"您的投诉 {reference}")
        expect(public.locator("[aria-current=step]")).to_have_text(re.compile(r"^\s*已答复\s"))
        expect(public.get_by_role("main")).to_contain_text("我们发给您的函件")
        expect(public.get_by_role("main")).to_contain_text("最终答复")
        text = public.locator("body").inner_text()
        for staff in (OFFICER_A, OFFICER_B, bank.a.email, bank.b.email):
            assert staff not in text, f"{staff} on the public page"
        assert public.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert not errors, errors
    finally:
        for context in contexts:
            context.close()

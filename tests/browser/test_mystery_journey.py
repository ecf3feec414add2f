"""A mystery shopper on a phone accepts a visit, fills the report with a photo and submits it;
a reviewer returns it with a comment on one question; the shopper corrects and resubmits; the
reviewer approves — and the branch's mystery-shop result moves."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
import sqlalchemy as sa

from qms.auth.models import User
from qms.core.tx import unit_of_work
from qms.core.uploads import Attachment
from qms.extensions import db as _db
from qms.mystery import portal, results, review
from qms.mystery.models import ShopAssignment
from tests.conftest import PASSWORD
from tests.mystery.conftest import (  # noqa: F401 - fixtures used here
    make_assignment,
    make_mystery_survey,
    make_shopper,
    make_wave,
)
from tests.mystery.test_portal import full_form

DESKTOP = {"width": 1280, "height": 900}


def png(width=48, height=32) -> bytes:
    """A real (tiny, red) PNG, so the reviewer's thumbnail really decodes."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\xd0\x20\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                            0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def watch(page, errors):
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error"
            and not re.search(r"status of 4\d\d", msg.text)
            and errors.append(msg.text))


def sign_in(page, live_server, user):
    page.goto(f"{live_server}/login")
    page.get_by_label("电子邮箱", exact=True).fill(user.email)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{live_server}/")


def branch_score(branch_id: int):
    _db.session.expire_all()
    rows = results.by_branch(results.ResultFilter(branch_id=branch_id))
    return (rows[0].reports, rows[0].score) if rows else (0, None)


@pytest.fixture
def scene(app, make_wave, make_assignment, make_shopper, make_user):  # noqa: F811
    """A branch with one approved report already (greeting missed), and a visit offered to
    the shopper of this journey."""
    wave = make_wave()
    qa = make_user("qa", name="质检员")
    earlier = make_assignment(wave=wave, status="accepted")
    with unit_of_work():
        portal.submit_report(earlier, _db.session.get(User, earlier.shopper_id),
                             full_form(greet="no"))
    with unit_of_work():
        review.approve_report(earlier, qa)
    shopper = make_shopper(name="李明")
    visit = make_assignment(wave=wave, shopper=shopper)
    return visit, shopper, qa


def test_phone_report_with_photo_returned_corrected_approved(app, live_server, browser, phone,
                                                              scene):
    visit, shopper, qa = scene
    base = live_server
    before = branch_score(visit.branch_id)
    assert before[0] == 1 and before[1] < 100
    errors: list[str] = []
    watch(phone, errors)

    # -- the shopper, on a phone: accept, fill, photo, submit ---------------------------------
    sign_in(phone, base, shopper)
    phone.goto(f"{base}/mystery/my")
    phone.locator(f"a[href='/mystery/my/{visit.id}']").click()
    assert "询问三个月定期存款利率。" in phone.locator("main").inner_text()  # the script
    phone.locator("form[action$='/accept'] button").click()
    phone.wait_for_url(f"{base}/mystery/my/{visit.id}")
    phone.locator(f"a[href='/mystery/my/{visit.id}/report']").click()
    phone.wait_for_url(f"{base}/mystery/my/{visit.id}/report")

    followup = phone.locator("#q-followup")
    phone.locator("#q_greet_no").check()
    phone.locator("#q_wait_ok_4").check()
    phone.locator("#q_clean_yes").check()
    phone.locator("#q_needs_3").check()
    assert followup.is_hidden()                  # shown from "needs" 4 up (display condition)
    phone.locator("#q_needs_5").check()
    assert followup.is_visible()
    phone.locator("#q_followup_yes").check()
    phone.locator("#q_disclosure_yes").check()
    phone.locator("#q_product_good").check()
    phone.locator("#q_visit_start").fill("2026-03-02T10:00")
    phone.locator("#q_visit_end").fill("2026-03-02T10:25")
    phone.locator("#f_photos").set_input_files(
        files=[{"name": "大堂.png", "mimeType": "image/png", "buffer": png()}])
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
        "no sideways scrolling on a phone"
    phone.locator("button[name=action][value=submit]").click()
    phone.wait_for_url(f"{base}/mystery/my/{visit.id}")
    _db.session.expire_all()
    sent = _db.session.get(ShopAssignment, visit.id)
    assert sent.status == "submitted" and sent.answers["greet"] is False
    [photo] = _db.session.scalars(sa.select(Attachment).where(
        Attachment.owner_type == "shop_report", Attachment.owner_id == visit.id)).all()
    assert sent.answers["photos"] == [photo.id] and photo.mime == "image/png"
    assert branch_score(visit.branch_id) == before  # submitted is not counted

    # -- the reviewer: sees the photo, returns the report with a comment on "greet" -------------
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(10_000)
    desk = context.new_page()
    watch(desk, errors)
    try:
        sign_in(desk, base, qa)
        desk.goto(f"{base}/mystery/review")
        desk.locator(f"a[href='/mystery/review/{visit.id}']").click()
        desk.wait_for_url(f"{base}/mystery/review/{visit.id}")
        thumb = desk.locator("img.shop-thumb")
        thumb.wait_for()
        assert desk.wait_for_function(
            "() => { const i = document.querySelector('img.shop-thumb');"
            " return i && i.complete && i.naturalWidth === 48; }")
        desk.locator("#a-greet details summary").click()
        desk.locator("#c_greet").fill("照片显示大堂经理在门口迎候，请核实。")
        desk.locator("button[name=decision][value=return]").click()
        desk.wait_for_url(f"{base}/mystery/review/{visit.id}")
        _db.session.expire_all()
        assert _db.session.get(ShopAssignment, visit.id).status == "returned"

        # -- the shopper corrects and sends it again ----------------------------------------------
        phone.goto(f"{base}/mystery/my/{visit.id}/report")
        assert "照片显示大堂经理在门口迎候，请核实。" in phone.locator("#comment-greet").inner_text()
        assert phone.locator("#q_greet_no").is_checked()        # what was sent is shown
        assert phone.locator(f"input[name=q_photos][value='{photo.id}']").is_checked()
        phone.locator("#q_greet_yes").check()
        phone.locator("button[name=action][value=submit]").click()
        phone.wait_for_url(f"{base}/mystery/my/{visit.id}")
        _db.session.expire_all()
        again = _db.session.get(ShopAssignment, visit.id)
        assert again.status == "submitted" and again.answers["greet"] is True
        assert again.answers["photos"] == [photo.id]

        # -- the reviewer approves: now it counts, and the branch result moves -------------------
        desk.goto(f"{base}/mystery/review/{visit.id}")
        desk.locator("button[name=decision][value=approve]").click()
        desk.wait_for_url(f"{base}/mystery/review/{visit.id}")
        assert desk.locator("#report-status").inner_text().strip() != ""
    finally:
        context.close()
    _db.session.expire_all()
    done = _db.session.get(ShopAssignment, visit.id)
    assert done.status == "approved" and done.score == pytest.approx(100.0)
    after = branch_score(visit.branch_id)
    assert after[0] == 2
    assert after[1] == pytest.approx((before[1] + 100.0) / 2)
    assert after[1] > before[1]
    assert not errors, errors

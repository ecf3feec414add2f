"""Evidence uploads of a shopper's report: the type is read from the content, the size is
capped, the name is sanitised, the file is stored under its hash and served as a download
with nosniff — to its shopper and to reviewers only."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from qms.auth.models import User
from qms.core.uploads import Attachment
from qms.extensions import db as _db
from qms.mystery.models import ShopAssignment
from tests.mystery.test_portal import full_form

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


def upload(c, a, files: dict, action="save", **fields):
    data = {"action": action, **fields}
    for name, (content, filename) in files.items():
        data[name] = (io.BytesIO(content), filename)
    return c.post(f"/mystery/my/{a.id}/report", data=data, content_type="multipart/form-data")


def attachments() -> list[Attachment]:
    _db.session.expire_all()
    return list(_db.session.scalars(sa.select(Attachment).order_by(Attachment.id)))


@pytest.fixture
def shop(make_assignment, login):
    a = make_assignment(status="accepted")
    shopper = _db.session.get(User, a.shopper_id)
    return a, shopper, login(shopper)


def test_a_file_of_the_wrong_type_with_a_right_extension_is_refused(app, shop):
    a, _shopper, c = shop
    resp = upload(c, a, {"f_photos": (HTML, "photo.jpg")})
    assert resp.status_code == 400
    assert "JPEG" in resp.get_data(as_text=True)
    # a PDF is a real PDF, but a photo question takes pictures only
    resp = upload(c, a, {"f_photos": (PDF, "scan.jpg")})
    assert resp.status_code == 400
    assert attachments() == []
    assert not list(Path(app.config["UPLOAD_DIR"]).rglob("*")) or all(
        p.is_dir() for p in Path(app.config["UPLOAD_DIR"]).rglob("*"))
    # the receipt question takes the PDF
    resp = upload(c, a, {"f_receipt": (PDF, "receipt.pdf")})
    assert resp.status_code == 303
    [att] = attachments()
    assert (att.mime, att.owner_type, att.owner_id) == ("application/pdf", "shop_report", a.id)
    assert _db.session.get(ShopAssignment, a.id).answers["receipt"] == [att.id]


@pytest.mark.parametrize("app", [{"UPLOAD_MAX_BYTES": 1024}], indirect=True)
def test_a_file_too_large_is_refused(app, shop):
    a, _shopper, c = shop
    resp = upload(c, a, {"f_photos": (JPEG + b"\x00" * 2000, "big.jpg")})
    assert resp.status_code == 413
    assert attachments() == []
    resp = upload(c, a, {"f_photos": (JPEG, "small.jpg")})
    assert resp.status_code == 303 and len(attachments()) == 1


def test_a_hostile_file_name_is_sanitised_and_the_path_is_the_hash(app, shop):
    a, _shopper, c = shop
    hostile = "../../etc/<b>passwd\u202e\x07gpj.jpg"
    resp = upload(c, a, {"f_photos": (JPEG, hostile)})
    assert resp.status_code == 303
    [att] = attachments()
    assert "/" not in att.filename and "<" not in att.filename and ".." not in att.filename
    assert "\u202e" not in att.filename and "\x07" not in att.filename
    assert att.filename.endswith(".jpg")
    digest = hashlib.sha256(JPEG).hexdigest()
    assert att.sha256 == digest
    stored = Path(app.config["UPLOAD_DIR"]) / digest[:2] / digest
    assert stored.read_bytes() == JPEG
    files = [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]
    assert files == [stored]


def test_evidence_is_served_as_a_download_with_nosniff_to_its_shopper_and_reviewers(
        app, shop, login, make_shopper, make_user):
    a, shopper, c = shop
    upload(c, a, {"f_photos": (JPEG, "queue.jpg")})
    [att] = attachments()
    url = f"/mystery/my/{a.id}/evidence/{att.id}"
    resp = c.get(url)
    assert resp.status_code == 200 and resp.data == JPEG
    assert resp.mimetype == "image/jpeg"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in resp.headers["Content-Security-Policy"]

    # Another shopper: 404, for the file and through their own assignment's address.
    other = make_shopper()
    theirs_url = f"/mystery/my/{a.id}/evidence/{att.id}"
    oc = login(other, app.test_client())
    assert oc.get(theirs_url).status_code == 404
    # A reviewer sees evidence of submitted reports only.
    reviewer = login(make_user("qa"), app.test_client())
    review_url = f"/mystery/review/{a.id}/evidence/{att.id}"
    assert reviewer.get(review_url).status_code == 404
    resp = upload(c, a, {}, action="submit", **full_form(),
                  q_photos=str(att.id))
    assert resp.status_code == 303
    resp = reviewer.get(review_url)
    assert resp.status_code == 200 and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert reviewer.get(f"/mystery/review/{a.id}/evidence/{att.id + 1}").status_code == 404
    # the shopper role does not reach the reviewers' address
    assert c.get(review_url).status_code == 403

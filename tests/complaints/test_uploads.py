"""Uploads: type by content, size limit, safe names, content-addressed storage with dedup, and
downloads that a browser never renders — through the service and through the pages."""

# ruff: noqa: F811  (fixtures imported from intake_support are used as arguments)

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from qms.core import uploads
from qms.core.tx import unit_of_work
from qms.core.uploads import Attachment
from qms.extensions import db
from tests.complaints.intake_support import (  # noqa: F401
    EXE,
    HTML,
    PDF,
    PNG,
    bank,
    count,
    make,
    upload,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32


def store(data: bytes, name: str, owner_id: int = 1) -> Attachment:
    with unit_of_work():
        return uploads.store_upload(upload(data, name), "complaint", owner_id,
                                    actor_label="test")


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("content,name,mime", [
    (PNG, "receipt.png", "image/png"), (JPEG, "photo.JPG", "image/jpeg"),
    (PDF, "contract.pdf", "application/pdf")])
def test_accepted_types_are_stored_under_their_hash(app, content, name, mime):
    att = store(content, name)
    digest = hashlib.sha256(content).hexdigest()
    assert (att.mime, att.sha256, att.size, att.filename) == (mime, digest, len(content), name)
    path = Path(app.config["UPLOAD_DIR"]) / digest[:2] / digest
    assert path.read_bytes() == content
    assert uploads.path_for(digest) == path


@pytest.mark.parametrize("content,name", [
    (HTML, "photo.png"), (HTML, "scan.jpg"), (EXE, "invoice.jpg"), (EXE, "statement.pdf"),
    (b"GIF89a\x01\x00\x01\x00", "anim.gif"),  # known, but not allowed by default
    (b"\x00" * 100, "zeros.png")])
def test_content_decides_not_the_name(app, content, name):
    with pytest.raises(uploads.UploadError) as exc:
        store(content, name)
    assert exc.value.status == 400
    assert count(Attachment) == 0 and stored_files(app) == []


def test_empty_and_too_large_files_are_refused(app):
    with pytest.raises(uploads.UploadError):
        store(b"", "empty.png")
    app.config["UPLOAD_MAX_BYTES"] = 1024
    with pytest.raises(uploads.UploadError) as exc:
        store(PNG + b"\x00" * 2000, "big.png")
    assert exc.value.status == 413
    assert count(Attachment) == 0 and stored_files(app) == []
    store(PNG, "small.png")  # under the limit


def test_allowed_types_are_configurable(app):
    app.config["UPLOAD_ALLOWED_TYPES"] = ["application/pdf"]
    with pytest.raises(uploads.UploadError):
        store(PNG, "receipt.png")
    assert store(PDF, "x.pdf").mime == "application/pdf"


@pytest.mark.parametrize("given,mime,expected", [
    ("../../etc/passwd", "image/png", "passwd.png"),
    ("..\\..\\windows\\system32\\evil.png", "image/png", "evil.png"),
    ("report.pdf.exe", "application/pdf", "report.pdf.exe.pdf"),
    ("page.html", "image/png", "page.html.png"),
    ("a\x00b\x1b[31mc\u202eexe.png", "image/png", "ab[31mcexe.png"),
    ('my "quoted" <file>.jpeg', "image/jpeg", "my quoted file.jpeg"),
    ("", "application/pdf", "attachment.pdf"),
    ("...", "image/png", "attachment.png"),
    ("发票 扫描件.PDF", "application/pdf", "发票 扫描件.PDF"),
])
def test_display_names_are_sanitised(given, mime, expected):
    assert uploads.sanitise_filename(given, mime) == expected


def test_long_names_are_capped_keeping_the_extension():
    name = uploads.sanitise_filename("x" * 500 + ".png", "image/png")
    assert len(name) <= uploads.FILENAME_MAX and name.endswith(".png")


def test_hostile_name_is_stored_inside_the_upload_dir(app, tmp_path):
    att = store(PNG, "../../etc/passwd")
    assert att.filename == "passwd.png"
    root = Path(app.config["UPLOAD_DIR"]).resolve()
    [path] = stored_files(app)
    assert path.resolve().is_relative_to(root) and path.name == att.sha256
    assert not (tmp_path / "etc").exists()


def test_same_content_is_stored_once(app):
    a = store(PNG, "one.png", owner_id=1)
    b = store(PNG, "two.png", owner_id=2)
    assert a.id != b.id and a.sha256 == b.sha256
    assert len(stored_files(app)) == 1
    assert [x.filename for x in uploads.attachments_of("complaint", 2)] == ["two.png"]


def test_path_for_takes_only_a_hash(app):
    for bad in ("../etc/passwd", "ab", "Z" * 64, ""):
        with pytest.raises(ValueError):
            uploads.path_for(bad)


# -- through the pages --------------------------------------------------------------------------

def test_download_is_an_attachment_with_nosniff_and_scoped(bank, client, login):
    c = make(actor=bank.officer, attachments=[upload(PNG, "../../etc/passwd")])
    att = uploads.attachments_of("complaint", c.id)[0]
    url = f"/complaints/{c.id}/attachments/{att.id}"
    resp = login(bank.officer).get(url)
    assert resp.status_code == 200 and resp.data == PNG
    assert resp.mimetype == "image/png"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "passwd.png" in disposition
    assert "/" not in disposition.split("filename=")[1]
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert login(bank.head_sh).get(url).status_code == 200
    assert login(bank.head_bj).get(url).status_code == 404  # another branch's complaint
    # an attachment of another complaint through this complaint's address: 404
    other = make(actor=bank.officer, complainant_email="o@example.test", business_code="B01",
                 attachments=[upload(PDF, "o.pdf")])
    other_att = uploads.attachments_of("complaint", other.id)[0]
    assert login(bank.officer).get(f"/complaints/{c.id}/attachments/{other_att.id}") \
        .status_code == 404


def test_staff_form_refuses_disguised_and_large_files(bank, client, login, app):
    c = login(bank.officer)
    form = {"complainant_name": "王芳", "complainant_email": "w@example.test",
            "complainant_locale": "zh_Hans", "segment": "standard", "branch_code": "SH01",
            "channel_code": "A01", "business_code": "B03", "severity": "medium",
            "source": "direct", "description": "年费"}
    resp = c.post("/complaints/new", data={**form, "attachments": (io.BytesIO(HTML), "x.png")},
                  content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "This kind of file is not accepted" in resp.get_data(as_text=True)
    app.config["UPLOAD_MAX_BYTES"] = 100
    resp = c.post("/complaints/new", data={**form, "attachments": (io.BytesIO(PDF * 10),
                                                                    "big.pdf")},
                  content_type="multipart/form-data")
    assert resp.status_code == 400 and "larger than" in resp.get_data(as_text=True)
    assert count(Attachment) == 0


def test_adding_a_document_later_is_recorded(bank, client, login):
    c = make(actor=bank.officer)
    resp = login(bank.officer).post(f"/complaints/{c.id}/attachments",
                                    data={"attachment": (io.BytesIO(PDF), "新材料.pdf")},
                                    content_type="multipart/form-data")
    assert resp.status_code == 303
    db.session.refresh(c)
    assert [a.filename for a in uploads.attachments_of("complaint", c.id)] == ["新材料.pdf"]
    assert c.events[-1].kind == "attachment_added"
    bad = login(bank.officer).post(f"/complaints/{c.id}/attachments",
                                   data={"attachment": (io.BytesIO(EXE), "x.pdf")},
                                   content_type="multipart/form-data")
    assert bad.status_code == 303
    assert len(uploads.attachments_of("complaint", c.id)) == 1
    # readers may not add
    assert login(bank.head_sh).post(f"/complaints/{c.id}/attachments").status_code == 403

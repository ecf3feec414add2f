"""Personal (/s/<token>) and counter (/c/<token>) links: their tokens, URLs and QR codes.

Only hash_token(token) is stored. The token itself is derived with HMAC-SHA256 from a server
key and the row's id, so the same link can be written again into a reminder or onto a reprinted
QR poster without ever being kept in the database; a database dump alone opens no survey.
The key is LINK_TOKEN_KEY, falling back to SECRET_KEY. Changing it leaves links already sent
working (their hashes are stored) but reminders and QR pages of older rows then refuse to print
a link that would not open (LinkKeyChanged).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from flask import current_app, has_request_context, request

from qms.core.tokens import TOKEN_BYTES, hash_token, new_token

PERSONAL = "invitation"
COUNTER = "counter"


class LinkKeyChanged(RuntimeError):
    """The stored hash does not match the derived token: the link key changed since."""


def _key() -> bytes:
    cfg = current_app.config
    return (cfg.get("LINK_TOKEN_KEY") or cfg["SECRET_KEY"]).encode()


def derive_token(kind: str, row_id: int) -> str:
    """192 bits, URL-safe, as long as a new_token()."""
    mac = hmac.new(_key(), f"qms-link/{kind}/{row_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:TOKEN_BYTES]).decode().rstrip("=")


def placeholder_hash() -> str:
    """A unique hash for a row that gets no usable link (or none yet)."""
    return hash_token(new_token("unused-"))


def assign_token(obj, kind: str) -> str:
    """Give a flushed row (it has an id) its link; returns the token, which is not stored."""
    token = derive_token(kind, obj.id)
    obj.token_hash = hash_token(token)
    return token


def token_for(obj, kind: str) -> str:
    token = derive_token(kind, obj.id)
    if not hmac.compare_digest(hash_token(token), obj.token_hash):
        raise LinkKeyChanged(f"{kind} {obj.id}")
    return token


def base_url() -> str:
    """PUBLIC_BASE_URL (set it for the scheduler: there is no request to learn the host from)."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    return "http://127.0.0.1:5000"


def personal_url(token: str) -> str:
    return f"{base_url()}/s/{token}"


def opt_out_url(token: str) -> str:
    return f"{base_url()}/s/{token}/opt-out"


def counter_url(token: str) -> str:
    return f"{base_url()}/c/{token}"


def qr_svg(data: str, size_mm: int = 60, label: str = "") -> str:
    """An inline SVG QR code (no external assets, no inline styles: the CSP forbids them)."""
    import qrcode
    import qrcode.image.svg

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       image_factory=qrcode.image.svg.SvgPathFillImage)
    qr.add_data(data)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    svg = re.sub(r'width="[^"]*" height="[^"]*"', f'width="{size_mm}mm" height="{size_mm}mm"',
                 svg, count=1)
    safe_label = (label.replace("&", "&amp;").replace('"', "&quot;")
                  .replace("<", "&lt;").replace(">", "&gt;"))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{safe_label}" ', 1)

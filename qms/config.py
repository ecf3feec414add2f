"""Configuration in layers: defaults here -> instance/config.py -> QMS_* environment -> test dict."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOCALES = ("zh_Hans", "zh_Hant", "en")

ROLES = ("admin", "qa", "auditor", "complaints", "branch_head", "agent", "shopper")


class Defaults:
    """Safe defaults; every key may be overridden by a later layer."""

    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # None -> SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    BABEL_DEFAULT_LOCALE = "zh_Hans"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = LOCALES

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "qms_session"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = 8 * 3600

    PASSWORD_HASH_METHOD = "scrypt"
    PASSWORD_MIN_LENGTH = 10
    # Login throttling: this many failures for one e-mail (or from one address) within the
    # window lock further attempts until the window has passed.
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW = 15 * 60
    LOGIN_MAX_FAILURES_PER_IP = 30

    # Behind a TLS proxy / load balancer: how many proxies set X-Forwarded-For/-Proto/-Host.
    # 0 trusts no header (then every client behind one proxy shares the proxy's address,
    # which matters for sign-in throttling and rate limits).
    PROXY_COUNT = 0

    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    IMPORT_BATCH_SIZE = 500

    SMTP_HOST: str | None = None
    SMTP_PORT = 25
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = False
    MAIL_FROM = "qms@localhost"

    SMTP_TIMEOUT = 30
    # Absolute links in e-mails and QR codes (the scheduler has no request to take them from).
    PUBLIC_BASE_URL: str | None = None  # None: the request's host, or http://127.0.0.1:5000
    # Key deriving personal survey links (HMAC of the invitation); defaults to SECRET_KEY.
    # Changing it keeps links already sent working but makes reminders of older ones skip.
    LINK_TOKEN_KEY: str | None = None

    # Public pages (survey links, opt-out, later complaint intake), per client address and
    # worker process; "off" disables. A shared limit belongs in the proxy in front.
    RATELIMIT_PUBLIC = "60/minute"

    SURVEY_MIN_SAMPLE = 10      # below it a KPI shows "insufficient data"
    FOLLOWUP_DUE_DAYS = 3       # days a branch has to call back a detractor

    # Complaint deadlines: the installation's policy (CN_NFRA_2020, UK_FCA_DISP, US_CFPB or the
    # code of a custom policy saved by an administrator).
    COMPLAINT_SLA_POLICY = "CN_NFRA_2020"
    COMPLAINT_ALWAYS_APPROVE = True            # every decision goes to a second person
    COMPLAINT_APPROVAL_THRESHOLD = "1000"      # redress above this always needs approval
    COMPLAINT_APPROVER_ROLE = "complaints"
    COMPLAINT_REOPEN_DAYS = 30
    COMPLAINT_ESCALATION_THRESHOLDS = (50, 80, 100)   # percent of the allowed time
    COMPLAINT_OMBUDSMAN_WAIVER = False         # UK: include the time-limit waiver statement
    COMPLAINT_LETTER_SIGNATURE: str | None = None
    COMPLAINT_REFERENCE_PREFIX = "CMP"
    COMPLAINT_REFERENCE_TIMEZONE = "Asia/Shanghai"   # the year in CMP-YYYY-NNNNNN
    COMPLAINT_MAX_BACKDATE_DAYS = 366
    COMPLAINT_MAX_ATTACHMENTS = 10
    COMPLAINT_DUE_SOON_DAYS = 3
    COMPLAINT_REPORT_TIMEZONE: str | None = None      # None: BABEL_DEFAULT_TIMEZONE
    RATELIMIT_COMPLAINT = "10/hour"                   # public complaint submissions per address

    UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    UPLOAD_ALLOWED_TYPES = ("image/jpeg", "image/png", "application/pdf")

    QA_DISPUTE_DAYS = 14   # an agent may dispute an evaluation this many days after release

    SCHEDULER_ENABLED = True


def _coerce(raw: str, current):
    """Environment values are strings; give them the type of the default they replace."""
    if isinstance(current, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int) and not isinstance(current, bool):
        return int(raw)
    if isinstance(current, (dict, list, tuple)):
        return json.loads(raw)
    return raw


def load_config(app, overrides: dict | None = None) -> None:
    """Apply the layers in order and fill in what is derived from the instance folder."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)

    for key, raw in os.environ.items():
        if not key.startswith("QMS_"):
            continue
        name = key[4:]
        if name == "DATABASE_URL":
            name = "SQLALCHEMY_DATABASE_URI"
        app.config[name] = _coerce(raw, app.config.get(name))

    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'qms.sqlite'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    app.config.setdefault("OUTBOX_DIR", str(instance / "outbox"))
    app.config.setdefault("UPLOAD_DIR", str(instance / "uploads"))

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        opts.setdefault("connect_args", {}).setdefault("timeout", 30)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts


def _instance_secret(instance: Path) -> str:
    """A random key written once to instance/secret_key, never to the repository."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key

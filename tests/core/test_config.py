"""Configuration layers: defaults -> instance/config.py -> QMS_* environment -> test dict."""

from __future__ import annotations

import os
import stat

from flask import Flask

from qms.config import load_config


def _app(instance):
    return Flask("qms_cfg_test", instance_path=str(instance), instance_relative_config=True)


def test_defaults_apply_and_sqlite_lives_in_instance(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("QMS_"):
            monkeypatch.delenv(key)
    app = _app(tmp_path)
    load_config(app)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'qms.sqlite'}"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh_Hans"


def test_layers_override_in_order(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        "MAIL_FROM = 'instance@bank'\nSMTP_PORT = 2525\nLOGIN_MAX_FAILURES = 7\n")
    monkeypatch.setenv("QMS_SMTP_PORT", "1025")
    monkeypatch.setenv("QMS_SESSION_COOKIE_SECURE", "0")
    monkeypatch.setenv("QMS_DATABASE_URL", "postgresql+psycopg://u@h/db")
    app = _app(tmp_path)
    load_config(app, {"LOGIN_MAX_FAILURES": 3})
    assert app.config["MAIL_FROM"] == "instance@bank"        # instance file beats default
    assert app.config["SMTP_PORT"] == 1025                    # environment beats file, typed
    assert app.config["SESSION_COOKIE_SECURE"] is False       # booleans parsed
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert app.config["LOGIN_MAX_FAILURES"] == 3              # the test dict beats all


def test_secret_key_is_generated_once_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("QMS_SECRET_KEY", raising=False)
    app = _app(tmp_path)
    load_config(app)
    key = app.config["SECRET_KEY"]
    path = tmp_path / "secret_key"
    assert len(key) >= 64 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = _app(tmp_path)
    load_config(again)
    assert again.config["SECRET_KEY"] == key
    other = _app(tmp_path / "elsewhere")
    load_config(other)
    assert other.config["SECRET_KEY"] != key


def test_importing_the_package_starts_nothing():
    import subprocess
    import sys

    code = ("import threading, qms; "
            "assert threading.active_count() == 1, threading.enumerate(); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr

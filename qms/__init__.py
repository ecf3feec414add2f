"""QMS: quality management and surveys for retail banks and insurers."""

from __future__ import annotations

from flask import Flask

from qms.config import ROOT, load_config


def create_app(config: dict | None = None) -> Flask:
    """Build the app: bind extensions, register blueprints, return. Starts nothing."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    load_config(app, config)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from qms import errors
    from qms.core import i18n, permissions, security
    from qms.core.db import configure_sqlite
    from qms.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=i18n.select_timezone,
                   default_translation_directories=str(ROOT / "qms" / "translations"))
    with app.app_context():
        configure_sqlite(db.engine)

    _import_models()
    permissions.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)

    for blueprint in _blueprints():
        app.register_blueprint(blueprint)
        if blueprint.name.endswith("_api"):
            csrf.exempt(blueprint)  # bearer tokens are not ambient credentials

    from qms import cli

    cli.init_app(app)
    return app


def _import_models() -> None:
    """Every domain's models, so that metadata (and migrations) see all tables."""
    import qms.audits.evidence  # noqa: F401
    import qms.audits.models  # noqa: F401
    import qms.auth.models  # noqa: F401
    import qms.complaints.models  # noqa: F401
    import qms.core.audit  # noqa: F401
    import qms.core.jobruns  # noqa: F401
    import qms.core.uploads  # noqa: F401
    import qms.mystery.models  # noqa: F401
    import qms.org.models  # noqa: F401
    import qms.qa.models  # noqa: F401
    import qms.scorecards.deliveries  # noqa: F401
    import qms.scorecards.models  # noqa: F401
    import qms.surveys.models  # noqa: F401


def _blueprints():
    from qms.audits.views import bp as audits
    from qms.auth.views import bp as auth
    from qms.complaints.api import bp as complaints_api
    from qms.complaints.views import bp as complaints
    from qms.complaints.views import public_bp as complaint_public
    from qms.core.api import bp as core_api
    from qms.main import bp as main
    from qms.mystery.views import bp as mystery
    from qms.org.api import bp as org_api
    from qms.org.views import bp as org
    from qms.qa.api import bp as qa_api
    from qms.qa.views import bp as qa
    from qms.scorecards.api import bp as scorecards_api
    from qms.scorecards.views import bp as scorecards
    from qms.surveys.api import bp as surveys_api
    from qms.surveys.views import bp as surveys
    from qms.surveys.views import public_bp as respond

    return [main, auth, org, surveys, respond, complaints, complaint_public,
            qa, mystery, audits, scorecards, core_api, org_api, surveys_api, complaints_api,
            qa_api, scorecards_api]

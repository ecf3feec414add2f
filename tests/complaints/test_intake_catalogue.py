"""Every string of the intake, queue, report and public pages is translated — in the main
catalogues or in this part's fragments (complaints-intake.*.po, merged by the lead) — with the
same placeholders as its source."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from qms.config import LOCALES
from tests.core.test_i18n import placeholders

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "qms" / "translations"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
SOURCES = [
    "qms/complaints/intake.py", "qms/complaints/codes.py", "qms/complaints/queues.py",
    "qms/complaints/reports.py", "qms/complaints/casefile.py", "qms/complaints/policies.py",
    "qms/complaints/intake_forms.py", "qms/complaints/views/intake.py",
    "qms/complaints/views/queues.py", "qms/complaints/views/detail.py",
    "qms/complaints/views/reports.py", "qms/complaints/views/admin.py",
    "qms/complaints/views/public.py", "qms/core/uploads.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "templates" / "complaints").rglob("*.html")
            if p.parent.name not in ("actions", "letters", "mail")),
]


def _messages() -> dict:
    found = {}
    for name in SOURCES:
        method = "python" if name.endswith(".py") else "jinja2"
        for _line, msg, _comments, _ctx in extract_from_file(method, ROOT / name,
                                                             keywords=KEYWORDS):
            found[msg if isinstance(msg, str) else tuple(msg)] = name
    return found


def _catalogue(path: Path) -> dict:
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        return {m.id if isinstance(m.id, str) else tuple(m.id): m for m in read_po(fh) if m.id}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_translated_with_its_placeholders(locale):
    main = _catalogue(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    fragment = _catalogue(TRANSLATIONS / "fragments" / f"complaints-intake.{locale}.po")
    missing, wrong = [], []
    for msgid, where in _messages().items():
        entry = fragment.get(msgid) or main.get(msgid)
        strings = ([entry.string] if isinstance(entry.string, str) else list(entry.string)) \
            if entry is not None else []
        if not any(strings):
            missing.append(f"{where}: {msgid!r}")
            continue
        source = msgid if isinstance(msgid, str) else msgid[-1]
        for s in strings:
            if Counter(placeholders(s)) != Counter(placeholders(source)):
                wrong.append(f"{msgid!r} -> {s!r}")
    assert not missing, "untranslated:\n" + "\n".join(missing)
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)

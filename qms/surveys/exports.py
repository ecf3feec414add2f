"""Response exports, CSV and XLSX: one row per response, one column per question, streamed.

Rows come from one query over responses LEFT JOIN answers ordered by response, fetched in
batches (a server-side cursor on PostgreSQL), and are grouped per response on the fly, so
exporting 200,000 responses holds one batch in memory, never the whole set. XLSX goes through
xlsxwriter's constant_memory mode into a temporary file that is then streamed and deleted.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from qms.core import audit
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.surveys.definition import text
from qms.surveys.models import Answer, Campaign, Response, SurveyVersion
from qms.surveys.results import Filters, response_conditions
from qms.surveys.results_questions import YESNO_LABELS, survey_questions

BATCH = 1000
CHUNK = 64 * 1024
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True)
class Column:
    header: str
    key: str | None = None  # question key; None for the fixed columns
    row: str | None = None  # matrix row


def guard(value):
    """Text that a spreadsheet would run as a formula gets a leading quote (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


FIXED = ("response", "completed_at", "version", "campaign", "branch_code", "branch", "agent_code",
         "agent", "channel", "segment", "language")


def _fixed_headers() -> list[str]:
    return [_("Response"), _("Completed (UTC)"), _("Version"), _("Campaign"), _("Branch code"),
            _("Branch"), _("Agent code"), _("Agent"), _("Channel"), _("Segment"), _("Language")]


def columns(f: Filters, locale: str) -> tuple[list[Column], dict[str, dict]]:
    """Headers in `locale` and the questions by key."""
    qs = survey_questions(f)
    with force_locale(locale):
        cols = [Column(h) for h in _fixed_headers()]
    for q in qs:
        label = text(q.get("label"), locale)
        if q["type"] == "matrix":
            cols += [Column(f"{label} — {text(r.get('label'), locale)}", q["key"], r["key"])
                     for r in q.get("rows", [])]
        else:
            cols.append(Column(label, q["key"]))
    return cols, {q["key"]: q for q in qs}


def _option_labels(questions: dict[str, dict], locale: str) -> dict[tuple[str, str], str]:
    labels = {}
    with force_locale(locale):
        yes_no = {k: str(v) for k, v in YESNO_LABELS.items()}
    for key, q in questions.items():
        if q["type"] == "yesno":
            labels.update({(key, k): v for k, v in yes_no.items()})
        for o in q.get("options", []):
            labels[(key, o["key"])] = text(o.get("label"), locale)
    return labels


def _number(v: float | None):
    if v is None:
        return None
    return int(v) if float(v).is_integer() else v


def _rows_query(f: Filters):
    return (sa.select(Response.id, Response.completed_at, SurveyVersion.number, Campaign.name,
                      Branch.code, Branch.name, Agent.code, Agent.name, Response.channel,
                      Response.segment, Response.locale, Answer.question_key, Answer.qtype,
                      Answer.row_key, Answer.choice_key, Answer.num_value, Answer.text_value)
            .select_from(Response)
            .join(SurveyVersion, SurveyVersion.id == Response.version_id)
            .outerjoin(Campaign, Campaign.id == Response.campaign_id)
            .outerjoin(Branch, Branch.id == Response.branch_id)
            .outerjoin(Agent, Agent.id == Response.agent_id)
            .outerjoin(Answer, Answer.response_id == Response.id)
            .where(*response_conditions(f))
            .order_by(Response.id, Answer.id)
            .execution_options(yield_per=BATCH))


def iter_rows(f: Filters, locale: str) -> Iterator[list]:
    """The header row, then one list of cell values per response (None for no answer)."""
    cols, questions = columns(f, locale)
    yield [c.header for c in cols]
    options = _option_labels(questions, locale)
    position = {(c.key, c.row): i for i, c in enumerate(cols) if c.key is not None}
    result = db.session.execute(_rows_query(f))
    for _rid, group in itertools.groupby(result, key=lambda r: r[0]):
        cells: list = [None] * len(cols)
        chosen: dict[int, list[str]] = {}
        for r in group:
            if cells[0] is None:
                cells[:len(FIXED)] = [r[0], r[1].strftime("%Y-%m-%d %H:%M:%S"), *r[2:11]]
            key, qtype, row, choice, num, txt = r[11:]
            i = position.get((key, row))
            if i is None:
                continue  # no answer row, or a key no longer in any definition
            if qtype == "multiple":
                chosen.setdefault(i, []).append(options.get((key, choice), choice))
            elif choice is not None:
                cells[i] = options.get((key, choice), choice)
            elif txt is not None:
                cells[i] = txt
            else:
                cells[i] = _number(num)
        for i, labels in chosen.items():
            cells[i] = "; ".join(labels)
        yield cells
    result.close()


def csv_chunks(f: Filters, locale: str) -> Iterator[str]:
    """CSV text in chunks of about 64 KB, with a BOM so that Excel reads the Chinese."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    for cells in iter_rows(f, locale):
        writer.writerow(["" if v is None else guard(v) for v in cells])
        if buf.tell() >= CHUNK:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue()


def write_xlsx(f: Filters, locale: str, path: str) -> int:
    """Write the export to `path` in constant memory; return the number of responses."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_numbers": False, "strings_to_urls": False,
                                          "tmpdir": tempfile.gettempdir()})
    sheet = workbook.add_worksheet(_("Responses")[:31])
    bold = workbook.add_format({"bold": True})
    count = -1
    for r, cells in enumerate(iter_rows(f, locale)):
        for c, value in enumerate(cells):
            if value is None:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(r, c, value)
            else:  # write_string: a cell text is never a formula
                sheet.write_string(r, c, str(value), bold if r == 0 else None)
        count = r
    sheet.freeze_panes(1, 1)
    workbook.close()
    return max(count, 0)


def xlsx_file(f: Filters, locale: str) -> str:
    """The export in a temporary file, to be sent with stream_file (which removes it)."""
    fd, path = tempfile.mkstemp(prefix="qms-export-", suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(f, locale, path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def stream_file(path: str) -> Iterator[bytes]:
    """The file's bytes in chunks. The name is removed at once (the open handle keeps the data
    readable), so nothing is left behind even if the download is never read."""
    fh = open(path, "rb")  # noqa: SIM115 - closed by the generator or when it is collected
    os.unlink(path)

    def chunks():
        with fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    return chunks()


def record_export(f: Filters, *, fmt: str, locale: str, actor, ip: str | None, rows: int):
    """The audit row every export leaves (who, what, which filters, how many responses)."""
    details = {"format": fmt, "locale": locale, "responses": rows,
               "filters": {k: v for k, v in {
                   "campaign": f.campaign_id, "branch": f.branch_id, "agent": f.agent_id,
                   "segment": f.segment, "channel": f.channel,
                   "versions": list(f.version_ids) or None,
                   "from": f.start.isoformat() if f.start else None,
                   "to": f.end.isoformat() if f.end else None,
                   "scope": sorted(f.scope) if f.scope is not None else None}.items()
                   if v is not None}}
    return audit.record("export", actor=actor, subject=f"survey:{f.survey_id}:responses", ip=ip,
                        details=details)

"""CSV import of branches, agents and customers: all rows or none, every bad row reported."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from qms.core.tx import unit_of_work
from qms.extensions import db as _db
from qms.org.importer import KINDS, ImportRejected, import_csv, reading
from qms.org.models import Agent, Branch, Customer

ENCODING_ERROR = "The file is not in the chosen text encoding."


def csv_text(*lines: str, eol: str = "\n") -> str:
    return eol.join(lines) + eol


def load(kind: str, text: str | bytes, **kw):
    """Run the import as the CLI and the web do: one unit of work; messages in English."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    with force_locale("en"), unit_of_work():
        return import_csv(kind, io.BytesIO(data), **kw)


def rejected(kind: str, text: str | bytes, **kw) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportRejected) as info:
        load(kind, text, **kw)
    return [(e.line, e.column, e.message) for e in info.value.result.errors]


def count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def rows_of(model, *attrs) -> set[tuple]:
    _db.session.expire_all()
    return set(_db.session.execute(sa.select(*(getattr(model, a) for a in attrs))).all())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request):
    """The app on SQLite, then on PostgreSQL (skipped when none answers), with branch B001."""
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    _db.session.add(Branch(code="B001", name="总行营业部", region="华东", city="上海"))
    _db.session.commit()
    return app


def branch_id(code: str) -> int:
    return _db.session.scalar(sa.select(Branch.id).where(Branch.code == code))


# -- good files: insert, then update by key --------------------------------------------------

GOOD = {
    "branches": (
        csv_text("code,name,region,city,timezone,active",
                 "B101,外滩支行,华东,上海,,yes",
                 "B102,西湖支行,华东,杭州,Asia/Shanghai,",
                 'B103,"Central, HK",华南,香港,Asia/Hong_Kong,no'),
        csv_text("code,name,region,city,timezone,active",
                 "B101,外滩支行（新）,华东,上海,,否",
                 "B104,福田支行,华南,深圳,,"),
        Branch, ("code", "name", "active"),
        {("B101", "外滩支行（新）", False), ("B102", "西湖支行", True),
         ("B103", "Central, HK", False), ("B104", "福田支行", True)},
    ),
    "agents": (
        csv_text("code,name,branch_code,team,active",
                 "A001,张三,B001,柜面,",
                 "A002,李四,B001,,no"),
        csv_text("code,name,branch_code,team,active",
                 "A002,李四,B001,理财,yes",
                 "A003,王五,B001,,"),
        Agent, ("code", "name", "team", "active"),
        {("A001", "张三", "柜面", True), ("A002", "李四", "理财", True),
         ("A003", "王五", None, True)},
    ),
    "customers": (
        csv_text("ref,name,email,phone,segment,locale,home_branch_code",
                 "C001,王伟,Wang.Wei@Example.CN,+86 138 0000 0001,VIP,zh_Hans,B001",
                 "C002,李娜,,,,,",
                 "C003,Anna Lee,anna@example.com,,standard,en,"),
        csv_text("ref,name,email,phone,segment,locale,home_branch_code",
                 "C002,李娜,lina@example.cn,,vip,zh_Hant,B001",
                 "C004,赵强,,,,,"),
        Customer, ("ref", "name", "email", "segment", "locale"),
        {("C001", "王伟", "wang.wei@example.cn", "vip", "zh_Hans"),
         ("C002", "李娜", "lina@example.cn", "vip", "zh_Hant"),
         ("C003", "Anna Lee", "anna@example.com", "standard", "en"),
         ("C004", "赵强", None, "standard", "zh_Hans")},
    ),
}


@pytest.mark.parametrize("kind", GOOD)
def test_good_file_imports_and_a_second_import_updates_by_key(store, kind):
    first, second, model, attrs, expected = GOOD[kind]
    assert load(kind, first).rows == first.count("\n") - 1
    assert count(model) == first.count("\n") - 1 + (1 if model is Branch else 0)
    result = load(kind, second, batch_size=1)
    assert result.ok and result.rows == 2
    got = rows_of(model, *attrs)
    if model is Branch:
        got = {r for r in got if r[0] != "B001"}
    assert got == expected  # updated in place: no key twice, nothing lost


def test_imported_values_are_stored_clean(store):
    load("customers", csv_text(
        "Ref , NAME,email,phone,segment,locale,home_branch_code",
        "  C001 ,\u3000王伟 ,  WANG@EXAMPLE.CN ,  +86 138 0000 0001 , Vip ,en, B001 "))
    c = _db.session.scalar(sa.select(Customer))
    assert (c.ref, c.name, c.email, c.phone, c.segment, c.locale, c.home_branch_id) == (
        "C001", "王伟", "wang@example.cn", "+86 138 0000 0001", "vip", "en", branch_id("B001"))
    assert c.opted_out_at is None and c.created_at is not None


# -- bad files: nothing imported, every bad row reported ---------------------------------------

BAD = {
    "customers": (
        csv_text("ref,name,email,phone,segment,locale,home_branch_code",
                 "C001,王伟,wang@example.cn,+86 138 0000 0001,vip,zh_Hans,B001",
                 "C002,李娜,,,,,",
                 "C003,张敏,not-an-email,,standard,en,B001",
                 "C004,刘洋,,,,,B999",
                 "C005,,,,,,B001",
                 "C006,陈静,,,gold,,",
                 "C001,王伟二,,,,,",
                 "C007,杨磊,,",
                 "C008,赵强,,,,,B001",
                 "C009,吴芳,bad@,12,VIP,fr,B001",
                 "C010,周杰,,,,,"),
        [(4, "email", "Not an e-mail address."),
         (5, "home_branch_code", "No branch has the code B999."),
         (6, "name", "A value is required."),
         (7, "segment", "Use one of: standard, vip."),
         (8, "ref", "C001 already appears on line 2."),
         (9, "", "Expected 7 values, found 4."),
         (11, "email", "Not an e-mail address."),
         (11, "phone", "Not a phone number."),
         (11, "locale", "Use one of: zh_Hans, zh_Hant, en.")],
        Customer,
    ),
    "branches": (
        csv_text("code,name,region,city,timezone,active",
                 "B101,外滩支行,华东,上海,,yes",
                 "B102,西湖支行,华东,杭州,Asia/Shanghai,",
                 "B103,玄武支行,华东,南京,Mars/Olympus,",
                 "B104,,华东,苏州,,",
                 "B 105,五支行,华东,苏州,,",
                 "B101,重复支行,华东,上海,,",
                 "B106,六支行,华东",
                 "B107,七支行,华东,无锡,,maybe",
                 "B108,八支行,华东,无锡,,"),
        [(4, "timezone", "Unknown time zone Mars/Olympus."),
         (5, "name", "A value is required."),
         (6, "code", "Use letters, digits, '-', '_' or '.' only."),
         (7, "code", "B101 already appears on line 2."),
         (8, "", "Expected 6 values, found 3."),
         (9, "active", "Use yes or no.")],
        Branch,
    ),
    "agents": (
        csv_text("code,name,branch_code,team,active",
                 "A001,张三,B001,柜面,",
                 "A002,李四,B001,,no",
                 "A003,王五,B999,,",
                 "A004,,B001,,",
                 "A005,赵六,,,",
                 "A001,张三二,B001,,",
                 "A006,孙七",
                 "A007,周八,B001,,maybe",
                 "A008,吴九,B001,,"),
        [(4, "branch_code", "No branch has the code B999."),
         (5, "name", "A value is required."),
         (6, "branch_code", "A value is required."),
         (7, "code", "A001 already appears on line 2."),
         (8, "", "Expected 5 values, found 2."),
         (9, "active", "Use yes or no.")],
        Agent,
    ),
}


@pytest.mark.parametrize("batch_size, chunk", [(2, 500), (500, 500), (5, 2)])
@pytest.mark.parametrize("kind", BAD)
def test_a_file_with_bad_rows_imports_nothing_and_reports_every_bad_row(
        store, monkeypatch, kind, batch_size, chunk):
    monkeypatch.setattr(reading, "READ_CHUNK", chunk)  # batches read in several steps
    text, expected, model = BAD[kind]
    before = count(model)
    with force_locale("en"), pytest.raises(ImportRejected) as info:
        import_csv(kind, io.BytesIO(text.encode()), batch_size=batch_size)
    result = info.value.result
    assert [(e.line, e.column, e.message) for e in result.errors] == expected
    assert result.rows == text.count("\n") - 1
    if batch_size == 2:
        # the good rows before the first bad one were written in a batch of their own...
        assert count(model) == before + 2
    _db.session.rollback()  # ...and the boundary's rollback takes them back
    assert count(model) == before


def test_bad_rows_after_written_batches_leave_nothing_through_the_unit_of_work(store):
    good = [f"C{i:04d},客户{i},,,,," for i in range(1, 26)]
    text = csv_text("ref,name,email,phone,segment,locale,home_branch_code", *good,
                    "C0026,客户26,,,platinum,,", *good[:2])
    assert rejected("customers", text, batch_size=5) == [
        (27, "segment", "Use one of: standard, vip."),
        (28, "ref", "C0001 already appears on line 2."),
        (29, "ref", "C0002 already appears on line 3.")]
    assert count(Customer) == 0


@pytest.mark.parametrize("chunk", [1, 2, 500])
def test_line_numbers_count_physical_lines(store, monkeypatch, chunk):
    monkeypatch.setattr(reading, "READ_CHUNK", chunk)
    text = csv_text("ref,name,email,phone,segment,locale,home_branch_code",
                    'C001,"王', '伟",,,,,',              # one record on lines 2-3
                    "",                                   # a blank line is skipped
                    "C002,李娜,bad,,,,",                  # line 5
                    'C003,"多\r行",also bad,,,,',         # lines 6-7 (a lone CR breaks a line)
                    "C004,,,,,,",                         # line 8
                    eol="\r\n")
    for batch_size in (1, 3, 500):
        assert rejected("customers", text, batch_size=batch_size) == [
            (5, "email", "Not an e-mail address."),
            (6, "email", "Not an e-mail address."),
            (8, "name", "A value is required.")]


def test_a_multi_line_value_imports(store):
    load("customers", csv_text("ref,name", 'C001,"王', '伟"', "", "C002,李娜"))
    assert rows_of(Customer, "ref", "name") == {("C001", "王\n伟"), ("C002", "李娜")}


def test_a_nul_character_is_reported_as_the_wrong_encoding(app):
    assert rejected("customers", csv_text("ref,name", "C001,王\x00伟", "C002,李娜")) == [
        (2, "name", ENCODING_ERROR)]
    assert count(Customer) == 0


# -- header problems ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, errors", [
    ("ref,email\nC001,a@b.cn\n", [(1, "name", "This column is missing.")]),
    ("ref,name,nickname\nC001,王伟,小王\n", [(1, "nickname", "Unknown column.")]),
    ("ref,name,Name\nC001,王伟,王伟\n", [(1, "name", "A column appears twice.")]),
    ("ref,name,\nC001,王伟,\n", [(1, "", "Unknown column.")]),
    ("", [(1, "", "The file is empty.")]),
    ("\ufeff", [(1, "", "The file is empty.")]),
    ("\n\n", [(1, "", "The file is empty.")]),
    ("phone,nickname\n", [(1, "nickname", "Unknown column."),
                          (1, "ref", "This column is missing."),
                          (1, "name", "This column is missing.")]),
])
def test_header_problems_are_reported_and_nothing_imported(app, text, errors):
    assert rejected("customers", text) == errors
    assert count(Customer) == 0


def test_a_header_after_blank_lines_is_found(app):
    load("customers", "\n\nref,name\nC001,王伟\n")
    assert rows_of(Customer, "ref") == {("C001",)}


# -- encodings ---------------------------------------------------------------------------------

CHINESE = csv_text("ref,name,home_branch_code", "C001,王伟,B001", "C002,欧阳娜娜,",
                   "C003,𠀾先生,B001")  # 𠀾 needs GB18030's four-byte form (not in GBK)


def test_gb18030_file_imports_with_gb18030(store):
    result = load("customers", CHINESE.encode("gb18030"), encoding="gb18030")
    assert result.rows == 3
    assert rows_of(Customer, "ref", "name") == {("C001", "王伟"), ("C002", "欧阳娜娜"),
                                               ("C003", "𠀾先生")}


def test_gb18030_bytes_read_as_utf8_are_refused_with_a_clear_message(store):
    assert rejected("customers", CHINESE.encode("gb18030")) == [(1, "", ENCODING_ERROR)]
    assert rejected("customers", CHINESE.encode("gb18030"), encoding="utf-8") == [
        (1, "", ENCODING_ERROR)]
    assert count(Customer) == 0


def test_an_encoding_error_far_into_the_file_is_refused(app):
    good = [f"C{i:05d},客户{i}" for i in range(1, 3001)]  # ~50 KB of good UTF-8 first
    data = csv_text("ref,name", *good).encode() + "C03001,王伟\n".encode("gb18030")
    errors = rejected("customers", data, batch_size=100)
    assert [message for _line, _column, message in errors] == [ENCODING_ERROR]
    assert errors[0][0] > 1
    assert count(Customer) == 0


def test_utf8_with_bom_imports(app):
    load("customers", ("\ufeff" + CHINESE.replace(",B001", ",")).encode("utf-8"))
    assert count(Customer) == 3


def test_progress_reports_every_byte(app):
    data = csv_text("ref,name", *(f"C{i:05d},客户{i}" for i in range(5000))).encode()
    seen = []
    with unit_of_work():
        import_csv("customers", io.BytesIO(data), progress=seen.append)
    assert sum(seen) == len(data) and len(seen) > 1


# -- updates keep what the file does not own ---------------------------------------------------

def test_an_update_import_never_clears_opt_out_or_created_at(store):
    opted = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    created = datetime(2024, 1, 1, tzinfo=UTC)
    _db.session.add(Customer(ref="C001", name="王伟", email="old@example.cn", phone="13800000000",
                             opted_out_at=opted, created_at=created))
    _db.session.commit()
    load("customers", csv_text("ref,name,email,phone,segment,locale,home_branch_code",
                               "C001,王伟伟,new@example.cn,,vip,en,B001"))
    _db.session.expire_all()
    c = _db.session.scalar(sa.select(Customer))
    assert (c.name, c.email, c.phone, c.segment, c.home_branch_id) == (
        "王伟伟", "new@example.cn", None, "vip", branch_id("B001"))
    assert c.opted_out_at == opted and c.created_at == created
    # a file without a column leaves that column alone
    load("customers", csv_text("ref,name", "C001,王伟"))
    _db.session.expire_all()
    c = _db.session.scalar(sa.select(Customer))
    assert (c.name, c.email, c.segment, c.opted_out_at) == ("王伟", "new@example.cn", "vip", opted)


# -- no per-row queries ------------------------------------------------------------------------

def _statements(kind: str, text: str, batch_size: int) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _executemany):
        seen.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", record)
    try:
        load(kind, text, batch_size=batch_size)
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", record)
    return seen


def _customers(prefix: str, n: int) -> str:
    return csv_text("ref,name,email,phone,segment,locale,home_branch_code",
                    *(f"{prefix}{i:05d},客户{i},c{i}@example.cn,+86 138 {i:08d},,,B001"
                      for i in range(n)))


def test_the_import_issues_one_statement_per_batch_not_per_row(store):
    new_1000 = _statements("customers", _customers("C", 1000), 1000)
    new_5000 = _statements("customers", _customers("D", 5000), 1000)
    again_1000 = _statements("customers", _customers("C", 1000), 1000)
    again_5000 = _statements("customers", _customers("D", 5000), 1000)
    assert count(Customer) == 6000
    assert len(new_1000) <= 3, new_1000
    assert len(again_1000) <= 4, again_1000  # a first try as new rows, then the update
    assert len(new_5000) - len(new_1000) == 4  # one more statement per extra batch of 1000
    assert len(again_5000) - len(again_1000) == 4
    for statements, selects, inserts in ((new_1000, 1, 1), (new_5000, 1, 5),
                                         (again_1000, 1, 2), (again_5000, 1, 6)):
        kinds = [s.lstrip().split()[0].upper() for s in statements]
        assert (kinds.count("SELECT"), kinds.count("INSERT")) == (selects, inserts), statements


# -- fast column checks agree with the value-by-value checks ----------------------------------

AWKWARD = [
    "", " ", "\t", "\u3000", "\xa0", "\x1f", "\x1c", "\u2028", "\x85", "a", " a", "a ", "a\x1fb",
    "a\x00b", "\x00", "王伟", "\u3000王伟\u3000", "王\n伟", "王伟\n", "a\tb", "x" * 32, "x" * 33,
    "x" * 64, "x" * 65, "x" * 100, "x" * 101, "x" * 200, "x" * 201, "A-1_b.c", "-A1", "A 1",
    "A/1", "B001", " B001", "B999", "wang@example.cn", "Wang.Wei@Example.CN", " w@e.cn ",
    "w@e.cn\n", "w@e", "w@@e.cn", "w e@e.cn", "a" * 245 + "@example.cn", "a" * 244 + "@e.cn",
    "İ@example.cn", "a@b..c", "a.b+c@d-e.f.g", "x@y.z", "x@.y.z", "x@y.z.", "王@例子.中国", "+86 138 0000 0001", "+86 138 ", " 13800000000", "12345", "1234",
    "+-1234", "-1234", "+8613800000000", "1" * 32, "1" * 33, "１２３４５", "123-", "123 45 ",
    "vip", "VIP", " Vip ", "gold", "standard", "ſtandard", "zh_Hans", "en", "EN", "yes", "No",
    "是", "否", "maybe", "Asia/Shanghai", "Asia/Hong_Kong", "UTC", "Mars/Olympus",
]


def _fields():
    seen = {}
    for kind in KINDS.values():
        for column in kind.columns:
            seen.setdefault(repr(vars(column.field)) + type(column.field).__name__, column.field)
    return list(seen.values())


def _slow(field, value, ctx):
    try:
        return True, field.check(value, ctx)
    except ValueError:
        return False, None


@pytest.mark.parametrize("field", _fields(), ids=lambda f: type(f).__name__)
def test_column_checks_agree_with_value_checks(app, field):
    ctx = {"branches": {"B001": 1}}
    slow = {v: _slow(field, v, ctx) for v in AWKWARD}
    for values in itertools.chain(([v] for v in AWKWARD), itertools.product(AWKWARD, repeat=2)):
        fast = field.check_column(list(values), ctx)
        if fast is None:
            continue
        assert all(slow[v][0] for v in values), (values, fast)
        assert fast == [slow[v][1] for v in values], values


@pytest.mark.parametrize("kind", KINDS)
def test_clean_columns_take_the_fast_path(app, kind):
    ctx = {"branches": {"B001": 1}}
    typical = {"code": ["B001", "A-01"], "ref": ["C001", "C002"], "name": ["王伟", "Anna Lee"],
               "region": ["华东", "华南"], "city": ["上海", "深圳"], "timezone": ["", "UTC"],
               "active": ["", "no"], "branch_code": ["B001", "B001"], "team": ["", "柜面"],
               "email": ["a@b.cn", ""], "phone": ["+86 138 0000 0001", ""],
               "segment": ["vip", ""], "locale": ["en", ""], "home_branch_code": ["", "B001"]}
    for column in KINDS[kind].columns:
        assert column.field.check_column(typical[column.name], ctx) is not None, column.name


# -- the command line --------------------------------------------------------------------------

def test_cli_imports_a_good_file(runner, make_branch, tmp_path):
    make_branch(code="B001")
    path = tmp_path / "customers.csv"
    path.write_text(GOOD["customers"][0], encoding="utf-8")
    result = runner.invoke(args=["import", "customers", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 3 customers" in result.stdout
    assert count(Customer) == 3


def test_cli_imports_gb18030_with_the_encoding_option(runner, make_branch, tmp_path):
    make_branch(code="B001")
    path = tmp_path / "customers.csv"
    path.write_bytes(CHINESE.encode("gb18030"))
    result = runner.invoke(args=["import", "customers", str(path), "--encoding", "gb18030"])
    assert result.exit_code == 0, result.output
    assert rows_of(Customer, "name") == {("王伟",), ("欧阳娜娜",), ("𠀾先生",)}


def test_cli_refuses_a_bad_file_listing_every_error(runner, make_branch, tmp_path):
    make_branch(code="B001")
    text, expected, _model = BAD["customers"]
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["import", "customers", str(path)])
    assert result.exit_code == 1
    assert f"nothing imported: {len(expected)} errors" in result.stderr
    listed = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert [line.split(":")[0] for line in listed] == [
        f"line {n}, column {c or '-'}" for n, c, _m in expected]
    assert "imported" not in result.stdout
    assert count(Customer) == 0


def test_cli_refuses_an_unknown_encoding(runner, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("ref,name\nC001,王伟\n", encoding="utf-8")
    result = runner.invoke(args=["import", "customers", str(path), "--encoding", "klingon"])
    assert result.exit_code == 2
    assert "klingon" in result.stderr
    assert count(Customer) == 0


# -- the web upload ----------------------------------------------------------------------------

def _upload(client, kind: str, data: bytes, encoding: str = "utf-8-sig"):
    return client.post(f"/org/import/{kind}?lang=en", data={
        "file": (io.BytesIO(data), f"{kind}.csv"), "encoding": encoding,
    }, content_type="multipart/form-data")


def test_admin_uploads_a_good_file(client, login, make_user, make_branch):
    make_branch(code="B001")
    login(make_user("admin"))
    response = _upload(client, "customers", GOOD["customers"][0].encode())
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("3 rows imported.") == 1  # not twice
    assert count(Customer) == 3
    response = _upload(client, "customers", CHINESE.encode("gb18030"), encoding="gb18030")
    assert response.status_code == 200
    assert rows_of(Customer, "ref", "name") == {("C001", "王伟"), ("C002", "欧阳娜娜"),
                                               ("C003", "𠀾先生")}


def test_admin_upload_of_a_bad_file_shows_every_error_and_imports_nothing(
        client, login, make_user, make_branch):
    make_branch(code="B001")
    login(make_user("admin"))
    text, expected, _model = BAD["customers"]
    response = _upload(client, "customers", text.encode())
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for line, column, message in expected:
        message = message.replace("'", "&#39;")
        assert f"<tr><td>{line}</td><td>{column}</td><td>{message}</td></tr>" in page
    assert count(Customer) == 0


def test_upload_in_the_wrong_encoding_is_refused(client, login, make_user, make_branch):
    make_branch(code="B001")
    login(make_user("admin"))
    response = _upload(client, "customers", CHINESE.encode("gb18030"))
    assert response.status_code == 400
    assert ENCODING_ERROR in response.get_data(as_text=True)
    assert count(Customer) == 0


@pytest.mark.parametrize("role", ["qa", "complaints", "auditor"])
def test_non_admin_may_not_import(client, login, make_user, role):
    login(make_user(role))
    assert client.get("/org/import/customers").status_code == 403
    assert _upload(client, "customers", b"ref,name\nC001,X\n").status_code == 403
    assert count(Customer) == 0


def test_unknown_kind_is_not_found(client, login, make_user):
    login(make_user("admin"))
    assert client.get("/org/import/users").status_code == 404

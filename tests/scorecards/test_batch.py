"""The batch: every current snapshot's PDF in a pool of processes, resumable; and the CLI."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pypdf import PdfReader

from qms.extensions import db
from qms.scorecards.batch import plan, render_period, sidecar
from qms.scorecards.cli import scorecards_cli
from qms.scorecards.models import ScorecardSnapshot
from qms.scorecards.snapshots import content_hash
from tests.scorecards.pdf_sample import make_snapshot

PERIOD = "2026-03"


@pytest.fixture
def snapshots(app, make_branch, make_agent):
    a = make_branch(code="BA", name="甲支行")
    b = make_branch(code="BB", name="乙支行")
    agent = make_agent(a, code="BA-01", name="甲坐席")
    return {"BA": make_snapshot(a), "BB": make_snapshot(b), "BA-01": make_snapshot(a, agent=agent),
            "old": make_snapshot(a, period="2026-02")}


def supersede(old: ScorecardSnapshot, **changes) -> ScorecardSnapshot:
    """A recompute with other figures: a new current row, the old one pointing at it."""
    data = copy.deepcopy(old.data)
    data["overall"].update(changes)
    old.superseded_by_id = old.id
    db.session.flush()
    new = ScorecardSnapshot(scope=old.scope, branch_id=old.branch_id, agent_id=old.agent_id,
                            entity_code=old.entity_code, period=old.period,
                            model_version_id=old.model_version_id, data=data,
                            content_hash=content_hash(data), cutoff_at=old.cutoff_at)
    db.session.add(new)
    db.session.flush()
    old.superseded_by_id = new.id
    db.session.commit()
    return new


def mtimes(paths) -> dict[str, int]:
    return {p: Path(p).stat().st_mtime_ns for p in paths}


def test_a_pool_of_two_renders_every_pdf_once_then_only_what_changed(app, tmp_path, snapshots):
    out = tmp_path / "out"
    jobs = plan(PERIOD, out)
    assert sorted(j.code for j in jobs) == ["BA", "BA-01", "BB"]  # not February's
    expected = {str(out / PERIOD / "branches" / "BA.pdf"), str(out / PERIOD / "branches" / "BB.pdf"),
                str(out / PERIOD / "agents" / "BA-01.pdf")}
    assert {j.path for j in jobs} == expected

    ticks = []
    first = render_period(PERIOD, out, workers=2, locale="en", progress=ticks.append)
    assert set(first.rendered) == expected and not first.skipped and not first.failed
    assert sum(ticks) == 3
    for path in expected:
        reader = PdfReader(path)
        assert "2026-03" in reader.pages[0].extract_text()
    ba = snapshots["BA"]
    assert sidecar(Path(jobs[0].path)).read_text().split() in (
        [ba.content_hash, "en"], [snapshots["BB"].content_hash, "en"])
    before = mtimes(expected)

    second = render_period(PERIOD, out, workers=2, locale="en")
    assert not second.rendered and set(second.skipped) == expected
    assert mtimes(expected) == before

    new = supersede(ba, score=55.5, rag="red")
    third = render_period(PERIOD, out, workers=2, locale="en")
    ba_pdf = str(out / PERIOD / "branches" / "BA.pdf")
    assert third.rendered == [ba_pdf] and set(third.skipped) == expected - {ba_pdf}
    assert sidecar(Path(ba_pdf)).read_text().split() == [new.content_hash, "en"]
    assert "55.5" in PdfReader(ba_pdf).pages[0].extract_text()


def test_a_half_written_pdf_is_rendered_again(app, tmp_path, snapshots):
    out = tmp_path / "out"
    job = next(j for j in plan(PERIOD, out) if j.code == "BB")
    Path(job.path).parent.mkdir(parents=True)
    Path(job.path).write_bytes(b"%PDF-1.7 truncated")  # a crash before the sidecar
    result = render_period(PERIOD, out, workers=1, locale="en", jobs=[job])
    assert result.rendered == [job.path]
    assert len(PdfReader(job.path).pages) >= 2


def test_cli_render_shows_progress_and_is_resumable(app, tmp_path, make_branch):
    make_snapshot(make_branch(code="BD", name="丁支行"))
    runner = app.test_cli_runner()
    out = tmp_path / "cli"
    args = ["render", "--period", PERIOD, "--out", str(out), "--workers", "1",
            "--locale", "en"]
    first = runner.invoke(scorecards_cli, args)
    assert first.exit_code == 0, first.output
    assert "1 rendered, 0 unchanged, 0 failed" in first.output
    assert "Rendering 2026-03" in first.output  # the progress bar
    assert (out / PERIOD / "branches" / "BD.pdf").is_file()
    second = runner.invoke(scorecards_cli, args)
    assert "0 rendered, 1 unchanged" in second.output
    # another language is another rendering
    third = runner.invoke(scorecards_cli, [*args[:-1], "zh_Hans"])
    assert "1 rendered, 0 unchanged" in third.output

    bad = runner.invoke(scorecards_cli, ["render", "--period", "2026-13"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
    none = runner.invoke(scorecards_cli, ["render", "--period", "2025-01", "--out", str(out)])
    assert none.exit_code == 1 and "scorecards compute --period 2025-01" in none.output


def test_cli_compute_stores_the_periods_snapshots(app, make_branch, make_agent):
    branch = make_branch(code="BC", name="丙支行")
    make_agent(branch, code="BC-01")
    runner = app.test_cli_runner()
    result = runner.invoke(scorecards_cli, ["compute", "--period", "2026-01"])
    assert result.exit_code == 0, result.output
    assert "1 branch and 1 agent" in result.output
    db.session.rollback()
    assert {s.entity_code for s in db.session.query(ScorecardSnapshot)
            .filter_by(period="2026-01")} == {"BC", "BC-01"}

"""What a killed or stopped writer leaves: temporaries swept when a run is taken over, and
SIGTERM turned into the interrupt that saves a run's state."""

from __future__ import annotations

import os
import signal
import time

import pytest

from greennlp import files
from greennlp.cli import _terminate_as_interrupt


def test_sweep_removes_temporaries_and_restores_a_folder_cut_between_renames(tmp_path):
    (tmp_path / "record.json").write_text("{}")
    (tmp_path / ".record.json.ab12.tmp").write_text('{"half')
    (tmp_path / "models" / ".final.cd34.tmp").mkdir(parents=True)
    (tmp_path / "models" / ".final.cd34.tmp" / "weights").write_text("new, half")
    (tmp_path / "models" / ".final.old").mkdir()  # renamed away, the new one not yet in
    (tmp_path / "models" / ".final.old" / "weights").write_text("old")
    (tmp_path / "search" / "t0" / "final").mkdir(parents=True)
    (tmp_path / "search" / "t0" / ".final.old").mkdir()  # both renames done, not removed
    (tmp_path / ".progress").mkdir()
    (tmp_path / ".progress" / "report.json").write_text("{}")
    assert files.sweep_temporaries(tmp_path) == 4
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == [".progress", ".progress/report.json", "models", "models/final",
                    "models/final/weights", "record.json", "search", "search/t0",
                    "search/t0/final"]
    assert (tmp_path / "models" / "final" / "weights").read_text() == "old"


def test_sigterm_interrupts_a_run_and_the_handler_is_put_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), _terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises as soon as the signal arrives
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_interrupt_that_a_library_turned_into_its_own_error_is_an_interrupt(
        tmp_path, csv_path, monkeypatch):
    """Ctrl-C or SIGTERM while a C extension is imported comes out as ImportError
    ("initialization failed"): still exit 130 with the resume command, no traceback."""
    from typer.testing import CliRunner

    import greennlp.tasks.classification_stages as stages
    from greennlp.cli import app

    def interrupted_import(*a, **k):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc
    monkeypatch.setattr(stages, "prepare", interrupted_import)
    result = CliRunner().invoke(app, ["run", "models=[tfidf_logreg]", "search.enabled=false",
                                      "seeds.count=1", "compress.methods=[]",
                                      f"data.source={csv_path}", f"output_dir={tmp_path}"])
    assert result.exit_code == 130, result.output
    assert "resume with `greennlp run --resume" in result.output

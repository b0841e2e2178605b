"""A finished run shared by the integration tests of exports, serving, MLflow and moved
run folders: a tiny encoder that learns the test data, and its ONNX int8 variant."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from greennlp.run import find_record
from tests.conftest import TINY_OVERRIDES, make_frame

RUN_OVERRIDES = [o for o in TINY_OVERRIDES if not o.startswith(("models=", "compress.methods=",
                                                                 "transformer.train.epochs="))]
RUN_OVERRIDES += ["models=[transformer]", "transformer.train.epochs=4",
                  "transformer.train.lr=0.003", "compress.methods=[quantize]",
                  "compress.quantize.backends=[onnx]", "compress.reference=transformer"]


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """(runs folder, record) of a completed run: ``transformer`` (selected) and
    ``transformer+onnx-int8``, with saved test predictions."""
    root = tmp_path_factory.mktemp("finished")
    make_frame(300).to_csv(root / "reviews.csv", index=False)
    runs = root / "runs"
    result = CliRunner().invoke(app, ["run", *RUN_OVERRIDES, f"data.source={root / 'reviews.csv'}",
                                      f"output_dir={runs}"])
    assert result.exit_code == 0, result.output
    record = find_record(store.list_runs(runs)[0]["run_id"], str(runs))
    assert record.select().name == "transformer"
    assert record.model("transformer+onnx-int8") is not None
    return runs, record

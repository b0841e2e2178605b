import subprocess
import sys

import pytest

from greennlp.config import to_dict
from greennlp.tasks import load_config
from greennlp.errors import UserError


def test_lm_section_defaults_overrides_and_rules():
    cfg = load_config(None, ["task=lm", "lm.gpt.d_model=64", "lm.scaling.widths=[32,64]"])
    assert cfg.task == "lm" and cfg.lm.gpt.d_model == 64 and cfg.lm.scaling.widths == (32, 64)
    assert to_dict(cfg)["data"]["source"] == "movie_dialogs" and "corpus" not in to_dict(cfg)["lm"]
    assert cfg.lm.evaluation.protocol == "stream" and cfg.data.documents == "paragraphs"
    assert load_config(None, []).task == "classification"  # the default is unchanged
    for override, message in ((["lm.models=[gpt5]"], "Unknown language model 'gpt5'"),
                              (["lm.gpt.positions=rotary"], "choose one of: learned, sinusoidal"),
                              (["lm.scaling.widths=[48]"], "at least two widths"),
                              (["data.dev_fraction=0.5", "data.test_fraction=0.45"],
                               "at least 10% for training"),
                              (["lm.evaluation.window=64", "lm.evaluation.stride=64"],
                               "stride \\(64\\) must be smaller than lm.evaluation.window"),
                              (["data.documents=pages"], "choose one of: paragraphs, lines")):
        with pytest.raises(UserError, match=message):
            load_config(None, ["task=lm", *override])


def test_either_config_module_can_be_imported_first():
    for first in ("greennlp.config.lm", "greennlp.config.compress", "greennlp.config"):
        code = f"import {first}; from greennlp.config import RunConfig; print(RunConfig().lm.vocab_size)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.strip() == "4096", out.stderr

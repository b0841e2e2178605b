import pytest

from greennlp.tasks import load_config
from greennlp.errors import UserError


def test_compress_section_defaults_and_overrides():
    cfg = load_config(None, ["compress.prune.sparsities=[0.9,0.95]", "compress.methods=[prune]",
                             "compress.distill.layers=3"])
    assert cfg.compress.prune.sparsities == (0.9, 0.95)
    assert cfg.compress.methods == ("prune",) and cfg.compress.distill.layers == 3
    assert load_config().compress.methods == ("quantize", "distill", "early_exit", "prune", "pie")


@pytest.mark.parametrize("override, words", [
    ("compress.methods=[shrink]", "compress.methods"),
    ("compress.prune.sparsities=[1.2]", "strictly between 0 and 1"),
    ("compress.quantize.backends=[tvm]", "compress.quantize.backends"),
    ("compress.distill.alpha=2", "compress.distill.alpha"),
    ("compress.pie.seeds=0", "compress.pie.seeds"),
    ("compress.prune.scope=row", "compress.prune.scope"),
])
def test_bad_compress_settings_are_one_sentence(override, words):
    with pytest.raises(UserError, match=words.replace(".", r"\.")):
        load_config(None, [override])


def test_quick_profile_compresses_on_a_budget():
    cfg = load_config("quick")
    assert cfg.compress.pie.seeds == 3 and cfg.compress.prune.train.max_steps == 20
    assert cfg.compress.distill.train.max_steps == 20

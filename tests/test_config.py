import pytest

from greennlp.config import RunConfig, parse_override, profiles, to_dict
from greennlp.tasks import load_config
from greennlp.errors import UserError


def test_defaults_are_the_documented_run():
    cfg = load_config()
    assert cfg == RunConfig()
    assert cfg.data.source == "rotten_tomatoes"
    assert cfg.models == ("tfidf_logreg", "transformer", "minilm")


def test_overrides_are_typed():
    cfg = load_config(None, ["seed=3", "transformer.train.lr=0.002", "data.split=stratified",
                             "models=[tfidf_logreg]", "data.max_examples=500",
                             "data.drop_duplicates=false"])
    assert cfg.seed == 3 and cfg.transformer.train.lr == 0.002
    assert cfg.models == ("tfidf_logreg",) and cfg.data.max_examples == 500
    assert cfg.data.drop_duplicates is False


def test_int_is_accepted_for_float_but_not_the_reverse():
    assert load_config(None, ["measure.pue=2"]).measure.pue == 2.0
    with pytest.raises(UserError, match="'seed' must be int"):
        load_config(None, ["seed=1.5"])


def test_scientific_notation_without_a_dot_is_a_float(tmp_path):
    """YAML 1.1 reads 5e-5 as a string; a float setting takes it as the number meant."""
    assert load_config(None, ["transformer.train.lr=5e-5"]).transformer.train.lr == 5e-5
    (tmp_path / "c.yaml").write_text("minilm:\n  train:\n    lr: 3E-4\n")
    assert load_config(str(tmp_path / "c.yaml")).minilm.train.lr == 3e-4
    with pytest.raises(UserError, match="must be a finite number"):
        load_config(None, ["measure.pue=1e999"])
    with pytest.raises(UserError, match="'seed' must be int"):
        load_config(None, ["seed=1e3"])


@pytest.mark.parametrize("override, message", [
    ("sed=1", "Unknown config key 'sed'"),
    ("transformer.train.epoch=1", "Unknown config key 'transformer.train.epoch'"),
    ("transformer.train.epochs=two", "'transformer.train.epochs' must be int"),
    ("data.split=bymovie", "choose one of: auto, random"),
    ("data.test_fraction=0.9", "between 0.01 and 0.5"),
    ("models=[bert_huge]", "Unknown model name 'bert_huge'"),
    ("data.drop_duplicates=maybe", "must be bool"),
    ("seed", "not of the form key=value"),
])
def test_bad_config_is_one_clear_sentence(override, message):
    with pytest.raises(UserError, match=message) as info:
        load_config(None, [override])
    assert "\n" not in str(info.value)


def test_yaml_and_toml_files(tmp_path):
    (tmp_path / "a.yaml").write_text("seed: 7\ntransformer:\n  num_layers: 3\n")
    (tmp_path / "b.toml").write_text("seed = 8\n[data]\nsplit = 'random'\n")
    assert load_config(str(tmp_path / "a.yaml")).transformer.num_layers == 3
    cfg = load_config(str(tmp_path / "b.toml"), ["seed=9"])
    assert cfg.data.split == "random" and cfg.seed == 9


def test_bad_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_config(str(tmp_path / "missing.yaml"))
    (tmp_path / "bad.yaml").write_text("seed: [1,\n")
    with pytest.raises(UserError, match="cannot be parsed"):
        load_config(str(tmp_path / "bad.yaml"))
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(UserError, match="must be a mapping"):
        load_config(str(tmp_path / "list.yaml"))
    with pytest.raises(UserError, match="built-in profile"):
        load_config("no_such_profile")


def test_profiles_resolve():
    assert "quick" in profiles()
    quick = load_config("quick")
    assert quick.data.max_examples and quick.data.max_examples < 5000


def test_roundtrip_through_dict():
    from greennlp.config import from_dict

    cfg = load_config("quick", ["seed=4"])
    assert from_dict(RunConfig, to_dict(cfg)) == cfg


def test_parse_override_reads_yaml_values():
    assert parse_override("a.b=[1, 2]") == ("a.b", [1, 2])
    assert parse_override("x=") == ("x", "")


def test_search_spaces_merge_entry_by_entry_and_null_removes():
    cfg = load_config(None, ["search.families.transformer.trials=2",
                             "search.families.tfidf_logreg=null"])
    assert list(cfg.search.families) == ["transformer"]
    assert cfg.search.families["transformer"].trials == 2
    assert "lr" in cfg.search.families["transformer"].space  # the default space is kept
    from greennlp.config import from_dict

    assert from_dict(RunConfig, to_dict(cfg)) == cfg  # a resolved config reads back as is


def test_only_supported_families_can_be_searched():
    with pytest.raises(UserError, match="'transformer_mlm' in search.families cannot be searched"):
        load_config(None, ["search.families.transformer_mlm.trials=2"])
    with pytest.raises(UserError, match="in seeds.models"):
        load_config(None, ["seeds.models=[gpt]"])

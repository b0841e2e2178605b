"""Checks before work: a base model named by a folder or Hub id is found before the data
stage, and a tokenizer that reads the training texts as special tokens only is refused
(one sentence, exit 2) instead of training a majority-class model."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from greennlp import store
from greennlp.cli import app
from greennlp.errors import UserError

runner = CliRunner()


@pytest.mark.parametrize("name, says", [
    ("./no_such_model", "does not exist"),
    ("someone/never-downloaded-encoder", "neither a local folder nor in the Hugging Face cache"),
])
def test_a_missing_base_model_is_refused_before_any_stage(tmp_path, csv_path, monkeypatch,
                                                          name, says):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "models=[tfidf_logreg,pretrained]",
                                 f"pretrained.name_or_path={name}", f"data.source={csv_path}",
                                 f"output_dir={tmp_path / 'runs'}"])
    assert result.exit_code == 2 and says in result.output, result.output
    assert "Traceback" not in result.output
    (failed,) = store.list_runs(tmp_path / "runs")
    assert failed["status"] == "failed" and failed["duration_s"] == 0  # no stage ran


def _empty_vocabulary():
    """What ``RobertaTokenizerFast(vocab_file=...)`` leaves under transformers 5: special
    tokens and nothing else."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tok = Tokenizer(models.WordLevel({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3},
                                     unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


def test_a_tokenizer_of_special_tokens_only_is_refused_before_training(tmp_path):
    from transformers import RobertaConfig

    from greennlp.config import TrainConfig
    from greennlp.models.classifier import EncoderClassifier
    from greennlp.models.hf_format import build_classifier
    from greennlp.train.classifiers import fit_encoder
    from tests.compress.conftest import tiny_splits

    config = RobertaConfig(vocab_size=4, hidden_size=16, num_hidden_layers=1,
                           num_attention_heads=2, intermediate_size=32, num_labels=2, pad_token_id=1)
    model = EncoderClassifier(build_classifier(config), _empty_vocabulary(), ["neg", "pos"], 32,
                              "pretrained")
    with pytest.raises(UserError, match=r"turns 240 of 240 training texts \(100%\) into "
                                        r"special tokens only") as err:
        fit_encoder(model, TrainConfig(epochs=1, min_steps=0), tiny_splits(), 0,
                    tmp_path / "ckpt", desc="train")
    assert str(err.value).count(". ") == 0  # one sentence


def test_a_few_texts_of_special_tokens_only_are_allowed():
    from greennlp.models.hf_format import check_tokenization

    tok = _empty_vocabulary()
    check_tokenization(tok, [[0, 5, 2]] * 95 + [[0, 2]] * 5, "a model")  # 5%: allowed
    with pytest.raises(UserError, match="6 of 100"):
        check_tokenization(tok, [[0, 5, 2]] * 94 + [[0, 3, 2]] * 6, "a model")

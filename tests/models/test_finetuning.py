"""Parameter-efficient fine-tuning (``finetune.method``): LoRA and IA3 through peft, frozen
lower layers; merged exports predict what the adapted model predicted; the adapter alone
is saved in peft's format and opens over the base model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greennlp.config.sections import FinetuneConfig
from greennlp.errors import UserError
from greennlp.models import load_model
from greennlp.models.finetuning import ADAPTER_DIR, finish, prepare, trainable_counts
from greennlp.models.pretrained import load_pretrained, open_classifier
from tests.models.tiny_hf import make_tiny_encoder

pytest.importorskip("peft")

TEXTS = ["a good film", "bad and dull", "good good great", "dull plot, bad acting", "fine"]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    return make_tiny_encoder("bert", tmp_path_factory.mktemp("tiny") / "bert", layers=3)


def _model(folder, **finetune):
    return prepare(load_pretrained(str(folder), ["neg", "pos"], 32, seed=0),
                   FinetuneConfig(**finetune))


def _perturb_adapters(model) -> None:
    """Adapters start as the identity (LoRA's B = 0, IA3's vectors = 1): move them, as
    training would, so that merging has something to add."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.model.named_parameters():
            if "lora_" in name or "ia3_" in name:
                p.add_(0.3 * torch.randn(p.shape, generator=gen))


@pytest.mark.parametrize("method", ["lora", "ia3"])
def test_the_merged_export_predicts_what_the_adapted_model_predicted(encoder_dir, tmp_path,
                                                                     method):
    model = _model(encoder_dir, method=method, lora_r=4)
    _perturb_adapters(model)
    adapted = model.predict_proba(TEXTS)
    finish(model)
    assert not hasattr(model.model, "peft_config")  # a plain transformers classifier now
    np.testing.assert_allclose(model.predict_proba(TEXTS), adapted, atol=1e-5)
    model.save(tmp_path / "model")
    np.testing.assert_allclose(load_model(tmp_path / "model").predict_proba(TEXTS), adapted,
                               atol=1e-5)
    from greennlp.compress.export import export_hf

    exported = export_hf(load_model(tmp_path / "model"), tmp_path / "export")
    np.testing.assert_allclose(open_classifier(exported).predict_proba(TEXTS), adapted,
                               atol=1e-5)


def test_the_adapter_alone_opens_in_peft_over_the_base_model(encoder_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    model = _model(encoder_dir, method="lora", lora_r=4)
    _perturb_adapters(model)
    adapted = model.predict_proba(TEXTS)
    finish(model).save(tmp_path / "model")
    adapter = tmp_path / "model" / ADAPTER_DIR
    assert sorted(p.name for p in adapter.iterdir()) == ["adapter_config.json",
                                                         "adapter_model.safetensors"]
    torch.manual_seed(123)  # the head comes from the adapter, not from this seed
    base = AutoModelForSequenceClassification.from_pretrained(encoder_dir, num_labels=2)
    reopened = PeftModel.from_pretrained(base, adapter).eval()
    model.model = reopened
    np.testing.assert_allclose(model.predict_proba(TEXTS), adapted, atol=1e-5)
    # the adapter is a small share of the model's weights
    size = sum(p.stat().st_size for p in adapter.iterdir())
    assert size < (tmp_path / "model" / "model.safetensors").stat().st_size / 2


def test_lora_trains_only_the_adapters_and_the_head(encoder_dir):
    model = _model(encoder_dir, method="lora", lora_r=2)
    trainable = [n for n, p in model.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or "classifier" in n for n in trainable)
    facts = model.finetune
    assert facts["method"] == "lora" and facts["lora_r"] == 2
    assert 0 < facts["trainable_params"] < facts["total_params"] / 5
    assert facts["stored_bytes"] == 4 * facts["trainable_params"]  # fp32


def test_freeze_keeps_the_embeddings_and_lowest_layers_fixed(encoder_dir):
    model = _model(encoder_dir, method="freeze", freeze_layers=2)
    bert = model.model.bert
    assert not any(p.requires_grad for p in bert.embeddings.parameters())
    assert not any(p.requires_grad for layer in bert.encoder.layer[:2] for p in layer.parameters())
    assert all(p.requires_grad for p in bert.encoder.layer[2].parameters())
    before = {n: p.detach().clone() for n, p in model.model.named_parameters()}
    ids = model.encode(TEXTS)
    batch = model.collate(ids, [1, 0, 1, 0, 1])
    params = [p for p in model.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    model.model.train()
    model.model(**batch).loss.backward()
    optimizer.step()
    after = dict(model.model.named_parameters())
    assert torch.equal(before["bert.embeddings.word_embeddings.weight"],
                       after["bert.embeddings.word_embeddings.weight"])
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])
    counts = trainable_counts(model.model)
    assert counts["trainable_params"] == model.finetune["trainable_params"] < counts["total_params"]
    finish(model)
    assert all(p.requires_grad for p in model.model.parameters())


def test_full_fine_tuning_trains_everything(encoder_dir):
    model = _model(encoder_dir, method="full")
    assert model.finetune["trainable_params"] == model.finetune["total_params"]
    assert model.adapter_files is None


def test_unknown_targets_are_one_sentence(encoder_dir):
    with pytest.raises(UserError, match="finetune.targets"):
        _model(encoder_dir, method="lora", targets=("no_such_layer",))


def test_a_run_fine_tunes_with_lora_and_says_so_everywhere(csv_path, tmp_path):
    """From ``greennlp run`` settings: the pretrained family fine-tuned with LoRA; the
    record, the report's table, the card, the checklist and the adapter export say how."""
    from greennlp import tasks
    from greennlp.compress.export import export_model
    from greennlp.tasks import load_config
    from tests.conftest import TINY_OVERRIDES

    encoder = make_tiny_encoder("bert", tmp_path / "tiny-bert", layers=2)
    cfg = load_config(None, [
        f"data.source={csv_path}", "data.group_column=movie", f"output_dir={tmp_path / 'runs'}",
        *TINY_OVERRIDES, "models=[transformer,pretrained]",
        f"pretrained.name_or_path={encoder}", "pretrained.max_length=32",
        "pretrained.train.lr=0.001", "pretrained.train.batch_size=16",
        "pretrained.finetune.method=lora", "pretrained.finetune.lora_r=4",
        "transformer.train.epochs=1"])
    run = tasks.start(cfg, log=lambda m: None)
    record = tasks.execute(run)
    assert record.status == "completed", record.error
    facts = record.model("pretrained").training.finetune
    assert facts["method"] == "lora" and facts["lora_r"] == 4
    assert 0 < facts["trainable_params"] < facts["total_params"]
    assert record.model("pretrained").training.seconds_per_step > 0
    final = run.run_dir / "models" / "pretrained" / "final"
    assert (final / "adapter" / "adapter_model.safetensors").exists()
    assert "Fine-tuning methods" in (run.run_dir / "report.html").read_text()
    checklist = (run.run_dir / "CHECKLIST.md").read_text()
    assert "fine-tuned with LoRA adapters (peft), rank 4" in checklist
    assert "'finetune': {'method': 'lora'" in checklist  # the settings, as configured
    from greennlp.integrations.hub import export

    out = export(record, "pretrained", "adapter", tmp_path / "adapter-export").folder
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "adapter_config.json",
                                                     "adapter_model.safetensors"]
    card = (out / "README.md").read_text()
    assert "Fine-tuned with LoRA adapters (peft), rank 4" in card and "PeftModel" in card
    with pytest.raises(UserError, match="no adapter"):
        export_model(record, "transformer", "adapter", tmp_path / "nothing")

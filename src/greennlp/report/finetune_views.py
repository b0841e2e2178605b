"""How each pretrained model was fine-tuned (``finetune.method``), from the record alone:
one table of the run's fine-tuned models side by side (method, trainable and total
parameters, what must be stored per task, seconds per step, training energy per epoch,
test accuracy), and the model card's sentence."""

from __future__ import annotations

from typing import Any

from greennlp.record import ModelResult, RunRecord
from greennlp.report.views import fmt, model_costs

METHOD_NAMES = {"full": "full fine-tuning (every weight)", "lora": "LoRA adapters (peft)",
                "ia3": "IA3 adapters (peft)", "freeze": "frozen lower layers"}


def finetune_of(record: RunRecord, model: ModelResult) -> dict[str, Any] | None:
    """The fine-tuning facts of ``model``, or of the model it was compressed from."""
    source = record.model(model.variant_of) if model.variant_of else model
    return source.training.finetune if source is not None else None


def method_text(facts: dict[str, Any]) -> str:
    """The method and its settings in words.

    >>> method_text({"method": "lora", "lora_r": 8, "lora_alpha": 16.0, "targets": []})
    'LoRA adapters (peft), rank 8, alpha 16.0, on the default layers'
    """
    method = facts.get("method", "full")
    text = METHOD_NAMES.get(method, method)
    if method == "lora":
        text += f", rank {facts.get('lora_r')}, alpha {facts.get('lora_alpha')}"
    if method in ("lora", "ia3"):
        targets = facts.get("targets") or []
        text += f", on {', '.join(targets)}" if targets else ", on the default layers"
    if method == "freeze":
        text += f" (embeddings and the lowest {facts.get('freeze_layers')} layers fixed)"
    return text


def card_text(record: RunRecord, model: ModelResult) -> str | None:
    """The model card's sentence on how the model was fine-tuned (None: not fine-tuned
    here, or recorded before the method was kept)."""
    facts = finetune_of(record, model)
    if not facts:
        return None
    merged = (" The adapters were merged into the weights after training; the adapter alone "
              "is saved in peft's format in the checkpoint's `adapter/` folder."
              if facts.get("method") in ("lora", "ia3") else "")
    return (f"Fine-tuned with {method_text(facts)}: {fmt(facts.get('trainable_params'))} of "
            f"{fmt(facts.get('total_params'))} parameters trained; stored per task: "
            f"{fmt(facts.get('stored_bytes', 0) / 1e6)} MB.{merged}")


def rows(record: RunRecord) -> list[dict[str, Any]]:
    """One row per fine-tuned model of the run (not the compressed variants): empty when
    no model recorded its fine-tuning."""
    out = []
    for m in record.models:
        facts = m.training.finetune
        if m.variant_of or not facts:
            continue
        energy = model_costs(record, m).get("train_energy_kwh")
        epochs = m.training.epochs_run
        out.append({"name": m.name, "method": method_text(facts),
                    "trainable_params": facts.get("trainable_params"),
                    "total_params": facts.get("total_params"),
                    "stored_mb": facts.get("stored_bytes", 0) / 1e6,
                    "seconds_per_step": m.training.seconds_per_step,
                    "energy_per_epoch_kwh": energy / epochs if energy is not None and epochs
                    else None,
                    "test_accuracy": m.test.get("accuracy")})
    return out

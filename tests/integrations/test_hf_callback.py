"""GreenNLPCallback with evaluations in the middle of an epoch: the epoch is split around
them, so every second is in exactly one stage."""

import time

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from greennlp.integrations.hf import GreenNLPCallback
from greennlp.record import RunRecord


def test_mid_epoch_evaluations_split_the_epoch_and_nothing_is_counted_twice(tmp_path):
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=2))
    rows = [{"input_ids": torch.randint(0, 50, (8,)), "labels": i % 2} for i in range(40)]
    args = TrainingArguments(str(tmp_path / "out"), num_train_epochs=1, per_device_train_batch_size=8,
                             eval_strategy="steps", eval_steps=2, save_strategy="no",
                             report_to=[], use_cpu=True, disable_tqdm=True)
    callback = GreenNLPCallback(output_dir=str(tmp_path / "runs"), name="mid-epoch")
    trainer = Trainer(model=model, args=args, train_dataset=rows[:32], eval_dataset=rows[32:],
                      callbacks=[callback])
    t0 = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - t0
    record = RunRecord.load(tmp_path / "runs" / callback.record.run_id)
    assert [s.name for s in record.stages] == [
        "train:epoch1", "evaluate:step2", "train:epoch1:part2", "evaluate:step4",
        "train:epoch1:part3"]
    assert [s.metrics.get("steps") for s in record.stages if s.name.startswith("train")] == [2, 2, 0]
    assert sum(s.duration_s for s in record.stages) < wall
    assert record.data["model"]["params_total"] == sum(p.numel() for p in model.parameters())
    assert record.data["train_rows"] == 32 and record.status == "completed"

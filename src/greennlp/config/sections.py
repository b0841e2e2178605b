"""The settings of the classification lifecycle: data, model families, training, evaluation,
measurement. Every field declares its bounds or choices with :func:`~greennlp.config.rules.rule`.
"""

from __future__ import annotations

from dataclasses import dataclass

from greennlp.config.rules import rule
from greennlp.errors import UserError


def check_heads(prefix: str, width_key: str, width: int, heads: int) -> None:
    """Attention splits the width evenly over the heads."""
    if width % heads:
        raise UserError(f"{prefix}{width_key} ({width}) must be divisible by {prefix}num_heads "
                        f"({heads}); change one of them.")


def check_training_share(prefix: str, dev: float, test: float) -> None:
    """Dev and test must leave at least 10% of the data for training."""
    if dev + test >= 0.9:
        raise UserError(f"{prefix}dev_fraction + {prefix}test_fraction must leave at least 10% "
                        f"for training; lower one of them.")


@dataclass(frozen=True)
class DataConfig:
    """Where the text comes from, how it is cut into documents and how it is split (every
    task; a task's own defaults, such as the LM corpus, are laid under the user's file)."""

    source: str = rule("rotten_tomatoes", doc="built-in name, a .csv/.tsv/.jsonl/.parquet path "
                                              "(one example per row), a .txt file (unlabelled "
                                              "text, see data.documents), or hf:NAME")
    text_column: str = "text"
    label_column: str = rule("label", doc="tasks with labels (classification)")
    documents: str = rule("paragraphs", choices=("paragraphs", "lines"),
                          doc="how a .txt file is cut into documents: paragraphs = separated by "
                              "blank lines (wrapped lines stay together); lines = one per line")
    group_column: str | None = rule(None, doc="examples sharing a group never straddle splits")
    time_column: str | None = None
    language_column: str | None = rule(None, doc="a column naming each text's language: "
                                                 "per-language scores, prices and slices, "
                                                 "data.language_alpha, splits that keep every "
                                                 "language (a built-in's own, e.g. fortunes, "
                                                 "is used unless set)")
    language_alpha: float = rule(1.0, low=0.0, high=1.0,
                                 doc="temperature sampling of the training data by language, "
                                     "p(l) proportional to n_l^alpha (n_l: training "
                                     "characters): 1 = as found, 0 = uniform; applied to the "
                                     "tokenizer's training text and to the training batches")
    split: str = rule("auto", choices=("auto", "random", "stratified", "group", "time", "blocks"),
                      doc="auto = group when a group column is known, else stratified (with "
                          "labels) or blocks; blocks = whole blocks of neighbouring rows")
    block_documents: int = rule(500, low=1, doc="split=blocks: neighbouring documents kept in "
                                                "one split")
    dev_fraction: float = rule(0.1, low=0.01, high=0.5)
    test_fraction: float = rule(0.2, low=0.01, high=0.5)
    max_examples: int | None = rule(None, low=10, doc="subsample before splitting (stratified "
                                                      "by label; split=blocks: whole blocks)")
    drop_duplicates: bool = True
    drop_conflicts: bool = rule(True, doc="drop the texts that occur with several labels")
    min_per_class: int = rule(2, low=1, doc="fewest examples of a class each split must get")
    hf_config: str | None = None
    hf_split: str = rule("train", doc="the published split trained on (hf: sources)")
    hf_dev_split: str = rule("auto", doc="published split used as dev: auto = validation (or dev) "
                                         "when published, none = cut dev from the training data")
    hf_test_split: str = rule("auto", doc="published split used as test: auto = test when "
                                          "published with labels, none = cut test from training")
    test_source: str | None = rule(None, doc="a file with the dataset's own test split (same "
                                             "columns and labels as data.source)")
    dev_source: str | None = rule(None, doc="a file with the dataset's own dev split")
    split_column: str | None = rule(None, doc="a column naming each row's split: train, "
                                              "validation (or dev) or test")
    strict: bool = rule(False, doc="refuse a CSV/TSV with malformed quoting (an unbalanced "
                                   "quote merges rows; line breaks inside quoted fields are "
                                   "valid); off: report it")

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        check_training_share(prefix, self.dev_fraction, self.test_fraction)


@dataclass(frozen=True)
class TfidfConfig:
    """TF-IDF features + logistic regression (scikit-learn)."""

    max_features: int = rule(100_000, low=10)
    analyzer: str = rule("word", choices=("word", "char_wb", "char"),
                         doc="features from word n-grams, or character n-grams (char_wb: "
                             "inside word boundaries; tells languages and scripts apart)")
    ngram_min: int = rule(1, low=1, high=8, doc="shortest n-gram (words or characters)")
    ngram_max: int = rule(2, low=1, high=8)
    min_df: int = rule(2, low=1)
    C: float = rule(4.0, low=1e-6)

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        if self.ngram_min > self.ngram_max:
            raise UserError(f"{prefix}ngram_min ({self.ngram_min}) is larger than "
                            f"{prefix}ngram_max ({self.ngram_max}); lower it or raise "
                            f"{prefix}ngram_max.")


@dataclass(frozen=True)
class TrainConfig:
    """The one training loop's settings (shared by every torch model)."""

    epochs: int = rule(6, low=1)
    batch_size: int = rule(32, low=1)
    lr: float = rule(1e-3, low=1e-7, high=1.0)
    weight_decay: float = rule(0.01, low=0.0)
    warmup_fraction: float = rule(0.1, low=0.0, high=1.0)
    max_grad_norm: float = rule(1.0, low=0.0)
    patience: int = rule(2, low=1, doc="epochs without dev improvement before stopping")
    grad_accum_steps: int = rule(1, low=1)
    precision: str = rule("auto", choices=("auto", "fp32", "bf16"),
                          doc="auto = bf16 autocast on GPUs that support it, fp32 on CPU")
    device: str = rule("auto", choices=("auto", "cpu", "cuda"),
                       doc="where training runs: auto = the first CUDA GPU when one is visible, "
                           "else the CPU; the trained model comes back to the CPU, where it is "
                           "evaluated, timed and compressed")
    max_steps: int | None = rule(None, low=1, doc="stop after this many optimizer steps")
    min_steps: int = rule(250, low=0, doc="a floor of optimizer steps: small datasets get more "
                                          "epochs (up to max_epochs, early stopping on dev "
                                          "still applies); max_steps, when set, wins")
    max_epochs: int = rule(10, low=1, doc="most epochs the min_steps floor may stretch "
                                          "training to (never fewer than epochs)")
    class_weights: str = rule("auto", choices=("auto", "none", "balanced"),
                              doc="weight the loss by inverse class frequency; auto = balanced "
                                  "when the training labels are imbalanced (largest class at "
                                  "least twice the smallest)")


RANKINGS = ("random", "el2n", "forgetting", "map_d")


@dataclass(frozen=True)
class TrainingDataConfig:
    """Training on less data: which share of the training split every classifier of the
    run learns from (search trials, final models, seeds), and how it is chosen."""

    data_fraction: float = rule(1.0, low=0.05, high=1.0,
                                doc="share of each class's training examples kept (1 = all)")
    data_ranking: str = rule("random", choices=RANKINGS,
                             doc="which are kept: random = a seeded random subset; el2n, "
                                 "forgetting, map_d = the most important by the audit's probe "
                                 "training (audit.dynamics), whose cost counts as the "
                                 "ranking's (see docs/tasks/classification.md)")


@dataclass(frozen=True)
class TransformerConfig:
    """A BERT-style encoder classifier trained from scratch, with its own tokenizer."""

    vocab_size: int = rule(8000, low=100)
    hidden_size: int = rule(128, low=8)
    num_layers: int = rule(2, low=1, high=48)
    num_heads: int = rule(4, low=1)
    intermediate_size: int = rule(512, low=8)
    max_length: int = rule(64, low=8, high=4096)
    dropout: float = rule(0.1, low=0.0, high=0.9)
    train: TrainConfig = rule(TrainConfig())

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        check_heads(prefix, "hidden_size", self.hidden_size, self.num_heads)


FINETUNE_METHODS = ("full", "lora", "ia3", "freeze")


@dataclass(frozen=True)
class FinetuneConfig:
    """Which weights of a pretrained model train: all of them, low-rank adapters (LoRA),
    learned rescaling vectors (IA3), both through ``peft``, or the upper layers only (the
    embeddings and the lowest layers frozen, the AdapterDrop idea)."""

    method: str = rule("full", choices=FINETUNE_METHODS,
                       doc="full = every weight; lora / ia3 = adapters through peft (merged "
                           "into the weights after training; the adapter alone is saved "
                           "beside the model in peft's format); freeze = the embeddings and "
                           "the lowest freeze_layers layers stay fixed")
    lora_r: int = rule(8, low=1, high=1024, doc="lora: rank of the adapters")
    lora_alpha: float = rule(16.0, low=0.0, doc="lora: scale (the update is multiplied by "
                                                "alpha / r)")
    lora_dropout: float = rule(0.0, low=0.0, high=0.9, doc="lora: dropout on the adapters' input")
    targets: tuple[str, ...] = rule((), doc="lora / ia3: names of the linear layers that get "
                                            "adapters; empty = peft's default for the "
                                            "architecture (BERT: query and value for lora; "
                                            "key, value and the feed-forward output for ia3)")
    freeze_layers: int = rule(3, low=0, high=128, doc="freeze: the lowest layers kept fixed "
                                                       "(with the embeddings); more than the "
                                                       "model has freezes every layer")


@dataclass(frozen=True)
class PretrainedConfig:
    """Fine-tuning the bundled pretrained MiniLM encoder."""

    max_length: int = rule(64, low=8, high=512)
    train: TrainConfig = rule(TrainConfig(epochs=1, lr=5e-5, patience=1),
                              doc="one epoch keeps the default run within 20 minutes on 2 cores; "
                                  "a second took dev accuracy from 0.819 to 0.829")
    finetune: FinetuneConfig = rule(FinetuneConfig(), doc="which weights train (full, lora, "
                                                          "ia3, freeze)")


@dataclass(frozen=True)
class PeftPretrainedConfig(PretrainedConfig):
    """MiniLM fine-tuned parameter-efficiently (family ``minilm_peft``): listed beside
    ``minilm`` in ``models``, the two are trained on the same data in one run and reported
    side by side."""

    train: TrainConfig = rule(TrainConfig(epochs=1, lr=5e-4, patience=1),
                              doc="adapters learn with a larger step than full fine-tuning")
    finetune: FinetuneConfig = rule(FinetuneConfig(method="lora"),
                                    doc="which weights train (default lora)")


PERTURBATIONS = ("typos", "casing", "no_punctuation", "contractions", "word_dropout")


@dataclass(frozen=True)
class PretrainedEncoderConfig:
    """Fine-tuning any Hugging Face encoder for sequence classification (family
    ``pretrained``)."""

    name_or_path: str = rule("", doc="a Hugging Face Hub id (from the local cache when "
                                     "offline) or a folder written by save_pretrained; "
                                     "empty: the bundled MiniLM")
    max_length: int = rule(64, low=8, high=512)
    train: TrainConfig = rule(TrainConfig(epochs=1, lr=5e-5, patience=1))
    finetune: FinetuneConfig = rule(FinetuneConfig(), doc="which weights train (full, lora, "
                                                          "ia3, freeze)")


@dataclass(frozen=True)
class EvaluateConfig:
    """Confidence intervals and efficiency measurement."""

    bootstrap_samples: int = rule(1000, low=100)
    confidence: float = rule(0.95, low=0.5, high=0.999)
    latency_examples: int = rule(64, low=4, doc="batch-1 calls timed per repeat")
    throughput_batches: int = rule(8, low=1, doc="batches of 32 timed per repeat")
    repeats: int = rule(3, low=1, doc="timing repeats; the median is reported")
    selection_metric: str = rule("auto", choices=("auto", "accuracy", "macro_f1", "weighted_f1",
                                                  "macro_recall"),
                                 doc="the dev score that selects and compares models (training "
                                     "epochs, search trials, the reported model, compression); "
                                     "auto = macro_f1 when the training labels are imbalanced "
                                     "(largest class at least twice the smallest), else accuracy")
    collapse_share: float = rule(0.95, low=0.5, high=1.0,
                                 doc="warn when a model predicts one class for at least this "
                                     "share of the inputs (and the data are not that skewed)")
    slice_columns: tuple[str, ...] = rule((), doc="columns of the data file to slice the test "
                                                  "scores by (beside the automatic slices)")
    sensitive_columns: tuple[str, ...] = rule((), doc="columns with demographic groups: "
                                                      "demographic-parity and equalized-odds "
                                                      "differences per column")
    target_accuracy: float = rule(0.9, low=0.0, high=1.0,
                                  doc="selective prediction: the accuracy whose coverage is "
                                      "reported (threshold chosen on dev, applied on test)")
    calibration_bins: int = rule(15, low=2, high=100, doc="bins of the ECE / reliability diagram")
    robustness_examples: int = rule(300, low=0, doc="test examples perturbed per model (a "
                                                    "seeded sample; 0 turns robustness off)")
    perturbations: tuple[str, ...] = rule(PERTURBATIONS,
                                          doc="seeded text perturbations for robustness")
    perturbation_rate: float = rule(0.1, low=0.0, high=1.0,
                                    doc="share of characters (typos) or words (word dropout) hit")

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        bad = [p for p in self.perturbations if p not in PERTURBATIONS]
        if bad:
            raise UserError(f"Config key '{prefix}perturbations' has {bad[0]!r}; choose from: "
                            f"{', '.join(PERTURBATIONS)}.")


@dataclass(frozen=True)
class MeasureConfig:
    """How energy becomes CO2e and money."""

    region: str = rule("world", doc="ISO-3 country (FRA), cloud region (gcp:us-central1) or world")
    pue: float = rule(1.0, low=1.0, high=3.0, doc="power usage effectiveness of the facility")
    price_per_hour_usd: float = rule(0.10, low=0.0, doc="price of this hardware per hour")
    price_source: str = "assumed: on-demand 2-vCPU cloud instance, about $0.10/h"
    cpu_watts_per_thread: float | None = rule(None, low=0.1, doc="override the TDP table")


@dataclass(frozen=True)
class TrackConfig:
    """Experiment trackers a run is also written to while it runs."""

    mlflow_uri: str | None = rule(None, doc="an MLflow tracking URI (http://..., sqlite:///..., "
                                            "file:...): the run is logged there as it runs")
    mlflow_experiment: str = rule("greennlp", doc="the MLflow experiment's name")
    mlflow_register: str | None = rule(None, doc="a model registry name: the run's selected "
                                                 "model is registered there as a new version")

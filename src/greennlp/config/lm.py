"""The ``lm`` section of a run configuration (``task: lm``): language modelling.

The corpus is the run's ``data`` section, like every task's data; the LM task lays its
own defaults under it (the ``defaults`` of its Task, in :mod:`greennlp.tasks.lm`).

:class:`~greennlp.config.RunConfig` holds one :class:`LmConfig` as ``lm``. The
masked-LM settings (``lm.mlm``) also serve the classification model
``transformer_mlm``, which pre-trains the ``transformer`` encoder with them.
"""

from __future__ import annotations

from dataclasses import dataclass

from greennlp.config.rules import rule
from greennlp.config.sections import FinetuneConfig, TrainConfig, check_heads
from greennlp.errors import UserError


@dataclass(frozen=True)
class NgramConfig:
    """Interpolated Kneser-Ney n-gram model."""

    order: int = rule(4, low=1, high=8)
    discount: float | None = rule(None, low=0.01, high=1.0,
                                  doc="fixed discount; None = modified KN, estimated per order")


@dataclass(frozen=True)
class LstmConfig:
    """LSTM language model."""

    embedding_size: int = rule(128, low=4)
    hidden_size: int = rule(256, low=4)
    num_layers: int = rule(1, low=1, high=8)
    dropout: float = rule(0.0, low=0.0, high=0.9, doc="0: one pass over the data cannot overfit")
    tie_weights: bool = True
    train: TrainConfig = rule(TrainConfig(epochs=1, batch_size=16, lr=3e-3, warmup_fraction=0.05,
                                          patience=1, min_steps=0))


@dataclass(frozen=True)
class DecoderConfig:
    """GPT-style decoder (causal self-attention)."""

    d_model: int = rule(128, low=8)
    num_layers: int = rule(4, low=1, high=48)
    num_heads: int = rule(4, low=1)
    d_ff: int = rule(512, low=8)
    positions: str = rule("learned", choices=("learned", "sinusoidal"))
    dropout: float = rule(0.0, low=0.0, high=0.9, doc="0: one pass over the data cannot overfit")
    tie_weights: bool = True
    # One epoch of 16 blocks per step keeps the default run near 10 minutes on 2 shared
    # cores; in a 400k-token trial, batch 16 reached dev perplexity 116 where 32 reached 136.
    train: TrainConfig = rule(TrainConfig(epochs=1, batch_size=16, lr=2e-3, warmup_fraction=0.05,
                                          patience=1, min_steps=0))

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        check_heads(prefix, "d_model", self.d_model, self.num_heads)


@dataclass(frozen=True)
class MlmConfig:
    """Masked-LM pre-training of a BERT-style encoder (``bert_mlm``, ``transformer_mlm``)."""

    hidden_size: int = rule(128, low=8)
    num_layers: int = rule(2, low=1, high=48)
    num_heads: int = rule(4, low=1)
    intermediate_size: int = rule(512, low=8)
    dropout: float = rule(0.1, low=0.0, high=0.9)
    mask_fraction: float = rule(0.15, low=0.01, high=0.9, doc="tokens selected for prediction")
    train: TrainConfig = rule(TrainConfig(epochs=1, batch_size=32, lr=2e-3, warmup_fraction=0.05,
                                          patience=1, min_steps=0))

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        check_heads(prefix, "hidden_size", self.hidden_size, self.num_heads)


@dataclass(frozen=True)
class SamplingConfig:
    """Text sampled from each decoder for the report."""

    prompts: tuple[str, ...] = ("what are you doing here?", "i never told you", "where is")
    max_new_tokens: int = rule(30, low=1, high=512)
    temperature: float = rule(0.8, low=0.0, high=5.0, doc="0 = greedy")
    top_k: int | None = rule(50, low=1)
    top_p: float | None = rule(0.95, low=0.01, high=1.0)


@dataclass(frozen=True)
class ScalingConfig:
    """A sweep of decoder widths on the same tokens, for power-law fits."""

    enabled: bool = True
    widths: tuple[int, ...] = (32, 64, 128)
    num_layers: int = rule(2, low=1, high=48)
    tokens: int = rule(300_000, low=1000, doc="training tokens per size (one pass)")
    eval_points: int = rule(6, low=2, high=50, doc="dev evaluations per size, log-spaced")

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        widths = self.widths
        if self.enabled and (len(widths) < 2 or any(w < 4 or w % max(1, w // 32)
                                                    for w in widths)):
            raise UserError(f"{prefix}widths needs at least two widths, each 4 to 31 or a "
                            f"multiple of 32 (one head per 32 dimensions), e.g. [32,64,128].")


@dataclass(frozen=True)
class LmEvaluationConfig:
    """How every language model is scored on dev and test."""

    protocol: str = rule("stream", choices=("stream", "documents"),
                         doc="stream = the split's documents joined by end-of-text tokens into "
                             "running text, scored with a sliding window; documents = each "
                             "document alone, from an empty context (the older protocol)")
    window: int = rule(512, low=2, high=8192, doc="tokens per window (capped at a model's "
                                                  "context, the stride scaled with it)")
    stride: int = rule(256, low=1, doc="tokens the window advances; each token is scored once, "
                                       "with at least window - stride tokens of context")
    block_chars: int = rule(2000, low=1, doc="bootstrap unit: neighbouring documents of at "
                                             "least this many characters (stream protocol)")
    smollm2_chars: int = rule(15_000, low=100, doc="stream protocol: the start of the test "
                                                   "text (whole documents) SmolLM2 is scored on")

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        if self.stride >= self.window:
            raise UserError(f"{prefix}stride ({self.stride}) must be smaller than {prefix}window "
                            f"({self.window}), or a token would be scored with no context; "
                            f"lower the stride.")


@dataclass(frozen=True)
class AdaptConfig:
    """Continued training of the pretrained SmolLM2 on the corpus (``smollm2_adapted``)."""

    steps: int = rule(10, low=0, doc="optimizer steps; 0 = score the pretrained model only")
    batch_size: int = rule(2, low=1)
    block_size: int = rule(256, low=8, high=8192, doc="tokens per training block")
    lr: float = rule(5e-5, low=1e-7, high=1.0)
    warmup_fraction: float = rule(0.1, low=0.0, high=1.0)
    dev_documents: int = rule(40, low=1, doc="dev documents scored after fine-tuning")
    finetune: FinetuneConfig = rule(FinetuneConfig(), doc="which weights train: full, lora or "
                                                          "ia3 (peft; merged after training), "
                                                          "or freeze (lowest layers fixed)")


@dataclass(frozen=True)
class LanguageSweepConfig:
    """A sweep of ``data.language_alpha`` (temperature sampling by language, stage
    ``sweep:alpha``): per alpha a tokenizer and a model on the same number of tokens."""

    alphas: tuple[float, ...] = rule((), doc="values of alpha to compare, e.g. [0.3,0.5,0.7,1.0]; "
                                             "empty = no sweep (needs a language column)")
    model: str = rule("gpt", doc="the language model trained per alpha (a family trained on "
                                 "token blocks: gpt or lstm)")
    steps: int | None = rule(None, low=1, doc="optimizer steps per alpha (every alpha the same "
                                              "token budget); None = one pass over the blocks")
    documents_per_language: int | None = rule(
        500, low=1, doc="most dev and test documents of each language every alpha is scored "
                        "on (the same ones for every alpha; all of a smaller language); None "
                        "= all")

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        bad = [a for a in self.alphas if not 0.0 <= a <= 1.0]
        if bad:
            raise UserError(f"{prefix}alphas has {bad[0]}; every alpha must lie between 0 "
                            f"(uniform over languages) and 1 (the mix as found).")


@dataclass(frozen=True)
class LmConfig:
    """Everything ``task: lm`` does."""

    models: tuple[str, ...] = rule(("ngram", "lstm", "gpt", "smollm2"),
                                   doc="language model families to train or score")
    vocab_size: int = rule(4096, low=300, doc="byte-level BPE shared by ngram, lstm, gpt, mlm")
    context_length: int = rule(64, low=8, high=4096)
    ngram: NgramConfig = rule(NgramConfig())
    lstm: LstmConfig = rule(LstmConfig())
    gpt: DecoderConfig = rule(DecoderConfig())
    mlm: MlmConfig = rule(MlmConfig())
    smollm2_documents: int = rule(300, low=10, doc="documents protocol: test documents SmolLM2 "
                                                   "is scored on")
    smollm2: AdaptConfig = rule(AdaptConfig())
    evaluation: LmEvaluationConfig = rule(LmEvaluationConfig())
    dev_documents: int = rule(1000, low=10, doc="dev documents scored after each epoch")
    test_documents: int | None = rule(None, low=10, doc="None = the whole test split")
    sampling: SamplingConfig = rule(SamplingConfig())
    scaling: ScalingConfig = rule(ScalingConfig())
    language_sweep: LanguageSweepConfig = rule(LanguageSweepConfig(),
                                               doc="temperature sampling: one model per alpha")
    executor: str = rule("local", choices=("local", "ray"),
                         doc="ray = data-parallel training with Ray Train (torchrun: launch "
                             "greennlp under torchrun)")
    workers: int = rule(2, low=1, doc="Ray Train workers")
    measure_peak: bool = rule(True, doc="time fp32 matmuls to report training as a fraction")

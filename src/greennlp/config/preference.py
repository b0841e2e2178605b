"""The ``preference`` section of a run configuration (``task: preference``): preference
tuning of a pretrained decoder with DPO, judged by a classifier.

The policy continues the beginnings of texts of the classification data (``data``
section); a classifier, the judge, scores each continuation; the probability of its class
``target`` is the reward. Sampling is always at temperature 1 from the model's full
distribution: the KL estimate averages log-ratios over samples, which is right only for
samples of the model itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from greennlp.config.rules import rule
from greennlp.errors import UserError

TRAIN_JUDGE = "train"  # the value of preference.judge that trains the judge in the run


@dataclass(frozen=True)
class PreferenceConfig:
    """Everything ``task: preference`` does."""

    model: str = rule("smollm2", doc="the pretrained decoder tuned, and the reference it is "
                                     "compared with (an adaptable language-model family)")
    judge: str = rule(TRAIN_JUDGE, doc="train = a classifier of family judge_family trained in "
                                       "this run on the data section's training split; or the "
                                       "id of a classification run under output_dir, whose "
                                       "selected classifier judges")
    judge_family: str = rule("tfidf_logreg", doc="the classification family trained as the "
                                                 "judge when judge=train (its own settings "
                                                 "section applies)")
    target: str = rule("fresh", doc="the judge's class whose probability is the reward")
    prompt_words: int = rule(4, low=1, high=64, doc="words of a text's beginning that make "
                                                    "a prompt")
    # Sized for the 15-minute budget of the default run on 2 CPU cores: in a trial, 128
    # prompts and 32 steps gave beta 0.1 a held-out win rate of 0.70; 256 and 48 gave 0.84.
    train_prompts: int = rule(256, low=4, doc="prompts (from the training split) whose "
                                              "samples make the preference pairs")
    samples_per_prompt: int = rule(4, low=2, high=64, doc="k continuations sampled per prompt; "
                                                          "the judge's best and worst make a pair")
    val_fraction: float = rule(0.125, low=0.0, high=0.5,
                               doc="share of the pairs held out to score DPO after each epoch "
                                   "(minus their DPO loss selects the epoch)")
    max_new_tokens: int = rule(20, low=1, high=256, doc="tokens of a continuation at most")
    betas: tuple[float, ...] = rule((0.1, 0.3, 1.0), doc="DPO's beta: one policy per value (a "
                                                    "lower beta may move further from the "
                                                    "reference)")
    steps: int = rule(48, low=1, doc="optimizer steps of each DPO training")
    batch_size: int = rule(8, low=1, doc="pairs per optimizer step")
    lr: float = rule(1e-3, low=1e-8, high=1.0, doc="peak learning rate (warm-up, then linear "
                                                   "decay)")
    warmup_fraction: float = rule(0.1, low=0.0, high=1.0)
    patience: int = rule(2, low=1, doc="epochs without a lower held-out DPO loss before "
                                       "stopping")
    lora: bool = rule(True, doc="train low-rank adapters (peft) instead of every weight; the "
                                "adapters are merged into the weights for sampling")
    lora_rank: int = rule(8, low=1, high=256)
    lora_alpha: float = rule(16.0, low=0.01, doc="adapter scale = lora_alpha / lora_rank")
    lora_targets: tuple[str, ...] = rule(("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                          "up_proj", "down_proj"),
                                         doc="names of the linear layers that get adapters")
    best_of: tuple[int, ...] = rule((4, 16), doc="best-of-n baselines: n reference samples per "
                                                 "answer, the judge keeps the best")
    dev_prompts: int = rule(64, low=4, doc="prompts from the dev split that select among the "
                                           "policies (win rate against the reference)")
    test_prompts: int = rule(64, low=4, doc="held-out prompts from the test split, scored once "
                                            "per model")
    batch_sampling: int = rule(64, low=1, doc="sequences sampled together")
    texts_shown: int = rule(4, low=0, high=50, doc="generated texts per model in the report")

    def check(self, prefix: str) -> None:
        """Cross-field rules (called when the section is built)."""
        if not self.betas or any(b <= 0 for b in self.betas):
            raise UserError(f"Config key '{prefix}betas' must list at least one beta above 0, "
                            f"e.g. {prefix}betas=[0.1,0.5].")
        if len(set(self.betas)) != len(self.betas):
            raise UserError(f"Config key '{prefix}betas' lists a beta twice; list each once.")
        if any(n < 2 for n in self.best_of) or len(set(self.best_of)) != len(self.best_of):
            raise UserError(f"Config key '{prefix}best_of' must list distinct sample counts of "
                            f"at least 2, e.g. {prefix}best_of=[4,16] (or [] for none).")
        if self.lora and not self.lora_targets:
            raise UserError(f"Config key '{prefix}lora_targets' is empty; name the layers that "
                            f"get adapters, or set {prefix}lora=false.")
        if not self.target:
            raise UserError(f"Config key '{prefix}target' is empty; name the judge's class "
                            f"whose probability is the reward, e.g. {prefix}target=fresh.")

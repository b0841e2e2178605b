"""Reference tables: CPU TDPs and grid carbon intensities.

The tables come from codecarbon (MIT), which maintains them: ``cpu_power.csv``
(~4,900 CPUs with their TDP), ``global_energy_mix.json`` (carbon intensity per
country, from Our World in Data / Ember, with the year), ``cloud/impact.csv`` (cloud
regions, with each provider's published figure) and the world average with its
source. We read the files straight out of the installed package instead of importing
codecarbon, whose import and tracker start-up take 1-2 s, far over our 100 ms
start-up target; the lookups here take a few milliseconds.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import re
from pathlib import Path

from greennlp.errors import UserError

CODECARBON = "codecarbon"

# AWS and Azure publish no per-region intensity table that codecarbon ships, so their
# regions map to the country (ISO-3) they are in, and the country average applies.
CLOUD_REGION_COUNTRY = {
    "aws:us-east-1": "USA", "aws:us-east-2": "USA", "aws:us-west-1": "USA",
    "aws:us-west-2": "USA", "aws:ca-central-1": "CAN", "aws:eu-west-1": "IRL",
    "aws:eu-west-2": "GBR", "aws:eu-west-3": "FRA", "aws:eu-central-1": "DEU",
    "aws:eu-north-1": "SWE", "aws:ap-northeast-1": "JPN", "aws:ap-southeast-1": "SGP",
    "aws:ap-southeast-2": "AUS", "aws:ap-south-1": "IND", "aws:sa-east-1": "BRA",
    "azure:eastus": "USA", "azure:westus": "USA", "azure:westeurope": "NLD",
    "azure:northeurope": "IRL", "azure:uksouth": "GBR", "azure:francecentral": "FRA",
    "azure:germanywestcentral": "DEU", "azure:swedencentral": "SWE",
    "azure:japaneast": "JPN", "azure:australiaeast": "AUS", "azure:centralindia": "IND",
}


@functools.lru_cache(maxsize=1)
def _codecarbon_dir() -> Path:
    spec = importlib.util.find_spec(CODECARBON)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("codecarbon is not installed; reinstall greennlp to get its tables")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _normalise_cpu(name: str) -> str:
    name = re.sub(r"\((R|TM|tm|r)\)", " ", name)
    name = re.sub(r"@.*$", " ", name)
    name = re.sub(r"\b(CPU|Processor|\d+-Core)\b", " ", name, flags=re.I)
    return " ".join(name.lower().split())


@functools.lru_cache(maxsize=1)
def cpu_tdp_table() -> dict[str, tuple[str, float]]:
    """Normalised CPU name -> (name as listed, TDP in watts)."""
    out: dict[str, tuple[str, float]] = {}
    with open(_codecarbon_dir() / "hardware" / "cpu_power.csv", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            try:
                out[_normalise_cpu(row["Name"])] = (row["Name"], float(row["TDP"]))
            except (KeyError, ValueError):
                continue
    return out


def cpu_tdp(model: str) -> tuple[str, float] | None:
    """The TDP of a CPU model string as /proc/cpuinfo prints it, or None if unknown.

    Only exact matches after normalisation count: a fuzzy match to the wrong CPU
    would be a silent error, while "unknown" leads to a labelled default. A model
    string without a model number ("AMD EPYC") names a family, not a TDP.

    >>> cpu_tdp("Intel(R) Xeon(R) Gold 6126 CPU @ 2.60GHz")
    ('Intel Xeon Gold 6126', 125.0)
    """
    wanted = _normalise_cpu(model)
    numbered = [t for t in wanted.split() if any(c.isdigit() for c in t)]
    if not numbered:
        return None
    key = max(numbered, key=len)
    # Normalising all ~4,900 names costs ~30 ms; only lines with the model number are read.
    path = _codecarbon_dir() / "hardware" / "cpu_power.csv"
    with open(path, encoding="utf-8-sig") as fh:
        for row in csv.reader(line for line in fh if key in line.lower()):
            if len(row) >= 2 and _normalise_cpu(row[0]) == wanted:
                try:
                    return row[0], float(row[1])
                except ValueError:
                    return None
    return None


@functools.lru_cache(maxsize=1)
def _energy_mix() -> dict:
    path = _codecarbon_dir() / "private_infra" / "global_energy_mix.json"
    return json.loads(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _world() -> tuple[float, str]:
    path = _codecarbon_dir() / "private_infra" / "carbon_intensity_per_source.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return float(data["world_average"]), data["world_average_source"]


@functools.lru_cache(maxsize=1)
def _cloud() -> dict[str, tuple[float, str]]:
    out = {}
    with open(_codecarbon_dir() / "cloud" / "impact.csv", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            key = f"{row['provider']}:{row['region']}".lower()
            out[key] = (float(row["impact"]), row["source"])
    return out


def carbon_intensity(region: str) -> tuple[float, str]:
    """Grid carbon intensity in gCO2e/kWh for a region, and where the figure comes from.

    Parameters
    ----------
    region
        ``world``; an ISO-3 country code (``FRA``, ``USA``); a cloud region as
        ``provider:region`` (``gcp:europe-west1``, ``aws:us-east-1``).

    >>> round(carbon_intensity("world")[0])
    475
    """
    key = region.strip()
    if key.lower() == "world":
        value, source = _world()
        return value, f"world average, {source} (via codecarbon)"
    if ":" in key:
        cloud = _cloud().get(key.lower())
        if cloud:
            return cloud[0], f"{key.lower()}: provider figure, {cloud[1]} (via codecarbon)"
        country = CLOUD_REGION_COUNTRY.get(key.lower())
        if country:
            value, source = carbon_intensity(country)
            return value, f"{key.lower()} is in {country}; country average: {source}"
        raise UserError(f"Unknown cloud region '{region}' in measure.region; use one of "
                        f"{', '.join(sorted(_cloud())[:3])}, ..., a country code such as "
                        f"FRA, or 'world' (see `greennlp regions`).")
    entry = _energy_mix().get(key.upper())
    if entry is None:
        raise UserError(f"Unknown region '{region}' in measure.region; use an ISO-3 country "
                        f"code such as USA or FRA, a cloud region such as gcp:us-central1, "
                        f"or 'world' (see `greennlp regions`).")
    return float(entry["carbon_intensity"]), (
        f"{entry['country_name']} {entry['year']} grid average, Our World in Data / Ember "
        f"energy mix (via codecarbon)")


def regions() -> dict[str, list[str]]:
    """All region keys that :func:`carbon_intensity` understands, by kind."""
    return {"world": ["world"], "countries": sorted(_energy_mix()),
            "cloud": sorted(set(_cloud()) | set(CLOUD_REGION_COUNTRY))}

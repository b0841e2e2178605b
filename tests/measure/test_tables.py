import json

import pytest

from greennlp.errors import UserError
from greennlp.measure import tables


def _codecarbon_json(*parts):
    return json.loads(tables._codecarbon_dir().joinpath(*parts).read_text())


def test_country_intensity_matches_the_source_table():
    mix = _codecarbon_json("private_infra", "global_energy_mix.json")
    for code in ("FRA", "USA", "DEU", "IND"):
        value, source = tables.carbon_intensity(code)
        assert value == pytest.approx(mix[code]["carbon_intensity"])
        assert str(mix[code]["year"]) in source
    assert tables.carbon_intensity("fra")[0] == tables.carbon_intensity("FRA")[0]


def test_world_average_and_its_source():
    value, source = tables.carbon_intensity("world")
    assert value == 475 and "iea.org" in source


def test_cloud_regions():
    assert tables.carbon_intensity("gcp:europe-west1")[0] == 122
    value, source = tables.carbon_intensity("aws:eu-west-3")
    assert value == tables.carbon_intensity("FRA")[0] and "FRA" in source


@pytest.mark.parametrize("region", ["ATLANTIS", "gcp:moon-1"])
def test_unknown_region_is_a_user_error(region):
    with pytest.raises(UserError, match="measure.region"):
        tables.carbon_intensity(region)


def test_cpu_tdp_lookup_is_exact_after_normalisation():
    assert tables.cpu_tdp("Intel(R) Xeon(R) Gold 6126 CPU @ 2.60GHz") == ("Intel Xeon Gold 6126", 125.0)
    assert tables.cpu_tdp("AMD EPYC") is None
    assert len(tables.cpu_tdp_table()) > 4000


def test_every_listed_region_resolves():
    regions = tables.regions()
    for key in regions["cloud"][:10] + regions["countries"][:10]:
        assert tables.carbon_intensity(key)[0] >= 0

"""Official lookup tables for England, shipped as package data with their source and licence.

Analyses group by deprivation, ICB and region, and rates need population denominators; every
stage (and the synthetic population, so demo dashboards look like England) reads them from
here rather than from a copy of its own. Each table is versioned: the year is in the file
name, in the ``version`` argument and in the returned table's schema metadata, so an output
can say exactly which edition it used. Where each file came from, and the checks run on it,
are in ``SOURCES.md`` beside the files; ``tools/build_lookups.py`` rebuilds them.

Contains public sector information licensed under the Open Government Licence v3.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

LICENCE = "Open Government Licence v3.0"
LICENCE_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
AGE_BANDS: tuple[str, ...] = (*(f"{a}-{a + 4}" for a in range(0, 90, 5)), "90+")
"""The 19 age bands of the population table: those of the European Standard Population 2013."""
SEXES = ("female", "male")


@dataclass(frozen=True, slots=True)
class Source:
    """Where one shipped table comes from."""

    file: str
    title: str
    publisher: str
    url: str
    version: str

    def metadata(self) -> dict[str, str]:
        return {
            "title": self.title,
            "publisher": self.publisher,
            "url": self.url,
            "version": self.version,
            "licence": LICENCE,
            "licence_url": LICENCE_URL,
            "attribution": ATTRIBUTION,
            "file": self.file,
        }


IMD_SOURCES = {
    2019: Source(
        "imd2019_lsoa11.csv.gz",
        "English indices of deprivation 2019, File 7 (IMD rank and decile by LSOA 2011)",
        "Ministry of Housing, Communities and Local Government",
        "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
        "2019",
    )
}
GEOGRAPHY_SOURCES = {
    2022: Source(
        "geography2022_lsoa11.csv.gz",
        "LSOA (2011) to Sub ICB Locations to Integrated Care Boards (July 2022) Lookup in England",
        "Office for National Statistics (Open Geography Portal)",
        "https://geoportal.statistics.gov.uk/datasets/ons::lsoa-2011-to-sub-icb-locations-to-"
        "integrated-care-boards-july-2022-lookup-in-england/explore",
        "2022",
    )
}
ICB_REGION_SOURCES = {
    2022: Source(
        "icb2022_regions.csv",
        "NHS England region of each ICB (July 2022), derived from NHS ODS trust national "
        "groupings (etr) and OHID acute trust catchments 2022",
        "NHS England Organisation Data Service; Office for Health Improvement and Disparities",
        "https://digital.nhs.uk/services/organisation-data-service/file-downloads/"
        "other-nhs-organisations",
        "2022",
    )
}
LSOA_POPULATION_SOURCES = {
    2020: Source(
        "population2020_lsoa11.csv.gz",
        "Lower layer Super Output Area population estimates, mid-2020 (SAPE23DT2)",
        "Office for National Statistics",
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/"
        "populationestimates/datasets/lowersuperoutputareamidyearpopulationestimates",
        "mid-2020",
    )
}
POPULATION_SOURCES = {
    2020: Source(
        "population2020_england.csv",
        "Population estimates for the UK, England and Wales, Scotland and Northern Ireland: "
        "mid-2020 (MYE2, England, by single year of age and sex, summed to 19 bands)",
        "Office for National Statistics",
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/"
        "populationestimates/datasets/populationestimatesforukenglandandwalesscotlandand"
        "northernireland",
        "mid-2020",
    )
}


def _source(sources: dict[int, Source], version: int, what: str) -> Source:
    try:
        return sources[version]
    except KeyError:
        have = ", ".join(str(v) for v in sorted(sources))
        raise ValueError(f"no {what} for {version}: this release ships {have}") from None


@cache
def _read(source: Source, types: tuple[tuple[str, pa.DataType], ...]) -> pa.Table:
    """One shipped CSV with its column types, carrying the source in the schema metadata."""
    path = files(__name__) / source.file
    compression = "gzip" if source.file.endswith(".gz") else None
    options = pacsv.ConvertOptions(column_types=dict(types), strings_can_be_null=False)
    with path.open("rb") as handle:
        table = pacsv.read_csv(pa.input_stream(handle, compression), convert_options=options)
    return table.replace_schema_metadata(source.metadata())


_S, _I = pa.string(), pa.int64()


def load_imd(version: int = 2019) -> pa.Table:
    """Index of Multiple Deprivation by LSOA: ``lsoa_code``, ``imd_rank`` (1 = most deprived
    of England's 32,844 LSOAs), ``imd_decile`` and ``imd_quintile`` (1 = most deprived)."""
    source = _source(IMD_SOURCES, version, "IMD")
    types = (("lsoa_code", _S), ("imd_rank", _I), ("imd_decile", _I), ("imd_quintile", _I))
    return _read(source, types)


def load_icbs(version: int = 2022) -> pa.Table:
    """The 42 ICBs: ``icb_code`` (ONS), ``icb_ods_code``, ``icb_name`` and the NHS England
    region they belong to (``region_code`` ONS, ``region_ods_code``, ``region``)."""
    source = _source(ICB_REGION_SOURCES, version, "ICB list")
    columns = ("icb_code", "icb_ods_code", "icb_name", "region_code", "region_ods_code", "region")
    return _read(source, tuple((c, _S) for c in columns))


@cache
def load_lsoa_geography(version: int = 2022) -> pa.Table:
    """Each English LSOA (2011) with its local authority, Sub ICB Location, ICB and NHS
    England region (codes and names), sorted by ``lsoa_code``."""
    source = _source(GEOGRAPHY_SOURCES, version, "LSOA geography")
    columns = (
        "lsoa_code",
        "lsoa_name",
        "lad_code",
        "lad_name",
        "sub_icb_code",
        "sub_icb_ods_code",
        "icb_code",
    )
    lsoas = _read(source, tuple((c, _S) for c in columns))
    icbs = load_icbs(version)
    # a take by position, not Table.join: the same result without starting Acero (~0.3 s)
    row = pc.index_in(lsoas["icb_code"], value_set=icbs["icb_code"])
    for name in icbs.column_names[1:]:
        lsoas = lsoas.append_column(name, pc.take(icbs[name], row))
    regions = ICB_REGION_SOURCES[version]
    return lsoas.replace_schema_metadata({**source.metadata(), "region_source": regions.title})


def load_lsoa_population(year: int = 2020) -> pa.Table:
    """Usually resident population of each English LSOA (2011) at mid-``year``."""
    source = _source(LSOA_POPULATION_SOURCES, year, "LSOA population estimates")
    return _read(source, (("lsoa_code", _S), ("population", _I)))


def load_population(year: int = 2020) -> pa.Table:
    """England's population at mid-``year`` by ``sex`` and ``age_band`` (the 19 bands of
    :data:`AGE_BANDS`, with ``age_from`` and ``age_to``; ``age_to`` is null for 90+)."""
    source = _source(POPULATION_SOURCES, year, "population estimates")
    types = (("age_band", _S), ("age_from", _I), ("age_to", _I), ("sex", _S), ("population", _I))
    return _read(source, types)


def population_by_age_band(year: int = 2020, sex: str | None = None) -> tuple[int, ...]:
    """England's mid-``year`` population in the 19 bands of :data:`AGE_BANDS` (both sexes,
    or ``"female"`` or ``"male"``): denominators lined up with the European Standard
    Population, ready for ``fivesafes.stats.indicators.dsr``."""
    if sex is not None and sex not in SEXES:
        raise ValueError(f"sex must be one of {SEXES} or None, not {sex!r}")
    totals = dict.fromkeys(AGE_BANDS, 0)
    for row in load_population(year).to_pylist():
        if sex is None or row["sex"] == sex:
            totals[row["age_band"]] += row["population"]
    return tuple(totals.values())


@cache
def area_names(version: int = 2022) -> dict[str, str]:
    """The name of every local authority district, Sub ICB Location and ICB by its ONS code,
    from the LSOA lookup: a Sub ICB Location is named as the ONS names it, "<ICB name> - <ODS
    code>" (the lookup holds no other name for it)."""
    geo = load_lsoa_geography(version)
    icbs = load_icbs(version)
    icb_name = dict(zip(icbs["icb_code"].to_pylist(), icbs["icb_name"].to_pylist(), strict=True))
    names = dict(icb_name)
    for row in geo.select(["lad_code", "lad_name", "sub_icb_code", "sub_icb_ods_code",
                           "icb_code"]).to_pylist():  # fmt: skip
        names[row["lad_code"]] = row["lad_name"]
        names[row["sub_icb_code"]] = f"{icb_name[row['icb_code']]} - {row['sub_icb_ods_code']}"
    return names

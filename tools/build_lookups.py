"""Rebuild the lookup tables shipped in src/fivesafes/model/lookups/ from their carrier files.

The tables are official statistics (Open Government Licence v3.0): the English Indices of
Deprivation 2019, the ONS LSOA (2011) to Sub ICB Location to ICB (July 2022) lookup, the ONS
small-area (LSOA) mid-2020 population estimates and the ONS mid-2020 population estimates by
single year of age and sex. We did not download them from gov.uk (not reachable from here):
each came out of a public GitHub repository that carries the official data unchanged, named
with its exact git blob below, so a rebuild can prove it read the very same bytes. Only the
data are taken, never code. SOURCES.md beside the tables says where every file came from.

    .venv/bin/python tools/build_lookups.py --mirrors /work/.mirror     # git snapshots
    .venv/bin/python tools/build_lookups.py --carriers DIR              # files by basename

Needs ``rdata`` (reads R's .rda), ``pandas`` and ``xlrd`` (reads the ONS .xls): tools for
this script only, not dependencies of fivesafes. The output is byte-for-byte reproducible
(gzip without a timestamp, rows sorted), and every check the SOURCES.md file reports is
asserted here, so a rebuild that would ship something different fails loudly.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import rdata

OUT = Path(__file__).resolve().parents[1] / "src" / "fivesafes" / "model" / "lookups"
ENGLAND_MID_2020 = 56_550_138
"""England's usually resident population at mid-2020 (ONS MYE2, "All ages", E92000001)."""
ENGLAND_MALES_MID_2020 = 27_982_818
ENGLAND_FEMALES_MID_2020 = 28_567_320
LSOA11_ENGLAND = 32_844
BANDS = (*((a, a + 4) for a in range(0, 90, 5)), (90, None))
"""The 19 age bands of the European Standard Population 2013."""


@dataclass(frozen=True, slots=True)
class Carrier:
    """One file in a public repository that carries official data unchanged."""

    repo: str
    commit: str
    path: str
    blob: str
    """Git blob id of the file: the SHA-1 of its bytes, which this script checks."""


IMD = Carrier(
    "humaniverse/IMD",
    "2f6c9050afee99a40041eb63b02b6b0c58850704",
    "data/imd2019_england_lsoa11.rda",
    "62865e3bfb9879e2aaadc975e56f0a8b1e065a0c",
)
LSOA_ICB = Carrier(
    "humaniverse/geographr",
    "c026be5cc76cb576358082b53f1f13d69ab577ae",
    "data/lookup_lsoa11_sicbl22_icb22_ltla22.rda",
    "882fb53c22ef3ef8193146d72ff67cc50049428a",
)
TRUST_REGIONS = Carrier(
    "humaniverse/geographr",
    "c026be5cc76cb576358082b53f1f13d69ab577ae",
    "data/lookup_nhs_trusts22_nhs_region21.rda",
    "70de486e77fc7593f8ee5f74c4232a6b65db21d8",
)
TRUST_ICBS = Carrier(
    "humaniverse/geographr",
    "c026be5cc76cb576358082b53f1f13d69ab577ae",
    "data/lookup_nhs_trusts22_icb22.rda",
    "31125d4735b3bd3ae50357a0e18971038721e072",
)
LSOA_POPULATION = Carrier(
    "humaniverse/demographr",
    "d0417101e5cad5fe1eca059ac60859e9157a29d2",
    "data/population20_lsoa11.rda",
    "b0e6b7a072192d3002c39ba2f1f4e8d05b77396a",
)
MYE_2020 = Carrier(
    "opensafely/representativeness",
    "beed9966e2b6947c6d2b5658c71a95221addd30e",
    "data/ukpopestimatesmid2020on2021geography.xls",
    "7aca18b0732e9de8075934380d1d0be88913e03c",
)
LAD_REGIONS = Carrier(
    "humaniverse/geographr",
    "c026be5cc76cb576358082b53f1f13d69ab577ae",
    "data/lookup_ltla21_region21.rda",
    "1aedfb93907c68758d65d7c6ffbfed2275a80257",
)
CARRIERS = (IMD, LSOA_ICB, TRUST_REGIONS, TRUST_ICBS, LAD_REGIONS, LSOA_POPULATION, MYE_2020)
NHS_REGION_OF_ONS_REGION = {
    "North East": "North East and Yorkshire",
    "Yorkshire and The Humber": "North East and Yorkshire",
    "North West": "North West",
    "East Midlands": "Midlands",
    "West Midlands": "Midlands",
    "East of England": "East of England",
    "London": "London",
    "South East": "South East",
    "South West": "South West",
}
"""The NHS England region each ONS region (mostly) lies in: used only to check the derivation."""


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def read_carrier(carrier: Carrier, mirrors: Path | None, carriers: Path | None) -> bytes:
    """The carrier's bytes, from a git snapshot or a directory, checked against its blob id."""
    if mirrors is not None:
        git_dir = mirrors / carrier.repo.replace("/", "+") / "repo"
        data = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{carrier.commit}:{carrier.path}"],
            check=True,
            capture_output=True,
        ).stdout
    else:
        assert carriers is not None
        data = (carriers / Path(carrier.path).name).read_bytes()
    found = git_blob_id(data)
    if found != carrier.blob:
        sys.exit(f"{carrier.repo}:{carrier.path}: blob {found}, expected {carrier.blob}")
    return data


def read_rda(data: bytes) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns that tibbles are read as data frames
        (frame,) = rdata.read_rda(io.BytesIO(data)).values()  # type: ignore[arg-type]
    return frame


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """CSV (gzipped when the name ends .gz, with no timestamp so rebuilds are identical)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    raw = text.getvalue().encode()
    if path.suffix == ".gz":
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as z:
            z.write(raw)
        raw = buffer.getvalue()
    path.write_bytes(raw)
    print(f"  wrote {path.name}: {len(raw):,} bytes")


def check(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"check failed: {message}")
    print(f"  ok: {message}")


def build_imd(frame: pd.DataFrame, out: Path) -> set[str]:
    """LSOA (2011) -> IMD 2019 rank, decile and quintile (1 = most deprived)."""
    imd = frame[["lsoa11_code", "IMD_rank", "IMD_decile"]].sort_values("lsoa11_code")
    check(len(imd) == LSOA11_ENGLAND, f"IMD 2019 has {len(imd):,} LSOAs (32,844 expected)")
    check(imd["lsoa11_code"].is_unique, "each LSOA appears once")
    check(bool(imd["lsoa11_code"].str.fullmatch(r"E01\d{6}").all()), "codes are E01 + 6 digits")
    check(not imd.isna().any().any(), "no missing values")
    counts = Counter(imd["IMD_decile"].astype(int))
    check(
        sorted(counts) == list(range(1, 11)) and min(counts.values()) >= 3284
        and max(counts.values()) <= 3285,
        f"each decile holds 3,284-3,285 LSOAs: {dict(sorted(counts.items()))}",
    )  # fmt: skip
    ranks = imd["IMD_rank"].astype(int)
    check(int(ranks.min()) == 1 and int(ranks.max()) == LSOA11_ENGLAND, "ranks run 1..32,844")
    ties = int(ranks.duplicated().sum())
    print(f"  note: {ties} ranks are shared by two LSOAs in the carrier (the next is skipped)")
    rows = [
        (code, int(rank), int(decile), (int(decile) + 1) // 2)
        for code, rank, decile in imd.itertuples(index=False)
    ]
    write_csv(
        out / "imd2019_lsoa11.csv.gz", ("lsoa_code", "imd_rank", "imd_decile", "imd_quintile"), rows
    )
    return set(imd["lsoa11_code"])


def icb_regions(trust_regions: pd.DataFrame, trust_icbs: pd.DataFrame) -> pd.DataFrame:
    """NHS England region of each ICB, from the regions of the trusts it mainly serves.

    No carrier holds the ONS ICB-to-NHS-region lookup, so it is derived from two official
    tables: each trust's main ICB (the ICB most of its admissions come from, OHID acute trust
    catchments 2022) and each trust's NHS region (its national grouping in the NHS ODS
    ``etr`` file, with ONS region codes). Every ICB takes the region of most of its trusts.
    """
    main = (
        trust_icbs.sort_values(["proportion_trust_came_from_icb", "nhs_trust22_code"])
        .drop_duplicates("nhs_trust22_code", keep="last")
        .merge(trust_regions, on="nhs_trust22_code", how="left", validate="one_to_one")
    )
    check(not main["nhs_region21_name"].isna().any(), "every catchment trust has an ODS region")
    votes = main.groupby(["icb22_code", "nhs_region21_ons_code", "nhs_region21_nhs_code",
                          "nhs_region21_name"]).size().rename("trusts").reset_index()  # fmt: skip
    votes = votes.sort_values(["icb22_code", "trusts", "nhs_region21_ons_code"])
    chosen = votes.drop_duplicates("icb22_code", keep="last")
    split = votes.groupby("icb22_code").size()
    for icb in split[split > 1].index:
        print(f"  note: {icb}'s trusts lie in several regions: "
              + ", ".join(f"{r.nhs_region21_name} {r.trusts}" for r in
                          votes[votes.icb22_code == icb].itertuples()))  # fmt: skip
    return chosen.rename(
        columns={
            "nhs_region21_ons_code": "region_code",
            "nhs_region21_nhs_code": "region_ods_code",
            "nhs_region21_name": "region",
        }
    )[["icb22_code", "region_code", "region_ods_code", "region"]]


def build_geography(
    lookup: pd.DataFrame, regions: pd.DataFrame, lsoas: set[str], out: Path
) -> pd.DataFrame:
    """LSOA (2011) -> LAD, Sub ICB Location and ICB (July 2022); ICB -> NHS England region."""
    lookup = lookup.sort_values("lsoa11_code")
    check(len(lookup) == LSOA11_ENGLAND and lookup["lsoa11_code"].is_unique, "32,844 LSOAs once")
    check(set(lookup["lsoa11_code"]) == lsoas, "the same LSOAs as IMD 2019")
    check(lookup["icb22_code"].nunique() == 42, "42 ICBs")
    check(lookup["sicbl22_code"].nunique() == 106, "106 Sub ICB Locations")
    check(
        bool((lookup.groupby("sicbl22_code")["icb22_code"].nunique() == 1).all()),
        "each Sub ICB Location lies in one ICB",
    )
    write_csv(
        out / "geography2022_lsoa11.csv.gz",
        ("lsoa_code", "lsoa_name", "lad_code", "lad_name", "sub_icb_code", "sub_icb_ods_code",
         "icb_code"),
        lookup[["lsoa11_code", "lsoa11_name", "ltla22_code", "ltla22_name", "sicbl22_code",
                "sicbl22_code_h", "icb22_code"]].itertuples(index=False),
    )  # fmt: skip
    icbs = (
        lookup[["icb22_code", "icb22_code_h", "icb22_name"]]
        .drop_duplicates()
        .merge(regions, on="icb22_code", how="left", validate="one_to_one")
        .sort_values("icb22_code")
    )
    check(len(icbs) == 42 and not icbs.isna().any().any(), "every ICB has one NHS region")
    check(icbs["region"].nunique() == 7, "7 NHS England regions")
    write_csv(
        out / "icb2022_regions.csv",
        ("icb_code", "icb_ods_code", "icb_name", "region_code", "region_ods_code", "region"),
        icbs.itertuples(index=False),
    )
    return lookup.merge(icbs[["icb22_code", "region"]], on="icb22_code")


def england_mye(data: bytes) -> dict[str, pd.Series]:
    """England's row of MYE2 (persons, males, females): "All ages" then ages 0..89 and 90+."""
    book = pd.ExcelFile(io.BytesIO(data))
    rows: dict[str, pd.Series] = {}
    for sex in ("Persons", "Males", "Females"):
        sheet = pd.read_excel(book, f"MYE2 - {sex}", header=None)
        header = sheet.index[sheet[0] == "Code"][0]
        table = pd.read_excel(book, f"MYE2 - {sex}", header=None, skiprows=header + 1)
        table.columns = ["code", "name", "geography", "all", *range(91)]
        (england,) = table[table["code"] == "E92000001"].itertuples(index=False)
        rows[sex] = pd.Series(england[3:], index=["all", *range(91)]).astype(int)
    return rows


def check_regions(
    geography: pd.DataFrame, lad_regions: pd.DataFrame, lsoa_pop: pd.DataFrame
) -> None:
    """Cross-check the derived ICB regions against a second, independent route: the ONS
    region where most of each ICB's people live (LSOA -> LAD -> ONS region, mid-2020)."""
    people = (
        geography.merge(lad_regions, left_on="ltla22_code", right_on="ltla21_code")
        .merge(lsoa_pop[["lsoa11_code", "total_population"]], on="lsoa11_code")
        .groupby(["icb22_code", "region", "region21_name"])["total_population"].sum()
        .reset_index()
        .sort_values(["icb22_code", "total_population"])
        .drop_duplicates("icb22_code", keep="last")
    )  # fmt: skip
    check(len(people) == 42, "every ICB's people have an ONS region")
    agree = people["region21_name"].map(NHS_REGION_OF_ONS_REGION) == people["region"]
    check(bool(agree.all()), "each ICB's region = the NHS region of its main ONS region")


def build_population(
    lsoa_population: pd.DataFrame, mye: dict[str, pd.Series], geography: pd.DataFrame, out: Path
) -> None:
    """Mid-2020 populations: England by age band and sex; each English LSOA's total."""
    persons, males, females = mye["Persons"], mye["Males"], mye["Females"]
    for series, total, who in (
        (persons, ENGLAND_MID_2020, "persons"),
        (males, ENGLAND_MALES_MID_2020, "males"),
        (females, ENGLAND_FEMALES_MID_2020, "females"),
    ):
        check(int(series["all"]) == total, f"MYE2 England mid-2020 {who}: {total:,}")
    ages = list(range(91))
    check(bool((males[ages] + females[ages] == persons[ages]).all()), "males + females = persons")
    check(int(persons[ages].sum()) == ENGLAND_MID_2020, "single years sum to the total")

    england = lsoa_population[lsoa_population["lsoa11_code"].str.startswith("E01")]
    england = england.sort_values("lsoa11_code")
    check(set(england["lsoa11_code"]) == set(geography["lsoa11_code"]), "LSOAs as in IMD 2019")
    total = int(england["total_population"].sum())
    check(total == ENGLAND_MID_2020, f"LSOA estimates sum to England's total, {total:,}")
    by_age = england[[str(a) for a in range(90)] + ["90+"]].sum().astype(int).to_numpy()
    check(bool((by_age == persons[ages].to_numpy()).all()), "LSOA ages sum to MYE2 by age")
    write_csv(
        out / "population2020_lsoa11.csv.gz",
        ("lsoa_code", "population"),
        ((c, int(p)) for c, p in england[["lsoa11_code", "total_population"]].itertuples(False)),
    )
    shares = (
        england.merge(geography[["lsoa11_code", "region"]], on="lsoa11_code")
        .groupby("region")["total_population"].sum() / total
    )  # fmt: skip
    print("  regions' shares of England:", {r: round(s, 4) for r, s in shares.items()})

    rows = []
    for sex, series in (("female", females), ("male", males)):
        for lo, hi in BANDS:
            band = f"{lo}-{hi}" if hi is not None else f"{lo}+"
            count = int(series[list(range(lo, (hi if hi is not None else 90) + 1))].sum())
            rows.append((band, lo, "" if hi is None else hi, sex, count))
    check(sum(r[4] for r in rows) == ENGLAND_MID_2020, "age bands by sex sum to the total")
    write_csv(
        out / "population2020_england.csv",
        ("age_band", "age_from", "age_to", "sex", "population"),
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--mirrors", type=Path, help="directory of git snapshots owner+name/repo")
    source.add_argument("--carriers", type=Path, help="directory holding the carrier files")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = {c: read_carrier(c, args.mirrors, args.carriers) for c in CARRIERS}
    print("carriers: every file has its recorded git blob id")
    print("IMD 2019 by LSOA")
    lsoas = build_imd(read_rda(data[IMD]), args.out)
    print("LSOA -> ICB -> NHS England region")
    regions = icb_regions(read_rda(data[TRUST_REGIONS]), read_rda(data[TRUST_ICBS]))
    geography = build_geography(read_rda(data[LSOA_ICB]), regions, lsoas, args.out)
    check_regions(geography, read_rda(data[LAD_REGIONS]), read_rda(data[LSOA_POPULATION]))
    print("Mid-2020 population estimates")
    build_population(read_rda(data[LSOA_POPULATION]), england_mye(data[MYE_2020]), geography,
                     args.out)  # fmt: skip


if __name__ == "__main__":
    main()

"""England's real small areas and ICBs, peopled by synthetic GP practices and NHS trusts.

The areas are real: LSOAs (2011) with their IMD 2019 decile, ICB and NHS England region, drawn
from the official tables in :mod:`fivesafes.model.lookups`, so that analyses of demo data by
deprivation, ICB and region look like England. Every region's share of the people is its real
share of England's mid-2020 population. Within a region, ICBs are picked with probability
proportional to their population (at least one per region); within an ICB, LSOAs are a
systematic sample along the IMD ranking (so each ICB keeps its own spread of deprivation), and
people live in them in proportion to their real populations. With every ICB and LSOA picked
this is exactly England's distribution.

Above the LSOAs the hierarchy is real too, from the same ONS lookup (LSOA (2011) to Sub ICB
Location to ICB to local authority district, July 2022): each LSOA lies in one local authority
and one Sub ICB Location, each Sub ICB Location in one ICB, each ICB in one region. A person's
local authority is that of the LSOA they live in (residence); each practice is placed in one
Sub ICB Location of its ICB, among those its people live in (by population, on a stream of its
own, so every other draw is as it was before practices had one), and a registration's Sub ICB
Location and ICB are its practice's (registration), as Fingertips builds GP-registered ICB and
sub-ICB profiles and resident local authority ones. Sub ICB Location names are the ONS form
"<ICB name> - <ODS code>" (:func:`fivesafes.model.lookups.area_names`).

Everything else is invented: GP practices, trusts, their ODS codes, names and postcodes (codes
have the right *shape*; some will coincide with real ones by chance and mean nothing), and
the postcodes of addresses, which are drawn from each region's postcode areas, not from the
LSOA's real postcodes.

Sizes scale with the population: one ICB per 1.36 million (at most all 42), about one
practice per 8,000 patients, one trust per 60,000 (at least 2), one LSOA per 1,500. A small
population still spreads over several areas at each level, so that a profile by ICB is not
one by region again, nor one by Sub ICB Location one by ICB: at least two ICBs per region's
worth (``MIN_ICBS``; every region has one, the rest go by population), two practices per ICB
(``PRACTICES_PER_ICB``; so people register in their own ICB, and where its LSOAs lie in more
than one Sub ICB Location its practices do too) and four LSOAs per ICB (``LSOAS_PER_ICB``, and
at least 30), over whose local authorities people live.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np
import pyarrow.compute as pc

from fivesafes.model.lookups import (
    area_names,
    load_icbs,
    load_imd,
    load_lsoa_geography,
    load_lsoa_population,
)
from fivesafes.model.tables import REGIONS

LONDON = REGIONS.index("London")
MIN_ICBS = 2 * len(REGIONS)
"""The fewest ICBs a population is spread over: twice the regions, so ICBs are not regions."""
PRACTICES_PER_ICB = 2
"""The fewest practices per ICB, so that Sub ICB Locations are not ICBs."""
LSOAS_PER_ICB = 4
"""The fewest LSOAs per ICB, so that its people live in more than one Sub ICB Location and
local authority where it has them."""

_POSTCODE_AREAS = {
    "East of England": "AL CB CM CO HP IP LU NR PE SG SS WD",
    "London": "E N NW SE SW W EC WC BR CR HA IG KT SM TW UB EN RM DA",
    "Midlands": "B CV DE DY LE LN NG NN ST WS WV WR HR TF",
    "North East and Yorkshire": "BD DH DL DN HD HG HU HX LS NE S SR TS WF YO",
    "North West": "BB BL CA CH CW FY L LA M OL PR SK WA WN",
    "South East": "BN CT GU ME MK OX PO RG RH SL SO TN",
    "South West": "BA BH BS DT EX GL PL SN SP TA TQ TR",
}
_PRACTICE_LETTERS = {
    "East of England": "D",
    "London": "EF",
    "Midlands": "CM",
    "North East and Yorkshire": "AB",
    "North West": "NP",
    "South East": "GHJK",
    "South West": "L",
}
_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
_PLACE_START = [
    "Ash",
    "Bram",
    "Carl",
    "Dun",
    "Elm",
    "Fern",
    "Glen",
    "Hal",
    "Ingle",
    "Kings",
    "Lang",
    "Mill",
    "North",
    "Oak",
    "Pen",
    "Red",
    "Shel",
    "Thorn",
    "West",
    "Whit",
    "Wood",
    "Black",
    "Stan",
    "Brad",
    "Chel",
    "Dor",
    "Gran",
    "Hart",
    "Lyn",
    "Marl",
    "Nor",
    "Ock",
    "Pres",
    "Rother",
    "Sal",
    "Tad",
    "Wen",
    "Yar",
    "Cran",
    "Hol",
]
_PLACE_END = [
    "bury",
    "by",
    "field",
    "ford",
    "ham",
    "ley",
    "minster",
    "mouth",
    "stead",
    "ton",
    "well",
    "wick",
    "worth",
    "combe",
    "dale",
    "bridge",
    "hurst",
    "thorpe",
]
_PRACTICE_KINDS = ("Surgery", "Medical Centre", "Health Centre", "Medical Practice")
_TRUST_KINDS = (
    "Hospitals NHS Foundation Trust",
    "University Hospitals NHS Trust",
    "NHS Foundation Trust",
)


@dataclass(frozen=True, slots=True)
class Organisation:
    """One ICB, practice or trust; ``icb``, ``region`` and ``sub_icb`` index the geography's
    tables. ``area`` is the ONS code of the area it answers for: an ICB's own (E54), a
    practice's Sub ICB Location (E38); empty for a trust."""

    code: str
    name: str
    kind: str
    icb: int
    region: int
    postcode: str
    sub_icb: int = -1
    area: str = ""


@dataclass(frozen=True, slots=True)
class Area:
    """A local authority or Sub ICB Location: its ONS code and name (for a Sub ICB Location its
    ODS code and the position of its ICB in the geography's ``icbs`` too)."""

    code: str
    name: str
    ods_code: str = ""
    icb: int = -1


@dataclass(frozen=True, slots=True)
class Geography:
    """The organisations and areas of a population, with the lookups patients are drawn from."""

    icbs: tuple[Organisation, ...]
    practices: tuple[Organisation, ...]
    trusts: tuple[Organisation, ...]
    lsoa_codes: tuple[str, ...]
    lsoa_icb: np.ndarray
    lsoa_region: np.ndarray
    lsoa_decile: np.ndarray
    lsoa_weight: np.ndarray
    lsoa_outward: tuple[str, ...]
    lsoa_practices: tuple[np.ndarray, ...]
    """Practices a resident of each LSOA registers with: its ICB's, else its region's, else all."""
    lsoa_trusts: tuple[np.ndarray, ...]
    lsoa_home_practice: np.ndarray
    """The practice most residents of each LSOA register with (one of its candidates)."""
    lsoa_home_trust: np.ndarray
    sub_icbs: tuple[Area, ...] = ()
    local_authorities: tuple[Area, ...] = ()
    lsoa_sub_icb: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Position in ``sub_icbs`` of each LSOA's Sub ICB Location."""
    lsoa_local_authority: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Position in ``local_authorities`` of each LSOA's local authority."""


def allocate(total: int, shares: np.ndarray) -> np.ndarray:
    """Split ``total`` items over ``shares`` by largest remainder, one each first when possible."""
    n = len(shares)
    base = np.ones(n, dtype=np.int64) if total >= n else np.zeros(n, dtype=np.int64)
    rest = total - int(base.sum())
    exact = shares / shares.sum() * rest
    counts = base + np.floor(exact).astype(np.int64)
    remainder = total - int(counts.sum())
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    counts[order[:remainder]] += 1
    return counts


def _places(rng: np.random.Generator, n: int) -> list[str]:
    starts = rng.integers(0, len(_PLACE_START), n)
    ends = rng.integers(0, len(_PLACE_END), n)
    return [
        _PLACE_START[s] + _PLACE_END[e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def inward_codes(rng: np.random.Generator, n: int) -> list[str]:
    """Synthetic inward halves of postcodes (digit, two letters)."""
    digits = rng.integers(0, 10, n).astype(str)
    letters = rng.choice(_INWARD_LETTERS, size=(n, 2))
    return np.char.add(np.char.add(digits, letters[:, 0]), letters[:, 1]).tolist()


def _unique_codes(rng: np.random.Generator, candidates: list[str], n: int) -> list[str]:
    picked = rng.choice(len(candidates), size=n, replace=False)
    return [candidates[i] for i in sorted(picked.tolist())]


def _candidates(owner: np.ndarray, key: int, region_of: np.ndarray, region: int) -> np.ndarray:
    same = np.flatnonzero(owner == key)
    if len(same):
        return same
    same_region = np.flatnonzero(region_of == region)
    return same_region if len(same_region) else np.arange(len(owner))


@dataclass(frozen=True, slots=True)
class England:
    """The real LSOAs, grouped by ICB and, within each ICB, ordered by IMD rank."""

    lsoa_codes: np.ndarray
    lsoa_decile: np.ndarray
    lsoa_population: np.ndarray
    icb_start: np.ndarray
    """LSOAs of ICB ``i`` are ``icb_start[i]:icb_start[i + 1]``."""
    lsoa_lad: np.ndarray
    lsoa_lad_name: np.ndarray
    lsoa_sub_icb: np.ndarray
    lsoa_sub_icb_ods: np.ndarray
    icb_ods_codes: tuple[str, ...]
    icb_ons_codes: tuple[str, ...]
    icb_names: tuple[str, ...]
    icb_region: np.ndarray
    icb_population: np.ndarray
    region_share: np.ndarray
    """Each region's share of England's population (REGIONS order)."""


@cache
def england() -> England:
    """The lookup tables arranged for sampling (read once per process)."""
    geo, icbs = load_lsoa_geography(), load_icbs()
    codes = geo["lsoa_code"]
    imd, pop = load_imd(), load_lsoa_population()
    at_imd = pc.index_in(codes, value_set=imd["lsoa_code"])
    at_pop = pc.index_in(codes, value_set=pop["lsoa_code"])
    # to_pylist, not to_numpy: pyarrow's to_numpy imports pandas when it is installed (~0.5 s)
    rank = np.array(pc.take(imd["imd_rank"], at_imd).to_pylist())
    decile = np.array(pc.take(imd["imd_decile"], at_imd).to_pylist())
    population = np.array(pc.take(pop["population"], at_pop).to_pylist(), dtype=np.float64)
    icb = np.array(pc.index_in(geo["icb_code"], value_set=icbs["icb_code"]).to_pylist())
    order = np.lexsort((rank, icb))
    icb_region = np.array([REGIONS.index(r) for r in icbs["region"].to_pylist()])
    icb_population = np.bincount(icb, population, minlength=icbs.num_rows)
    region_population = np.bincount(icb_region, icb_population, minlength=len(REGIONS))
    return England(
        lsoa_codes=np.array(codes.to_pylist(), dtype=object)[order],
        lsoa_decile=decile[order],
        lsoa_population=population[order],
        lsoa_lad=np.array(geo["lad_code"].to_pylist(), dtype=object)[order],
        lsoa_lad_name=np.array(geo["lad_name"].to_pylist(), dtype=object)[order],
        lsoa_sub_icb=np.array(geo["sub_icb_code"].to_pylist(), dtype=object)[order],
        lsoa_sub_icb_ods=np.array(geo["sub_icb_ods_code"].to_pylist(), dtype=object)[order],
        icb_start=np.concatenate(([0], np.cumsum(np.bincount(icb, minlength=icbs.num_rows)))),
        icb_ods_codes=tuple(icbs["icb_ods_code"].to_pylist()),
        icb_ons_codes=tuple(icbs["icb_code"].to_pylist()),
        icb_names=tuple(icbs["icb_name"].to_pylist()),
        icb_region=icb_region,
        icb_population=icb_population,
        region_share=region_population / region_population.sum(),
    )


def _weighted_sample(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` distinct indices drawn without replacement with probability by ``weights``
    (Efraimidis and Spirakis: the ``n`` smallest exponential keys divided by weight)."""
    keys = rng.exponential(size=len(weights)) / weights
    return np.argsort(keys, kind="stable")[:n]


def _pick_icbs(rng: np.random.Generator, e: England, n: int) -> np.ndarray:
    """``n`` ICBs (sorted), weighted by population, at least one in every region."""
    first = [
        int(mine[_weighted_sample(rng, e.icb_population[mine], 1)[0]])
        for mine in (np.flatnonzero(e.icb_region == r) for r in range(len(REGIONS)))
    ]
    rest = np.setdiff1d(np.arange(len(e.icb_region)), first)
    more = rest[_weighted_sample(rng, e.icb_population[rest], n - len(first))]
    return np.sort(np.concatenate((first, more)))


def allocate_capped(total: int, shares: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Like :func:`allocate`, but no item gets more than its cap (the excess goes to the rest)."""
    counts = np.zeros(len(shares), dtype=np.int64)
    open_ = np.ones(len(shares), dtype=bool)
    while True:
        counts[open_] = allocate(total - int(counts[~open_].sum()), shares[open_])
        over = open_ & (counts > caps)
        if not over.any():
            return counts
        counts[over] = caps[over]
        open_ &= ~over


def systematic_positions(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """``n`` distinct positions out of ``size`` spaced evenly from a random start."""
    step = size / n
    return np.floor(rng.random() * step + np.arange(n) * step).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Areas:
    """The ICBs and LSOAs a population lives in, and how its people spread over them."""

    icbs: np.ndarray
    """Indices of the chosen ICBs into England's tables, sorted."""
    icb_share: np.ndarray
    """Share of the people in each chosen ICB."""
    rows: np.ndarray
    """The chosen LSOAs (rows of England's tables), grouped by ICB."""
    lsoa_icb: np.ndarray
    """Position in ``icbs`` of each chosen LSOA's ICB."""
    lsoa_weight: np.ndarray
    """Share of the people in each chosen LSOA."""


def sample_areas(rng: np.random.Generator, e: England, n_icb: int, n_lsoa: int) -> Areas:
    """``n_icb`` ICBs (at least one per region) and ``n_lsoa`` of their LSOAs, weighted so that
    each region holds its real share of the people and, within a region, ICBs and LSOAs hold
    people in proportion to their real populations."""
    if not len(REGIONS) <= n_icb <= n_lsoa:
        raise ValueError(f"need {len(REGIONS)} <= ICBs <= LSOAs, not {n_icb} and {n_lsoa}")
    chosen = _pick_icbs(rng, e, n_icb)
    icb_region = e.icb_region[chosen]
    region_chosen = np.bincount(icb_region, e.icb_population[chosen], minlength=len(REGIONS))
    icb_share = e.region_share[icb_region] * e.icb_population[chosen] / region_chosen[icb_region]
    sizes = np.diff(e.icb_start)[chosen]
    per_icb = allocate_capped(n_lsoa, icb_share, sizes)
    rows = np.concatenate(
        [
            e.icb_start[i] + systematic_positions(rng, int(size), int(k))
            for i, size, k in zip(chosen.tolist(), sizes.tolist(), per_icb.tolist(), strict=True)
        ]
    )
    lsoa_icb = np.repeat(np.arange(len(chosen)), per_icb)
    weight = e.lsoa_population[rows] * icb_share[lsoa_icb]
    weight /= np.bincount(lsoa_icb, e.lsoa_population[rows])[lsoa_icb]
    return Areas(chosen, icb_share, rows, lsoa_icb, weight / weight.sum())


def _areas_above(
    e: England, areas: Areas
) -> tuple[tuple[Area, ...], np.ndarray, tuple[Area, ...], np.ndarray]:
    """The real local authorities and Sub ICB Locations of the chosen LSOAs (sorted by code),
    and the position of each LSOA's among them."""
    rows = areas.rows
    la_codes, lsoa_la = np.unique(e.lsoa_lad[rows].astype(str), return_inverse=True)
    la_name = dict(zip(e.lsoa_lad[rows].tolist(), e.lsoa_lad_name[rows].tolist(), strict=True))
    local_authorities = tuple(Area(c, la_name[c]) for c in la_codes.tolist())
    sub_codes, lsoa_sub = np.unique(e.lsoa_sub_icb[rows].astype(str), return_inverse=True)
    first = np.array([int(np.flatnonzero(lsoa_sub == k)[0]) for k in range(len(sub_codes))])
    sub_icbs = tuple(
        Area(code, area_names()[code], ods, int(areas.lsoa_icb[f]))
        for code, ods, f in zip(
            sub_codes.tolist(), e.lsoa_sub_icb_ods[rows[first]].tolist(), first, strict=True
        )
    )
    return local_authorities, lsoa_la.astype(np.int64), sub_icbs, lsoa_sub.astype(np.int64)


def place_in_sub_icbs(
    rng: np.random.Generator,
    practice_icb: np.ndarray,
    lsoa_icb: np.ndarray,
    lsoa_sub_icb: np.ndarray,
    lsoa_weight: np.ndarray,
) -> np.ndarray:
    """The Sub ICB Location of each practice, one of its ICB's (those its LSOAs lie in): spread
    over them by population, every one getting a practice when the ICB has enough, else the
    ICB's practices go to a weighted sample of them."""
    people = np.bincount(lsoa_sub_icb, lsoa_weight)
    placed = np.empty(len(practice_icb), dtype=np.int64)
    for icb in np.unique(practice_icb).tolist():
        mine = np.flatnonzero(practice_icb == icb)
        subs = np.unique(lsoa_sub_icb[lsoa_icb == icb])
        if len(mine) >= len(subs):
            placed[mine] = np.repeat(subs, allocate(len(mine), people[subs]))
        else:
            placed[mine] = np.sort(subs[_weighted_sample(rng, people[subs], len(mine))])
    return placed


def build_geography(rng: np.random.Generator, patients: int) -> Geography:
    """Regions, ICBs, practices, trusts and LSOAs sized for ``patients`` people."""
    e = england()
    n_icb = int(np.clip(round(patients / 1_360_000), MIN_ICBS, len(e.icb_region)))
    n_practice = max(PRACTICES_PER_ICB * n_icb, round(patients / 8000))
    n_trust = max(2, round(patients / 60_000))
    n_lsoa = min(max(30, LSOAS_PER_ICB * n_icb, round(patients / 1500)), len(e.lsoa_codes))

    areas = sample_areas(rng, e, n_icb, n_lsoa)
    chosen, icb_share, lsoa_icb = areas.icbs, areas.icb_share, areas.lsoa_icb
    n_lsoa = len(areas.rows)  # fewer than asked for only if the chosen ICBs run out of LSOAs
    icb_region = e.icb_region[chosen]
    lsoa_region = icb_region[lsoa_icb]
    postcode_areas = [_POSTCODE_AREAS[REGIONS[r]].split() for r in lsoa_region.tolist()]
    districts = rng.integers(1, 30, n_lsoa).tolist()
    picks = rng.random(n_lsoa).tolist()
    lsoa_outward = tuple(
        f"{a[int(p * len(a))]}{d}" for a, p, d in zip(postcode_areas, picks, districts, strict=True)
    )

    def located(n: int) -> tuple[np.ndarray, list[str], list[str]]:
        """ICB, postcode and place name of ``n`` organisations spread like the population."""
        if n >= n_icb:
            icb = np.repeat(np.arange(n_icb), allocate(n, icb_share))
        else:
            icb = np.sort(rng.choice(n_icb, size=n, replace=False, p=icb_share))
        postcodes = [
            f"{lsoa_outward[int(rng.choice(np.flatnonzero(lsoa_icb == i)))]} {inward}"
            for i, inward in zip(icb.tolist(), inward_codes(rng, n), strict=True)
        ]
        return icb, postcodes, _places(rng, n)

    def organisations(
        codes: list[str], names: list[str], kind: str, icb: np.ndarray, postcodes: list[str]
    ) -> tuple[Organisation, ...]:
        return tuple(
            Organisation(code, name, kind, i, int(icb_region[i]), postcode)
            for code, name, i, postcode in zip(codes, names, icb.tolist(), postcodes, strict=True)
        )

    icb_codes = [e.icb_ods_codes[i] for i in chosen.tolist()]
    icb_postcodes = [
        f"{lsoa_outward[int(np.flatnonzero(lsoa_icb == i)[0])]} {inward}"
        for i, inward in enumerate(inward_codes(rng, n_icb))
    ]
    icb_names = [e.icb_names[i] for i in chosen.tolist()]
    icbs = tuple(
        replace(org, area=e.icb_ons_codes[i])
        for org, i in zip(
            organisations(icb_codes, icb_names, "icb", np.arange(n_icb), icb_postcodes),
            chosen.tolist(),
            strict=True,
        )
    )
    local_authorities, lsoa_la, sub_icbs, lsoa_sub = _areas_above(e, areas)

    practice_icb, practice_postcodes, practice_places = located(n_practice)
    practice_region = icb_region[practice_icb]
    practice_codes = [""] * n_practice
    for region, name in enumerate(REGIONS):
        mine = np.flatnonzero(practice_region == region).tolist()
        pool = [f"{c}{n:05d}" for c in _PRACTICE_LETTERS[name] for n in range(81001, 89999, 7)]
        for i, code in zip(mine, _unique_codes(rng, pool, len(mine)), strict=True):
            practice_codes[i] = code
    kinds = rng.integers(0, len(_PRACTICE_KINDS), n_practice).tolist()
    practice_names = [
        f"{place} {_PRACTICE_KINDS[k]}" for place, k in zip(practice_places, kinds, strict=True)
    ]
    # a stream of its own (spawned: the geography's stream is not moved), so that placing
    # practices in Sub ICB Locations leaves every other draw of the population as it was
    practice_sub = place_in_sub_icbs(
        rng.spawn(1)[0], practice_icb, lsoa_icb, lsoa_sub, areas.lsoa_weight
    )
    practices = tuple(
        replace(org, sub_icb=int(k), area=sub_icbs[int(k)].code)
        for org, k in zip(
            organisations(
                practice_codes, practice_names, "gp_practice", practice_icb, practice_postcodes
            ),
            practice_sub.tolist(),
            strict=True,
        )
    )

    trust_icb, trust_postcodes, trust_places = located(n_trust)
    trust_region = icb_region[trust_icb]
    alnum = "ABCDEFGHJKLMNPQRTVWXY0123456789"
    trust_codes = _unique_codes(rng, [f"R{a}{b}" for a in alnum for b in alnum], n_trust)
    kinds = rng.integers(0, len(_TRUST_KINDS), n_trust).tolist()
    trust_names = [
        f"{place} {_TRUST_KINDS[k]}" for place, k in zip(trust_places, kinds, strict=True)
    ]
    trusts = organisations(trust_codes, trust_names, "nhs_trust", trust_icb, trust_postcodes)

    lsoa_practices = tuple(
        _candidates(practice_icb, int(i), practice_region, int(r))
        for i, r in zip(lsoa_icb, lsoa_region, strict=True)
    )
    lsoa_trusts = tuple(
        _candidates(trust_icb, int(i), trust_region, int(r))
        for i, r in zip(lsoa_icb, lsoa_region, strict=True)
    )
    return Geography(
        icbs=icbs,
        practices=practices,
        trusts=trusts,
        lsoa_codes=tuple(e.lsoa_codes[areas.rows].tolist()),
        lsoa_icb=lsoa_icb,
        lsoa_region=lsoa_region,
        lsoa_decile=e.lsoa_decile[areas.rows],
        lsoa_weight=areas.lsoa_weight,
        lsoa_outward=lsoa_outward,
        lsoa_practices=lsoa_practices,
        lsoa_trusts=lsoa_trusts,
        lsoa_home_practice=np.array([rng.choice(c) for c in lsoa_practices]),
        lsoa_home_trust=np.array([rng.choice(c) for c in lsoa_trusts]),
        sub_icbs=sub_icbs,
        local_authorities=local_authorities,
        lsoa_sub_icb=lsoa_sub,
        lsoa_local_authority=lsoa_la,
    )

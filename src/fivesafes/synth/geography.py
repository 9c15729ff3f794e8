"""A synthetic England: regions, ICBs, GP practices, NHS trusts and small areas.

Everything here is invented. The seven NHS England regions are real names with roughly
their real shares of the population, but every ICB, practice, trust, LSOA, postcode,
ODS code and name is made up (codes have the right *shape*; some will coincide with
real ones by chance and mean nothing). Each synthetic LSOA has an IMD decile so that
analyses by deprivation find a gradient; deciles are assigned by ranking a latent
deprivation score that is higher in the North and lower in the South, as in the real
Index of Multiple Deprivation.

Sizes scale with the population: about one practice per 8,000 patients (at least 5),
one trust per 60,000 (at least 2), one LSOA per 1,500 (at least 30), one ICB per
1.36 million (at least one per region, at most 42).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fivesafes.model.tables import REGIONS

REGION_SHARES = np.array([0.113, 0.160, 0.193, 0.142, 0.131, 0.164, 0.101])
"""Share of England's population in each of REGIONS (same order), roughly as in 2021."""
REGION_DEPRIVATION = np.array([-0.3, 0.1, 0.2, 0.4, 0.45, -0.45, -0.25])
"""Shift of each region's latent deprivation (positive: more deprived)."""
LONDON = REGIONS.index("London")

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
    """One ICB, practice or trust; ``icb`` and ``region`` index the geography's tables."""

    code: str
    name: str
    kind: str
    icb: int
    region: int
    postcode: str


@dataclass(frozen=True, slots=True)
class Geography:
    """The synthetic organisations and areas, with the lookups patients are drawn from."""

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


def build_geography(rng: np.random.Generator, patients: int) -> Geography:
    """Regions, ICBs, practices, trusts and LSOAs sized for ``patients`` people."""
    n_icb = int(np.clip(round(patients / 1_360_000), len(REGIONS), 42))
    n_practice = max(5, round(patients / 8000))
    n_trust = max(2, round(patients / 60_000))
    n_lsoa = max(30, round(patients / 1500))

    icb_region = np.repeat(np.arange(len(REGIONS)), allocate(n_icb, REGION_SHARES))
    icb_share = REGION_SHARES[icb_region] * rng.uniform(0.7, 1.3, n_icb)
    icb_share /= icb_share.sum()
    lsoa_icb = np.repeat(np.arange(n_icb), allocate(n_lsoa, icb_share))
    lsoa_region = icb_region[lsoa_icb]
    latent = REGION_DEPRIVATION[lsoa_region] + rng.normal(0, 1, n_lsoa)
    rank = np.argsort(np.argsort(-latent, kind="stable"), kind="stable")
    lsoa_decile = 1 + rank * 10 // n_lsoa
    lsoa_weight = rng.gamma(25.0, 1.0, n_lsoa)
    lsoa_weight *= icb_share[lsoa_icb] / np.bincount(lsoa_icb, lsoa_weight)[lsoa_icb]
    lsoa_weight /= lsoa_weight.sum()
    lsoa_numbers = rng.choice(max(40_000, 2 * n_lsoa), size=n_lsoa, replace=False) + 1
    lsoa_codes = tuple(f"E01{n:06d}" for n in np.sort(lsoa_numbers).tolist())
    areas = [_POSTCODE_AREAS[REGIONS[r]].split() for r in lsoa_region.tolist()]
    districts = rng.integers(1, 30, n_lsoa).tolist()
    picks = rng.random(n_lsoa).tolist()
    lsoa_outward = tuple(
        f"{a[int(p * len(a))]}{d}" for a, p, d in zip(areas, picks, districts, strict=True)
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

    icb_codes = _unique_codes(
        rng, [f"Q{a}{b}" for a in "ABCDEFGHJKLMNPRSTUVWXYZ" for b in "0123456789"], n_icb
    )
    icb_postcodes = [
        f"{lsoa_outward[int(np.flatnonzero(lsoa_icb == i)[0])]} {inward}"
        for i, inward in enumerate(inward_codes(rng, n_icb))
    ]
    icb_names = [f"NHS {place} Integrated Care Board" for place in _places(rng, n_icb)]
    icbs = organisations(icb_codes, icb_names, "icb", np.arange(n_icb), icb_postcodes)

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
    practices = organisations(
        practice_codes, practice_names, "gp_practice", practice_icb, practice_postcodes
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
        lsoa_codes=lsoa_codes,
        lsoa_icb=lsoa_icb,
        lsoa_region=lsoa_region,
        lsoa_decile=lsoa_decile,
        lsoa_weight=lsoa_weight,
        lsoa_outward=lsoa_outward,
        lsoa_practices=lsoa_practices,
        lsoa_trusts=lsoa_trusts,
        lsoa_home_practice=np.array([rng.choice(c) for c in lsoa_practices]),
        lsoa_home_trust=np.array([rng.choice(c) for c in lsoa_trusts]),
    )

"""The query stage: the dataset definition language, its query model and its engines.

A study builds a :class:`~fivesafes.query.dataset.Dataset` (or ``Measures``) from
the tables in :mod:`fivesafes.tables`; the definition becomes one immutable query
model (:mod:`fivesafes.query.model`), compiled by SQLGlot for DuckDB or Spark
(:mod:`fivesafes.query.engines`), or turned into dummy data
(:mod:`fivesafes.query.dummy`).
"""

from fivesafes.query.codelists import Codelist, codelist, codelist_from_csv
from fivesafes.query.dataset import Dataset, Measures
from fivesafes.query.dates import INTERVAL, days, months, years
from fivesafes.query.errors import DefinitionError
from fivesafes.query.series import case, when

__all__ = [
    "INTERVAL",
    "Codelist",
    "Dataset",
    "DefinitionError",
    "Measures",
    "case",
    "codelist",
    "codelist_from_csv",
    "days",
    "months",
    "when",
    "years",
]

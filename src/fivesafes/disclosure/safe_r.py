"""The safe API for R: ``safe.R`` (beside this file) calls this module, so R's outputs are Python's.

An R action sources ``safe.R`` (``source(Sys.getenv("FIVESAFES_SAFE_R"))``); each of its
functions writes the records it is given to a CSV in R's temporary folder with a request naming
the function, its arguments and each column's type, and runs
``python -m fivesafes.disclosure.safe_r REQUEST check|write_csv|chart ...``. Here the records
are read back with exactly those types and handed to the same function of :mod:`.safe`, under
the same argument names. There is no second implementation of any rule: an R table is checked,
suppressed, rounded, written, explained and drawn by the code a Python table is, and whatever
that code records for the release history it records for R too. Each call is its own process,
so the request's folder remembers where ``write_csv`` put the table, for ``chart`` to name it.
``FUNCTIONS`` is the contract; a test holds ``safe.R``'s functions to these signatures.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from fivesafes.disclosure import safe
from fivesafes.disclosure.tables import TableError

FUNCTIONS: dict[str, Callable[..., safe.SafeOutput]] = {
    "crosstab": safe.crosstab,
    "total": safe.total,
    "describe": safe.describe,
    "regression_table": safe.regression_table,
}
R_ONLY_ABSENT = frozenset({"data", "history"})
"""Parameters R does not pass: the records are the request's CSV, and a job is checked against
the release history by the environment, not by the analyst's code."""
TYPES = {
    "bool": pa.bool_(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "date32": pa.date32(),
}
"""What each R column class is sent as (logical, integer, double, character or factor, Date)."""


class RequestError(ValueError):
    """A request from R that cannot be carried out; the message is shown to the analyst."""


def read_records(path: Path, columns: dict[str, str]) -> pa.Table:
    """The records R wrote with ``write.csv(na = "")``: logicals as TRUE/FALSE, missing values
    as empty unquoted fields (a quoted empty string stays an empty string)."""
    unknown = sorted({t for t in columns.values() if t not in TYPES})
    if unknown:
        raise RequestError(f"unknown column type(s) {', '.join(unknown)}")
    convert = pacsv.ConvertOptions(
        column_types={name: TYPES[kind] for name, kind in columns.items()},
        true_values=["TRUE"],
        false_values=["FALSE"],
        null_values=["", "NA"],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    return pacsv.read_csv(path, convert_options=convert)


def output_for(request_path: Path) -> safe.SafeOutput:
    """Carry out the request: the safe function it names, on its records, with its arguments."""
    request: dict[str, Any] = orjson.loads(request_path.read_bytes())
    function = FUNCTIONS.get(request["function"])
    if function is None:
        raise RequestError(f"no safe function {request['function']!r}")
    records = read_records(request_path.parent / request["records"], request["columns"])
    return function(records, **request["arguments"])


def main(argv: Sequence[str] | None = None) -> int:
    """``REQUEST check`` (writes the explanation beside the request), ``REQUEST write_csv PATH``
    or ``REQUEST chart PATH [TITLE]``; errors go to standard error for R to raise."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[1] not in ("check", "write_csv", "chart"):
        print("usage: safe_r REQUEST check|write_csv PATH|chart PATH [TITLE]", file=sys.stderr)
        return 2
    request, what, *rest = args
    written = Path(request).parent / "written.txt"  # where write_csv put the table, for chart
    try:
        output = output_for(Path(request))
        if what == "check":
            (Path(request).parent / "explain.txt").write_text(output.explain(), encoding="utf-8")
        elif what == "write_csv":
            output.write_csv(rest[0])
            written.write_text(rest[0], encoding="utf-8")
        else:
            if written.is_file():
                output.written.append(Path(written.read_text(encoding="utf-8")))
            output.chart(rest[0], rest[1] if len(rest) > 1 else None)
    except (
        TableError,
        RequestError,
        duckdb.Error,
        ValueError,
        KeyError,
        TypeError,
        OSError,
    ) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

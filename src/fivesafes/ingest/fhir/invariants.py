"""The R4 core invariants checked at entry, one function per datatype or element.

Why only these: the full FHIRPath invariants need a FHIRPath engine; these are the ones
whose breach makes a record self-contradictory in ways our consumers trip over (a period
ending before it starts, a probability over 100%, an attachment whose size lies) and that
the reference validator's cases exercise. Each is a plain function of one element.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fivesafes.ingest.fhir import ruleset
from fivesafes.ingest.fhir.context import Context
from fivesafes.ingest.fhir.primitives import base64_length, is_absolute_uri

Element = dict[str, Any]
VALUE_SET_PREFIX = "http://hl7.org/fhir/ValueSet/"


def value_key(element: Element) -> str | None:
    """The ``value[x]`` property present (``_valueX`` counts as ``valueX``), if any."""
    for key in element:
        if type(key) is str and key.startswith(("value", "_value")):
            return key.removeprefix("_")
    return None


def _moment(value: str) -> datetime | None:
    """A dateTime with a time as an aware datetime; None if it has no time or is malformed."""
    if len(value) <= 10:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def starts_before_end(start: str, end: str) -> bool | None:
    """FHIRPath ``start <= end`` for date/dateTime strings; None when it is undecidable.

    Values of different precision that agree on their common part (``2023-06-21`` vs
    ``2023-06-21T06:20:00Z``) are incomparable in FHIRPath, so the invariant fails.
    """
    first, second = _moment(start), _moment(end)
    if first is not None and second is not None:
        return first <= second
    a, b = start[:10], end[:10]
    common = min(len(a), len(b))
    if a[:common] != b[:common]:
        return a[:common] < b[:common]
    if first is None and second is None and len(a) == len(b):
        return True
    return None


def check_period(period: Element, path: str, ctx: Context) -> None:
    """per-1: if present, start SHALL have a lower value than end."""
    start, end = period.get("start"), period.get("end")
    if type(start) is str and type(end) is str and not starts_before_end(start, end):
        ctx.add(
            ruleset.INVARIANT,
            path,
            f"per-1 failed: start {start!r} is not before end {end!r} "
            "(compared at their common precision)",
        )


def check_prediction(prediction: Element, path: str, ctx: Context) -> None:
    """ras-2: a RiskAssessment probability decimal must be <= 100."""
    probability = prediction.get("probabilityDecimal")
    if (
        isinstance(probability, int | float)
        and not isinstance(probability, bool)
        and probability > 100
    ):
        ctx.add(ruleset.INVARIANT, path, f"ras-2 failed: probability {probability} must be <= 100")


def check_attachment(attachment: Element, path: str, ctx: Context) -> None:
    """att-1: data needs a contentType; a stated size must match the data."""
    data = attachment.get("data")
    if type(data) is not str:
        return
    if "contentType" not in attachment:
        ctx.add(ruleset.INVARIANT, path, "att-1 failed: data is present without a contentType")
    size = attachment.get("size")
    actual = base64_length(data)
    if type(size) is int and actual is not None and size != actual:
        ctx.add(
            ruleset.INVARIANT,
            path,
            f"stated attachment size {size} does not match the size of the data ({actual} bytes)",
        )


def check_coding(coding: Element, path: str, ctx: Context) -> None:
    """Coding.system must name a code system by absolute URI, and not a value set."""
    system = coding.get("system")
    if type(system) is not str or not system:
        return
    if not is_absolute_uri(system):
        ctx.add(
            ruleset.CODING_SYSTEM,
            path + ".system",
            f"{system!r} must be an absolute URI naming a code system, not a local name",
        )
    elif system.startswith(VALUE_SET_PREFIX):
        ctx.add(
            ruleset.CODING_SYSTEM,
            path + ".system",
            f"{system!r} is a value set, not a code system; use the code system's URI",
        )


def check_quantity(quantity: Element, path: str, ctx: Context) -> None:
    """qty-3: if a code for the unit is present, the system SHALL also be present."""
    if "code" in quantity and "system" not in quantity:
        ctx.add(ruleset.INVARIANT, path, "qty-3 failed: a unit code is given without its system")


def check_observation(observation: Element, path: str, ctx: Context) -> None:
    """obs-6: dataAbsentReason SHALL only be present if value[x] is not."""
    if "dataAbsentReason" in observation and value_key(observation) is not None:
        ctx.add(ruleset.INVARIANT, path, "obs-6 failed: dataAbsentReason given with a value[x]")


def check_parameter(parameter: Element, path: str, ctx: Context) -> None:
    """inv-1: a parameter has exactly one of value[x], resource or part."""
    has_value = value_key(parameter) is not None
    kinds = has_value + ("resource" in parameter) + ("part" in parameter)
    if kinds != 1:
        ctx.add(
            ruleset.INVARIANT,
            path,
            "inv-1 failed: a parameter must have exactly one of value[x], resource or part",
        )


QUANTITY_TYPES = ("Quantity", "Age", "Count", "Distance", "Duration")
HOOKS = {
    "Period": check_period,
    "RiskAssessment.prediction": check_prediction,
    "Attachment": check_attachment,
    "Coding": check_coding,
    "Observation": check_observation,
    "Parameters.parameter": check_parameter,
    **dict.fromkeys(QUANTITY_TYPES, check_quantity),
}

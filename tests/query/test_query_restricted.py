"""A study file runs with the definition language to hand and nothing else (``query.restricted``).

Written as a hostile analyst would: each definition below tries a way out of the language, and
must stop with a message naming the file and line and saying what a definition may use. The
same loader serves every path (dummy data, a job, a custodian's extract), so these hold for all.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fivesafes.query.study import StudyError, load_dataset

HEADER = """\
from fivesafes import Dataset
from fivesafes.tables import patients
dataset = Dataset()
dataset.define_population(patients.exists_for_patient())
"""


def _study(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "study.py"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


@pytest.mark.parametrize(
    "body, says",
    [
        ("import os\nos.system('touch pwned')\n", "may not import os"),
        ("import subprocess\n", "may not import subprocess"),
        ("import socket\n", "may not import socket"),
        ("from pathlib import Path\n", "may not import pathlib"),
        ("import importlib\n", "may not import importlib"),
        ("text = open('/etc/passwd').read()\n", "may not open files"),
        ("exec('import os')\n", "may not run code it builds"),
        ("eval('1')\n", "may not run code it builds"),
        ("c = ().__class__.__base__.__subclasses__()\n", "may not use .__subclasses__"),
        ("b = __builtins__\n", "may not use __builtins__"),
        ("m = __import__('os')\n", "may not use __import__"),
        ("g = getattr(patients, '__class__')\n", "may not use the attribute '__class__'"),
        ("f = (x for x in []).gi_frame\n", "may not use .gi_frame"),
        ("t = type(patients)\n", "may not look at or make types"),
        ("class Sneaky:\n    pass\n", "may not define classes"),
        ("from . import helpers\n", "may not import from its own folder"),
        ("from fivesafes import safe\n", "fivesafes has no safe"),
        ("import fivesafes.query\ne = fivesafes.query.engines\n", "has no engines"),
        ("from fivesafes.query import study\n", "has no study"),
        ("import datetime\ns = datetime.sys\n", "datetime has no sys"),
    ],
)
def test_a_way_out_of_the_language_is_refused(tmp_path: Path, body: str, says: str) -> None:
    study = _study(tmp_path, body)
    with pytest.raises(StudyError, match=says) as refused:
        load_dataset(study)
    lines = range(HEADER.count("\n") + 1, HEADER.count("\n") + body.count("\n") + 1)
    assert any(str(refused.value).startswith(f"{study}, line {n}: ") for n in lines)
    assert not (tmp_path / "pwned").exists()


def test_what_a_definition_needs_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "codes.csv").write_text("code,term\n195967001,Asthma\n")
    study = _study(
        tmp_path,
        """
        import datetime, math
        from fivesafes import codelist_from_csv, days
        from fivesafes.tables import clinical_events as ce
        codes = codelist_from_csv("codes.csv", column="code")
        index = datetime.date(2024, 1, 1) - datetime.timedelta(days=math.floor(1.5))
        dataset.asthma = ce.where(ce.snomedct_code.is_in(codes)).exists_for_patient()
        for i in range(3):
            setattr(dataset, f"since_{i}", ce.where(ce.date >= index).count_for_patient())
        print("defined", len(sorted([1, 2])))
        """,
    )
    query = load_dataset(study)
    assert [name for name, _ in query.columns] == ["asthma", "since_0", "since_1", "since_2"]

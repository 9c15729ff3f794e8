"""A world for the code-list pages: the code lists' own population (twelve people with asthma,
seven rarer codes held by one to seven people each), analysts 'ana' and 'bob' on approved
project 'codes', 'eve' an analyst on none."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from environment.codelists_support import coded_world
from environment.environment_support import open_with_custodian
from fivesafes.store.config import DataDir


@dataclass(frozen=True)
class Coded:
    data_dir: DataDir
    tokens: dict[str, str]


def build_coded_world(root: Path) -> Coded:
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    people = coded_world(open_with_custodian(data_dir), root)
    people.env.close()
    return Coded(data_dir, dict(people.tokens))

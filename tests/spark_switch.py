"""Whether this run includes the Spark engine (``FIVESAFES_SPARK_TESTS=1``, as ``make test``
sets). A module of its own, with a name no other test folder uses: ``from conftest import ...``
finds whichever folder's conftest pytest put first on the path, which depends on the folders
a run collects."""

import os

RUN_SPARK = os.environ.get("FIVESAFES_SPARK_TESTS") == "1"

#!/usr/bin/env bash
# The main job, end to end on synthetic data: `make demo` runs this.
# synthetic population -> validated load -> example study on dummy data -> the same study
# inside the environment, sandboxed, against the store -> the public ledger, verified.
set -euo pipefail
BIN=${BIN:-.venv/bin}
DEMO=${DEMO_DIR:-demo-output}
PATIENTS=${DEMO_PATIENTS:-5000}
export FIVESAFES_DATA_DIR="$DEMO/data"

step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

rm -rf "$DEMO"
mkdir -p "$DEMO"

step "1. A synthetic population as FHIR R4, with a few deliberate data-quality faults"
"$BIN/fivesafes" synth --patients "$PATIENTS" --seed 1 --faults 0.002 --out "$DEMO/source"

step "2. The environment's first account: a data custodian (safe people)"
"$BIN/fivesafes" user create cara --name "Cara Custodian" --organisation "Demo environment" \
    --role data_custodian | tail -n 1 > "$DEMO/custodian.token"
export FIVESAFES_TOKEN
FIVESAFES_TOKEN=$(cat "$DEMO/custodian.token")

step "3. Validated load: every record checked at the door, rejects quarantined with reasons"
"$BIN/fivesafes" load "$DEMO/source"
"$BIN/fivesafes" quarantine --limit 8
"$BIN/fivesafes" catalogue

step "4. The example study on dummy data, as an analyst runs it on a laptop"
cp -r examples/asthma-prevalence "$DEMO/study"
"$BIN/fivesafes" run --project "$DEMO/study"

step "5. The same study inside the environment: sandboxed, against the store (safe settings)"
"$BIN/fivesafes" submit --project "$DEMO/study"

step "6. Disclosure checks of the study's outputs (safe outputs)"
for table in "$DEMO"/study/output/*.csv; do
    "$BIN/fivesafes" check-output "$table" --profile ons || true
done

step "7. The public ledger: every action above, verifiable by anyone"
"$BIN/fivesafes" ledger verify
"$BIN/fivesafes" ledger public
echo
echo "Everything the demo made is in $DEMO/ (the study's outputs in $DEMO/study/output/)."

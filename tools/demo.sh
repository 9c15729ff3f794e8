#!/usr/bin/env bash
# The main job, end to end on synthetic data: `make demo` runs this.
# synthetic population -> people -> validated load -> opt-outs -> an approved project ->
# example study on dummy data -> the same study sandboxed against the store -> disclosure
# checks -> blind two-person release -> a board dashboard from released outputs -> the
# public ledger, verified.
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

step "2. Safe people: a custodian, an analyst and an approver, each verified, each with a token"
"$BIN/fivesafes" user create cara --name "Cara Custodian" --organisation "Demo environment" \
    --role data_custodian | tail -n 1 > "$DEMO/cara.token"
CARA=$(cat "$DEMO/cara.token")
"$BIN/fivesafes" user create ana --name "Ana Analyst" --organisation "Demo University" \
    --role analyst --token "$CARA" | tail -n 1 > "$DEMO/ana.token"
"$BIN/fivesafes" user create val --name "Val Approver" --organisation "Demo environment" \
    --role approver --token "$CARA" | tail -n 1 > "$DEMO/val.token"
ANA=$(cat "$DEMO/ana.token")
VAL=$(cat "$DEMO/val.token")
"$BIN/fivesafes" user keygen --out "$DEMO/val-signing.pem" --token "$VAL"

step "3. Validated load: every record checked at the door, rejects quarantined with reasons"
# Exit 1 says some records were quarantined (here, the ones spoiled on purpose) and the rest loaded.
"$BIN/fivesafes" load "$DEMO/source" --token "$CARA" || [ $? -eq 1 ]
"$BIN/fivesafes" quarantine --limit 8 --token "$CARA"
"$BIN/fivesafes" catalogue

step "4. The public's choices: national data opt-outs for 100 people, honoured at every extraction"
"$BIN/python" - "$DEMO/source/Patient.ndjson" "$DEMO/opt-outs.csv" <<'PY'
import json, sys
rows = []
with open(sys.argv[1]) as patients:
    for line in patients:
        try:
            ident = json.loads(line)["identifier"][0]["value"]
        except (ValueError, KeyError, IndexError):
            continue
        rows.append(f"{ident},national")
        if len(rows) == 100:
            break
open(sys.argv[2], "w").write("nhs_number,kind\n" + "\n".join(rows) + "\n")
PY
"$BIN/fivesafes" opt-out load "$DEMO/opt-outs.csv" --token "$CARA"

step "5. Safe projects: the analyst applies, the approver approves with a signed decision"
"$BIN/fivesafes" project submit asthma-prevalence examples/asthma-prevalence/application.toml \
    --token "$ANA"
"$BIN/fivesafes" project approve asthma-prevalence --until "$(date -d '+1 year' +%F)" \
    --reasons "Clear public benefit; aggregate outputs only" --key "$DEMO/val-signing.pem" \
    --token "$VAL"

step "6. The example study on dummy data, as an analyst runs it on a laptop"
cp -r examples/asthma-prevalence "$DEMO/study"
"$BIN/fivesafes" run --project "$DEMO/study"

step "7. The same study inside the environment: sandboxed, against the store (safe settings)"
"$BIN/fivesafes" submit --project "$DEMO/study" --project-id asthma-prevalence --token "$ANA"

step "8. Disclosure checks of the study's outputs against what the project has released"
for table in "$DEMO"/study/output/*.csv; do
    "$BIN/fivesafes" check-output "$table" --profile ons --project-id asthma-prevalence || true
done

step "9. Release: two output checkers review blind, the environment signs and publishes"
"$BIN/python" - "$DEMO/study" "$DEMO/ana.token" "$DEMO/cara.token" <<'PY'
import sys
from pathlib import Path
from fivesafes.release import demo_release, describe_publication
from fivesafes.store.config import DataDir

study, analyst, custodian = Path(sys.argv[1]), *(Path(p).read_text().strip() for p in sys.argv[2:])
files = ["output/asthma_by_age_sex.csv", "output/asthma_by_deprivation.csv",
         "output/asthma_by_age_sex.png"]
print(describe_publication(demo_release(DataDir.from_env(), study, files, "asthma-prevalence",
                                        analyst, custodian)))
PY

step "10. Decision makers: a monthly board study, approved, run, released and drawn as a dashboard"
"$BIN/fivesafes" project submit emergency-admissions \
    examples/emergency-admissions/application.toml --token "$ANA"
"$BIN/fivesafes" project approve emergency-admissions --until "$(date -d '+1 year' +%F)" \
    --reasons "Service planning with aggregate outputs" --key "$DEMO/val-signing.pem" \
    --token "$VAL"
cp -r examples/emergency-admissions "$DEMO/board"
"$BIN/fivesafes" submit --project "$DEMO/board" --project-id emergency-admissions --token "$ANA"
"$BIN/python" - "$DEMO/board" "$DEMO/ana.token" "$DEMO/cara.token" "$DEMO/dashboard" <<'PY'
import sys
from pathlib import Path
from fivesafes.dashboards import demo_dashboard
from fivesafes.release import demo_release, describe_publication
from fivesafes.store.config import DataDir

study, analyst, custodian = Path(sys.argv[1]), *(Path(p).read_text().strip() for p in sys.argv[2:4])
files = ["output/emergency_admissions_england.csv", "output/emergency_admissions_by_region.csv",
         "output/hba1c_recorded_england.csv"]
checkers = ("demo-checker-c", "demo-checker-d")
print(describe_publication(demo_release(DataDir.from_env(), study, files, "emergency-admissions",
                                        analyst, custodian, checkers)))
print(demo_dashboard(DataDir.from_env(), "emergency-admissions", Path(sys.argv[4])))
PY

step "10b. A board pack: local needs, evaluation, safety, capacity - released as counts, drawn"
"$BIN/fivesafes" project submit board-pack examples/board-pack/application.toml --token "$ANA"
"$BIN/fivesafes" project approve board-pack --until "$(date -d '+1 year' +%F)" \
    --reasons "Planning and safety monitoring with aggregate counts" \
    --key "$DEMO/val-signing.pem" --token "$VAL"
cp -r examples/board-pack "$DEMO/board-pack"
"$BIN/fivesafes" submit --project "$DEMO/board-pack" --project-id board-pack --token "$ANA"
"$BIN/python" - "$DEMO/board-pack" "$DEMO/ana.token" "$DEMO/cara.token" "$DEMO/board-dashboard" \
    "$DEMO/published/workforce_returns.csv" "$PATIENTS" <<'PY'
import sys
from dataclasses import replace
from pathlib import Path
import yaml
from fivesafes.dashboards import BOARD_SETTINGS, demo_dashboard
from fivesafes.release import demo_release, describe_publication
from fivesafes.store.config import DataDir
from fivesafes.synth.generator import write_published_workforce

study, analyst, custodian = Path(sys.argv[1]), *(Path(p).read_text().strip() for p in sys.argv[2:4])
declared = yaml.safe_load((study / "project.yaml").read_text())["actions"]["counts"]["outputs"]
files = list(declared["moderately_sensitive"].values())
checkers = ("demo-checker-e", "demo-checker-f")
print(describe_publication(demo_release(DataDir.from_env(), study, files, "board-pack",
                                        analyst, custodian, checkers)))
# the organisations' published workforce statistics (public, not patient data) for the same
# synthetic trusts and practices as the store holds
published = write_published_workforce(Path(sys.argv[5]), int(sys.argv[6]), seed=1)
settings = replace(BOARD_SETTINGS, published=(published,))
print(demo_dashboard(DataDir.from_env(), "board-pack", Path(sys.argv[4]), settings))
PY

step "10c. Health and social care together: from hospital discharge to social care, released and drawn"
"$BIN/fivesafes" project submit discharge-to-social-care \
    examples/discharge-to-social-care/application.toml --token "$ANA"
"$BIN/fivesafes" project approve discharge-to-social-care --until "$(date -d '+1 year' +%F)" \
    --reasons "Service evaluation across health and social care, aggregate counts only" \
    --key "$DEMO/val-signing.pem" --token "$VAL"
cp -r examples/discharge-to-social-care "$DEMO/discharge"
"$BIN/fivesafes" submit --project "$DEMO/discharge" --project-id discharge-to-social-care \
    --token "$ANA"
"$BIN/python" - "$DEMO/discharge" "$DEMO/ana.token" "$DEMO/cara.token" \
    "$DEMO/discharge-dashboard" <<'PY'
import sys
from pathlib import Path
import yaml
from fivesafes.dashboards import demo_dashboard
from fivesafes.release import demo_release, describe_publication
from fivesafes.store.config import DataDir

study, analyst, custodian = Path(sys.argv[1]), *(Path(p).read_text().strip() for p in sys.argv[2:4])
declared = yaml.safe_load((study / "project.yaml").read_text())["actions"]["counts"]["outputs"]
files = list(declared["moderately_sensitive"].values())
checkers = ("demo-checker-g", "demo-checker-h")
print(describe_publication(demo_release(DataDir.from_env(), study, files,
                                        "discharge-to-social-care", analyst, custodian, checkers)))
print(demo_dashboard(DataDir.from_env(), "discharge-to-social-care", Path(sys.argv[4])))
PY

step "11. Front doors: a person shares a night's sleep, a clinician reads it, consent is withdrawn"
PERSON=$("$BIN/python" - "$DEMO/source" <<'PY'
import json, sys
from pathlib import Path
# the 101st person (the first 100 opted out in step 4), and the practice they are registered at;
# the source holds a few lines broken on purpose (step 1's faults), which the load quarantined
def readable(line: str) -> dict | None:
    try:
        return json.loads(line)
    except ValueError:
        return None
people = (readable(l) for l in Path(sys.argv[1], "Patient.ndjson").read_text().splitlines())
patients = [p for p in people if p and p.get("identifier")][100:400]
orgs = {}
for e in map(readable, Path(sys.argv[1], "EpisodeOfCare.ndjson").read_text().splitlines()):
    try:
        orgs.setdefault(e["patient"]["reference"].split("/")[1], e["managingOrganization"]["reference"].split("/")[1])
    except (TypeError, KeyError, IndexError):
        continue  # a line broken on purpose
ods = {}
for o in map(readable, Path(sys.argv[1], "Organization.ndjson").read_text().splitlines()):
    try:
        ods[o["id"]] = next(i["value"] for i in o.get("identifier", []) if "ods" in i.get("system", ""))
    except (TypeError, KeyError, AttributeError, StopIteration):
        continue
for p in patients:
    if p.get("id") in orgs and orgs[p["id"]] in ods:
        print(p["id"], p["identifier"][0]["value"], ods[orgs[p["id"]]])
        break
PY
)
read -r PATIENT_ID NHS_NUMBER PRACTICE <<< "$PERSON"
"$BIN/fivesafes" user create dana --name "Dr Dana Clinician" --organisation "Practice $PRACTICE" \
    --role clinician --token "$CARA" | tail -n 1 > "$DEMO/dana.token"
"$BIN/fivesafes" user create pat --name "Pat Person" --organisation "Themselves" \
    --role patient --token "$CARA" | tail -n 1 > "$DEMO/pat.token"
"$BIN/fivesafes" link dana --ods "$PRACTICE" --token "$CARA"
"$BIN/fivesafes" link pat --nhs-number "$NHS_NUMBER" --token "$CARA"
"$BIN/python" - "$PATIENT_ID" "$DEMO/dana.token" "$DEMO/pat.token" <<'PY'
import os, socket, subprocess, sys, time, uuid
from pathlib import Path
import httpx

patient, dana, pat = sys.argv[1], *(Path(p).read_text().strip() for p in sys.argv[2:4])
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
base = f"http://127.0.0.1:{port}"
server = subprocess.Popen([str(Path(sys.executable).parent / "fivesafes"), "serve", "--port", str(port)])
try:
    for _ in range(150):
        try:
            httpx.get(f"{base}/fhir/metadata").raise_for_status()
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    print(f"fivesafes serve is answering at {base} (FHIR R4 at /fhir, self-service at /personal)")
    person = {"Authorization": f"Bearer {pat}"}
    clinician = {"Authorization": f"Bearer {dana}"}
    night = {"resourceType": "Observation", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "93832-4", "display": "Sleep duration"}]},
             "effectiveDateTime": "2024-05-01", "valueQuantity": {"value": 431, "unit": "min"}}
    shared = httpx.post(f"{base}/personal/Observation", json=night, headers=person,
                        params={"device": "wrist tracker"}).json()
    print("Pat shares a night's sleep:", shared["issue"][0]["diagnostics"])

    def consent(status: str) -> None:
        httpx.put(f"{base}/personal/Consent/share-for-care", json={"resourceType": "Consent", "status": status},
                  headers={**person, "X-Request-ID": str(uuid.uuid4())}).raise_for_status()

    def clinician_sees() -> list[str]:
        bundle = httpx.get(f"{base}/fhir/Observation", headers=clinician,
                           params={"patient": patient, "category": "activity"}).json()
        return [f"{e['resource']['valueQuantity']['value']:.0f} min on {e['resource']['effectiveDateTime']}"
                for e in bundle.get("entry", [])]

    consent("active")
    print("Pat consents to sharing for care; Dr Dana's practice system sees:", clinician_sees())
    consent("inactive")
    print("Pat withdraws consent; Dr Dana now sees:", clinician_sees() or "nothing shared")
    print("Who read Pat's record (from the ledger):")
    for read in httpx.get(f"{base}/personal/usage", headers=person).json()["reads"]:
        print(f"  {read['time']}  {read['reader']:6} {read['relationship']:12} {', '.join(read['resource_types'])}")
finally:
    server.terminate()
    server.wait(timeout=30)
PY

step "12. The public ledger: every action above, verifiable by anyone"
"$BIN/fivesafes" ledger verify
"$BIN/fivesafes" ledger public
echo
echo "Everything the demo made is in $DEMO/: the studies' outputs in $DEMO/study/output/ and"
echo "$DEMO/board/output/, released files under $DEMO/data/released/, the dashboards in $DEMO/dashboard/"
echo "and $DEMO/board-dashboard/."

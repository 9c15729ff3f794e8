#!/usr/bin/env bash
# The main job, end to end on synthetic data, every step a `fivesafes` command as each person
# would type it: `make demo` runs this.
# a new environment -> people, each enrolling with the code they were sent -> synthetic
# population -> validated load -> opt-outs -> an approved project -> the example study on dummy
# data -> the same study as a job inside the environment -> its outputs checked -> a blind
# two-person release -> a board dashboard from released outputs -> a board pack of local needs,
# evaluation, safety, capacity and workforce -> health and social care together -> the front
# doors -> the public ledger, verified.
set -euo pipefail
BIN=${BIN:-.venv/bin}
DEMO=${DEMO_DIR:-demo-output}
PATIENTS=${DEMO_PATIENTS:-5000}
export FIVESAFES_DATA_DIR="$DEMO/data"
FS="$BIN/fivesafes"
MIN_PATIENTS=1000
if ! [[ $PATIENTS =~ ^[0-9]+$ ]] || [ "$PATIENTS" -lt "$MIN_PATIENTS" ]; then
    # fewer people leave too little to release: opt-outs alone take 100, and step 14 needs a
    # registered person after them
    echo "make demo needs DEMO_PATIENTS of at least $MIN_PATIENTS, not '$PATIENTS'" >&2
    exit 2
fi

step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

# The outbox stands for e-mail in the demo: a person reads the code sent to them there.
code_sent_to() {
    local mail
    mail=$(grep -l "^To: $1\$" "$FIVESAFES_DATA_DIR"/outbox/*.eml | sort | tail -n 1)
    sed -n 's/^ *fivesafes user enrol \([^ ]*\)$/\1/p' "$mail"
}
# Each person redeems their own code for their own token, kept in a file only they read.
enrol() {
    "$FS" user enrol "$(code_sent_to "$1@demo.example")" > "$DEMO/$1.token"
    chmod 600 "$DEMO/$1.token"
}
token_of() { cat "$DEMO/$1.token"; }
latest_job() {  # the id of a project's latest job, as its analyst sees it
    "$FS" job list --project-id "$1" --format json --token "$(token_of ana)" |
        "$BIN/python" -c 'import json, sys; print(json.load(sys.stdin)[-1]["job_id"])'
}

rm -rf "$DEMO"
mkdir -p "$DEMO"

step "1. A new environment: the operator makes it, with its pseudonym key and first custodian"
"$FS" environment init --name "Demo environment" --custodian cara \
    --custodian-name "Cara Custodian" --organisation "Demo environment" \
    --contact cara@demo.example
enrol cara

step "2. Safe people: the custodian makes accounts; each person enrols with their own code"
person() {  # id, public name, organisation, role
    "$FS" user create "$1" --name "$2" --organisation "$3" --role "$4" \
        --contact "$1@demo.example" --token "$(token_of cara)"
    enrol "$1"
}
person ana "Ana Analyst" "Demo University" analyst
person val "Val Approver" "Demo environment" approver
person olu "Olu Output-Checker" "Demo environment" output_checker
person oona "Oona Output-Checker" "Demo environment" output_checker
for who in val olu oona; do  # each keeps their own decision-signing key
    "$FS" user keygen --out "$DEMO/$who-signing.pem" --token "$(token_of "$who")"
done
echo "No one person may both analyse data and check outputs: the environment refuses it."
"$FS" user change ana --role analyst --role output_checker --token "$(token_of cara)" \
    || [ $? -eq 2 ]

step "3. A synthetic population as FHIR R4, with a few deliberate data-quality faults"
"$FS" synth --patients "$PATIENTS" --seed 1 --faults 0.002 --out "$DEMO/source" \
    --published-workforce "$DEMO/published/workforce_returns.csv"

step "4. Validated load: every record checked at the door, rejects quarantined with reasons"
# Exit 1 says some records were quarantined (here, the ones spoiled on purpose) and the rest loaded.
"$FS" load "$DEMO/source" --token "$(token_of cara)" || [ $? -eq 1 ]
"$FS" quarantine --limit 8 --token "$(token_of cara)"
"$FS" catalogue

step "5. The public's choices: national data opt-outs for 100 people, honoured at every extraction"
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
"$FS" opt-out load "$DEMO/opt-outs.csv" --token "$(token_of cara)"

step "6. Safe projects: the analyst applies, the approver approves with a signed decision"
# Egress is a permission each dataset's owner gives: before the checkers may judge a job's
# outputs, each dataset its project reads is in the register (the custodian registers, the
# approver agrees) and olu and oona are its release delegates (the custodian records it on the
# owner's authority, the approver confirms it).
delegate_datasets() {  # application.toml
    local dataset held who
    held=$("$FS" datasets list --format json)
    for dataset in $("$BIN/python" -c 'import sys, tomllib
print(*tomllib.load(open(sys.argv[1], "rb"))["datasets"])' "$1"); do
        if ! grep -q "\"dataset\": \"$dataset\"" <<< "$held"; then
            "$FS" datasets register "$dataset" --owner "NHS Demo Trust (Head of Information)" \
                --agreement DSA-DEMO-1 --sensitivity pseudonymised \
                --legal-basis "UK GDPR 6(1)(e) and 9(2)(j)" \
                --retain-until "$(date -d '+5 years' +%F)" --token "$(token_of cara)"
            "$FS" datasets approve "$dataset" --token "$(token_of val)"
            for who in olu oona; do
                "$FS" datasets delegate "$dataset" "$who" \
                    --authority "Owner's letter DEMO-1 delegating release" --token "$(token_of cara)"
                "$FS" datasets confirm-delegate "$dataset" "$who" --token "$(token_of val)"
            done
        fi
    done
}
"$FS" project submit asthma-prevalence examples/asthma-prevalence/application.toml \
    --token "$(token_of ana)"
"$FS" project approve asthma-prevalence --until "$(date -d '+1 year' +%F)" \
    --reasons "Clear public benefit; aggregate outputs only" --key "$DEMO/val-signing.pem" \
    --token "$(token_of val)"
delegate_datasets examples/asthma-prevalence/application.toml

step "7. The example study on dummy data, as an analyst runs it on a laptop"
cp -r examples/asthma-prevalence "$DEMO/study"
"$FS" run --project "$DEMO/study"

step "8. The same study as a job inside the environment: sandboxed, on the project's cut of the store"
# submit queues the job; a worker (here one that stops once the queue is empty; in service,
# `fivesafes serve` runs one) claims it and runs it.
"$FS" submit --project "$DEMO/study" --project-id asthma-prevalence --token "$(token_of ana)"
"$FS" worker --until-empty
JOB=$(latest_job asthma-prevalence)
"$FS" job log "$JOB" --token "$(token_of ana)"
echo "The job's outputs stay in the environment ($FIVESAFES_DATA_DIR/jobs/$JOB, owner-only);"
echo "the analyst's folder holds only the dummy run's: $(ls "$DEMO/study/output" | tr '\n' ' ')"

step "9. Disclosure checks of the job's outputs against everything already released"
ASTHMA=(output/asthma_by_age_sex.csv output/asthma_by_deprivation.csv output/asthma_by_age_sex.png)
"$FS" release check "${ASTHMA[@]}" --project-id asthma-prevalence --job "$JOB" \
    --token "$(token_of ana)"

step "10. Release: the analyst asks, two output checkers vote blind, the release is published"
release() {  # project, job, justification, files...
    local project=$1 job=$2 why=$3 checked file requested id refused
    shift 3
    # Synthetic data may make a file unreleasable (a total under the threshold, or a count the
    # checker could subtract from what is released): the analyst leaves it out, reading why.
    # Files are taken in order, each kept only if it passes beside those already kept, since
    # two files that pass alone may not pass together.
    local kept=()
    for file in "$@"; do
        if refused=$("$FS" release check "${kept[@]}" "$file" --project-id "$project" \
                --job "$job" --token "$(token_of ana)" 2>&1); then
            kept+=("$file")
        else
            echo "not requested: $(grep -m 1 '^error: ' <<< "$refused" || echo "$file")" |
                tee -a "$DEMO/left-out.txt"
            grep -m 3 '^ *- ' <<< "$refused" | tee -a "$DEMO/left-out.txt" || true
        fi
    done
    if [ ${#kept[@]} -eq 0 ]; then  # nothing to ask for: the project releases nothing now
        echo "no release for $project: none of its files passes the checks beside what is" \
            "already released at $PATIENTS patients (the reasons are above)"
        return 0
    fi
    set -- "${kept[@]}"
    # The analyst reads the automatic checks first, and gives a written exception for each file
    # that is published as the checker's safe version (its small counts suppressed).
    checked=$("$FS" release check "$@" --project-id "$project" --job "$job" --token "$(token_of ana)")
    local exceptions=()
    for file in $(sed -n 's/^\([^ ]*\): needs --exception .*/\1/p' <<< "$checked"); do
        echo "exception for $file: it is published as the checker's safe version"
        exceptions+=(--exception "$file=Published as the checker's safe version: small counts suppressed")
    done
    requested=$("$FS" release request "$@" --project-id "$project" --job "$job" \
        --justification "$why" "${exceptions[@]}" --token "$(token_of ana)")
    echo "$requested"
    id=$(sed -n 's/^release request \([^ ]*\) submitted.*/\1/p' <<< "$requested")
    for who in olu oona; do
        "$FS" release approve "$id" --comments "Checked the tables, chart and automatic checks" \
            --key "$DEMO/$who-signing.pem" --token "$(token_of "$who")"
    done
    "$FS" release publish "$id" --token "$(token_of ana)"
    "$FS" release verify "$FIVESAFES_DATA_DIR/released/$project/$id"
}
# a project's dashboard, drawn from what it released (none when every file was left out)
dashboard() {  # project, options...
    if [ -n "$(ls -A "$FIVESAFES_DATA_DIR/released/$1" 2>/dev/null)" ]; then
        "$FS" dashboard "$@"
    else
        echo "no dashboard for $1: it released nothing at $PATIENTS patients"
    fi
}
release asthma-prevalence "$JOB" \
    "Asthma prevalence by age band, sex and deprivation for the public summary." "${ASTHMA[@]}"

step "11. Decision makers: a monthly board study, approved, run, released and drawn as a dashboard"
"$FS" project submit emergency-admissions examples/emergency-admissions/application.toml \
    --token "$(token_of ana)"
"$FS" project approve emergency-admissions --until "$(date -d '+1 year' +%F)" \
    --reasons "Service planning with aggregate outputs" --key "$DEMO/val-signing.pem" \
    --token "$(token_of val)"
delegate_datasets examples/emergency-admissions/application.toml
cp -r examples/emergency-admissions "$DEMO/board"
"$FS" submit --wait --project "$DEMO/board" --project-id emergency-admissions --token "$(token_of ana)"
BOARD=$(latest_job emergency-admissions)
release emergency-admissions "$BOARD" "Monthly board report of admissions and HbA1c recording." \
    output/emergency_admissions_england.csv output/emergency_admissions_by_region.csv \
    output/hba1c_recorded_england.csv
dashboard emergency-admissions --output "$DEMO/dashboard" \
    --improvement emergency_admissions_england=decrease \
    --improvement emergency_admissions_by_region=decrease \
    --improvement hba1c_recorded_england=increase --target hba1c_recorded_england=80

outputs_of() {  # the moderately sensitive outputs a study's project.yaml declares, in order
    "$BIN/python" -c 'import sys, yaml
for action in yaml.safe_load(open(sys.argv[1]))["actions"].values():
    for path in action.get("outputs", {}).get("moderately_sensitive", {}).values():
        print(path)' \
        "$1/project.yaml"
}
study() {  # project id, example folder, approver's reasons, analyst's justification
    "$FS" project submit "$1" "examples/$2/application.toml" --token "$(token_of ana)"
    "$FS" project approve "$1" --until "$(date -d '+1 year' +%F)" --reasons "$3" \
        --key "$DEMO/val-signing.pem" --token "$(token_of val)"
    delegate_datasets "examples/$2/application.toml"
    cp -r "examples/$2" "$DEMO/$2"
    "$FS" submit --wait --project "$DEMO/$2" --project-id "$1" --token "$(token_of ana)"
    local files
    mapfile -t files < <(outputs_of "$DEMO/$2")
    release "$1" "$(latest_job "$1")" "$4" "${files[@]}"
}

step "12. A board pack: local needs, evaluation, safety, capacity and workforce, released and drawn"
study board-pack board-pack "Planning and safety monitoring with aggregate counts" \
    "Board pack of area profile, evaluation, safety, capacity and workforce counts."
# the organisations' published workforce statistics (public, not patient data) are read beside
# the released counts; the change evaluated (April 2024) and the two-week target are illustrations
dashboard board-pack --output "$DEMO/board-dashboard" \
    --improvement admissions_by_month=decrease --change admissions_by_month=2024-04-01 \
    --local-area E54000048 --polarity emergency_admissions=low --polarity flu_vaccinated=high \
    --waiting-target-weeks 2 --runs 50 --capacity-change -0.05 \
    --published "$DEMO/published/workforce_returns.csv"

step "13. Health and social care together: from hospital discharge to social care, released and drawn"
study discharge-to-social-care discharge-to-social-care \
    "Service evaluation across health and social care, aggregate counts only" \
    "Discharges from hospital to adult social care, and readmissions, as counts."
dashboard discharge-to-social-care --output "$DEMO/discharge-dashboard"

step "14. Front doors: a person shares a night's sleep, a clinician reads it, consent is withdrawn"
PERSON=$("$BIN/python" - "$DEMO/source" <<'PY'
import json, sys
from pathlib import Path

def records(name):  # the file's records, skipping the lines step 3 spoiled on purpose
    for line in Path(sys.argv[1], name).read_text().splitlines():
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict):
            yield found

# the 101st person (the first 100 opted out in step 5), and the practice they are registered at
patients = list(records("Patient.ndjson"))[100:400]
orgs = {}
for e in records("EpisodeOfCare.ndjson"):
    try:
        orgs.setdefault(e["patient"]["reference"].split("/")[1], e["managingOrganization"]["reference"].split("/")[1])
    except (KeyError, IndexError, TypeError):
        continue
ods = {}
for o in records("Organization.ndjson"):
    ods[o.get("id")] = next((i["value"] for i in o.get("identifier", []) if "ods" in i.get("system", "")), None)
for p in patients:
    if p.get("id") in orgs and p.get("identifier") and ods.get(orgs[p["id"]]):
        print(p["id"], p["identifier"][0]["value"], ods[orgs[p["id"]]])
        break
PY
)
read -r PATIENT_ID NHS_NUMBER PRACTICE <<< "$PERSON"
person dana "Dr Dana Clinician" "Practice $PRACTICE" clinician
person pat "Pat Person" "Themselves" patient
"$FS" link dana --ods "$PRACTICE" --token "$(token_of cara)"
"$FS" link pat --nhs-number "$NHS_NUMBER" --token "$(token_of cara)"
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

step "15. The public ledger: every action above, verifiable by anyone"
"$FS" ledger verify
"$FS" ledger public
echo
if [ -s "$DEMO/left-out.txt" ]; then
    echo "$(grep -c '^not requested' "$DEMO/left-out.txt") output(s) were left out because the" \
        "disclosure checks refused them beside what was already released; each reason is in" \
        "$DEMO/left-out.txt."
fi
echo "Everything the demo made is in $DEMO/: released files under $FIVESAFES_DATA_DIR/released/,"
echo "the dashboards in $DEMO/dashboard/, $DEMO/board-dashboard/ and $DEMO/discharge-dashboard/,"
echo "each person's mail in $FIVESAFES_DATA_DIR/outbox/."

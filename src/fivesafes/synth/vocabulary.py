"""Every clinical code the generator writes, with where each one comes from.

Codes are real so that code lists from OpenCodelists select synthetic records just as
they would real ones. Sources, for checking:

* dm+d VMPs: OpenCodelists lists as committed to public study repositories --
  ``opensafely/metformin_covid`` (codelists/user-alainamstutz-metformin-bristol-dmd.csv:
  Metformin 500mg tablets), ``opensafely/antidepressant-prescribing-lda``
  (codelists/opensafely-selective-serotonin-reuptake-inhibitors-dmd.csv: sertraline,
  citalopram) and the GM SDE code sets ``UoM-Data-Science-Platforms/gm-sde``
  (shared/clinical-code-sets/medications: salbutamol, statins, ACE inhibitors);
  amlodipine 5mg tablets is the international concept 319283006 that dm+d uses as the VMP.
* SNOMED CT findings and procedures are concepts of the international release (and, for
  HbA1c, the UK clinical extension) as used in NHS primary care code lists.
* ICD-10 and OPCS-4 codes are chosen to match the conditions and procedures described;
  the shape of every code is checked against ``fivesafes.model.codes`` by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from fivesafes.model.codes import CodeSystem


@dataclass(frozen=True, slots=True)
class Code:
    """One coded concept, and the FHIR CodeableConcept every record that uses it shares
    (serialised once: ``concept`` is written verbatim, ``codeable_concept()`` is a fresh,
    editable copy)."""

    system: str
    code: str
    display: str
    concept: orjson.Fragment = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "concept", orjson.Fragment(orjson.dumps(self.codeable_concept())))

    def codeable_concept(self) -> dict[str, Any]:
        return {"coding": [{"system": self.system, "code": self.code, "display": self.display}]}


def _sct(code: str, display: str) -> Code:
    return Code(CodeSystem.SNOMEDCT.value, code, display)


def _dmd(code: str, display: str) -> Code:
    return Code(CodeSystem.DMD.value, code, display)


def _icd(code: str, display: str) -> Code:
    return Code(CodeSystem.ICD10.value, code, display)


def _opcs(code: str, display: str) -> Code:
    return Code(CodeSystem.OPCS4.value, code, display)


def _loinc(code: str, display: str) -> Code:
    return Code(CodeSystem.LOINC.value, code, display)


# --- long-term conditions (Condition.code) and their ICD-10 equivalents -----------------

DIABETES = _sct("44054006", "Diabetes mellitus type 2")
ASTHMA = _sct("195967001", "Asthma")
HYPERTENSION = _sct("38341003", "Hypertensive disorder, systemic arterial")
COPD = _sct("13645005", "Chronic obstructive lung disease")
DEPRESSION = _sct("35489007", "Depressive disorder")

DIABETES_ICD = _icd("E11.9", "Type 2 diabetes mellitus without complications")
ASTHMA_ICD = _icd("J45.9", "Asthma, unspecified")
HYPERTENSION_ICD = _icd("I10", "Essential (primary) hypertension")
COPD_ICD = _icd("J44.9", "Chronic obstructive pulmonary disease, unspecified")
DEPRESSION_ICD = _icd("F32.9", "Depressive episode, unspecified")

# --- measurements and status findings (Observation.code) ---------------------------------

BMI = _sct("60621009", "Body mass index")
SYSTOLIC = _sct("271649006", "Systolic blood pressure")
DIASTOLIC = _sct("271650006", "Diastolic blood pressure")
HBA1C = _sct(
    "999791000000106",
    "Haemoglobin A1c level - International Federation of Clinical Chemistry and Laboratory "
    "Medicine standardised",
)
SMOKING = (
    _sct("266919005", "Never smoked tobacco"),
    _sct("8517006", "Ex-smoker"),
    _sct("77176002", "Smoker"),
)
"""Indexed by smoking status: 0 never, 1 ex, 2 current."""
CAUSE_OF_DEATH = _sct("184305005", "Cause of death")

# --- prescriptions (MedicationRequest.medicationCodeableConcept, dm+d VMPs) --------------

METFORMIN = _dmd("42084911000001109", "Metformin 500mg tablets")
SALBUTAMOL = _dmd("39113611000001102", "Salbutamol 100micrograms/dose inhaler CFC free")
ATORVASTATIN = _dmd("39733011000001106", "Atorvastatin 20mg tablets")
RAMIPRIL = _dmd("318902004", "Ramipril 5mg capsules")
AMLODIPINE = _dmd("319283006", "Amlodipine 5mg tablets")
SERTRALINE = _dmd("321959007", "Sertraline 50mg tablets")
CITALOPRAM = _dmd("321987003", "Citalopram 20mg tablets")

# --- vaccinations (Immunization.vaccineCode and protocolApplied.targetDisease) -----------

FLU_VACCINE = _sct("1181000221105", "Influenza virus antigen only vaccine product")
COVID_VACCINE = _sct("1119349007", "SARS-CoV-2 mRNA vaccine")
INFLUENZA = _sct("6142004", "Influenza")
COVID_19 = _sct("840539006", "COVID-19")

# --- wearables (LOINC, as docs/fhir-profile.md requires) --------------------------------

STEPS = _loinc("41950-7", "Number of steps in 24 hour Measured")
SLEEP = _loinc("93832-4", "Sleep duration")
RESTING_HEART_RATE = _loinc("40443-4", "Heart rate --resting")

# --- A&E chief diagnoses (ECDS uses SNOMED CT) ------------------------------------------

AE_CHEST_PAIN = _sct("29857009", "Chest pain")
AE_ABDOMINAL_PAIN = _sct("21522001", "Abdominal pain")
AE_FRACTURE = _sct("125605004", "Fracture of bone")
AE_HEAD_INJURY = _sct("82271004", "Injury of head")
AE_SPRAIN = _sct("44465007", "Sprain of ankle")
AE_LACERATION = _sct("312608009", "Laceration - injury")
AE_CELLULITIS = _sct("128045006", "Cellulitis")
AE_SYNCOPE = _sct("271594007", "Syncope")
AE_UTI = _sct("68566005", "Urinary tract infectious disease")
AE_PNEUMONIA = _sct("233604007", "Pneumonia")
AE_COPD_EXACERBATION = _sct(
    "195951007", "Acute exacerbation of chronic obstructive airways disease"
)
AE_HYPOGLYCAEMIA = _sct("302866003", "Hypoglycaemia")
AE_DYSPNOEA = _sct("267036007", "Dyspnoea")
AE_STROKE = _sct("230690007", "Cerebrovascular accident")
AE_MYOCARDIAL_INFARCTION = _sct("22298006", "Myocardial infarction")

AE_COMMON = (
    AE_CHEST_PAIN,
    AE_ABDOMINAL_PAIN,
    AE_FRACTURE,
    AE_HEAD_INJURY,
    AE_SPRAIN,
    AE_LACERATION,
    AE_CELLULITIS,
    AE_SYNCOPE,
    AE_UTI,
    AE_DYSPNOEA,
)
"""Chief diagnoses of attendances that do not lead to admission, commonest first."""
AE_COMMON_WEIGHTS = (0.16, 0.14, 0.12, 0.10, 0.12, 0.12, 0.06, 0.06, 0.06, 0.06)


# --- hospital admissions: a diagnosis, its A&E presentation and its usual procedure --------


@dataclass(frozen=True, slots=True)
class AdmissionReason:
    """Why someone is admitted: primary ICD-10 code, how they present at A&E, and the
    OPCS-4 procedure usually done (with the chance it is)."""

    diagnosis: Code
    presentation: Code | None = None
    procedure: Code | None = None
    procedure_rate: float = 0.0


ELECTIVE = (
    AdmissionReason(
        _icd("H25.9", "Senile cataract, unspecified"),
        None,
        _opcs("C71.2", "Phakoemulsification of lens"),
        1.0,
    ),
    AdmissionReason(
        _icd("M16.9", "Coxarthrosis, unspecified"),
        None,
        _opcs("W37.1", "Primary total prosthetic replacement of hip joint using cement"),
        1.0,
    ),
    AdmissionReason(
        _icd("M17.9", "Gonarthrosis, unspecified"),
        None,
        _opcs("W40.1", "Primary total prosthetic replacement of knee joint using cement"),
        1.0,
    ),
    AdmissionReason(
        _icd("K80.2", "Calculus of gallbladder without cholecystitis"),
        None,
        _opcs("J18.9", "Excision of gall bladder, unspecified"),
        1.0,
    ),
    AdmissionReason(
        _icd("K40.9", "Unilateral or unspecified inguinal hernia"),
        None,
        _opcs("T20.9", "Primary repair of inguinal hernia, unspecified"),
        1.0,
    ),
    AdmissionReason(
        _icd("K57.3", "Diverticular disease of large intestine"),
        None,
        _opcs("H22.9", "Diagnostic endoscopic examination of colon, unspecified"),
        1.0,
    ),
    AdmissionReason(
        _icd("K21.9", "Gastro-oesophageal reflux disease without oesophagitis"),
        None,
        _opcs(
            "G45.9",
            "Diagnostic endoscopic examination of upper gastrointestinal tract, unspecified",
        ),
        1.0,
    ),
)
ELECTIVE_WEIGHTS = (0.22, 0.12, 0.14, 0.12, 0.12, 0.14, 0.14)

EMERGENCY = (
    AdmissionReason(_icd("J18.9", "Pneumonia, unspecified"), AE_PNEUMONIA),
    AdmissionReason(_icd("N39.0", "Urinary tract infection, site not specified"), AE_UTI),
    AdmissionReason(_icd("R07.4", "Chest pain, unspecified"), AE_CHEST_PAIN),
    AdmissionReason(_icd("R10.4", "Other and unspecified abdominal pain"), AE_ABDOMINAL_PAIN),
    AdmissionReason(
        _icd("S72.0", "Fracture of neck of femur"),
        AE_FRACTURE,
        _opcs("W46.1", "Primary prosthetic replacement of head of femur using cement"),
        0.8,
    ),
    AdmissionReason(
        _icd("I21.9", "Acute myocardial infarction, unspecified"),
        AE_MYOCARDIAL_INFARCTION,
        _opcs(
            "K75.1",
            "Percutaneous transluminal balloon angioplasty and insertion of 1-2 drug-eluting "
            "stents into coronary artery",
        ),
        0.6,
    ),
    AdmissionReason(_icd("I63.9", "Cerebral infarction, unspecified"), AE_STROKE),
    AdmissionReason(_icd("I50.9", "Heart failure, unspecified"), AE_DYSPNOEA),
    AdmissionReason(
        _icd("K35.8", "Acute appendicitis, other and unspecified"),
        AE_ABDOMINAL_PAIN,
        _opcs("H01.9", "Emergency excision of appendix, unspecified"),
        0.9,
    ),
    AdmissionReason(_icd("L03.1", "Cellulitis of other parts of limb"), AE_CELLULITIS),
)
EMERGENCY_WEIGHTS = (0.16, 0.12, 0.12, 0.12, 0.08, 0.08, 0.08, 0.10, 0.06, 0.08)
"""Emergency admissions anyone may have; the weights shift with age in hospital.py."""

CONDITION_EMERGENCY = {
    "asthma": AdmissionReason(_icd("J45.9", "Asthma, unspecified"), ASTHMA),
    "copd": AdmissionReason(
        _icd("J44.1", "Chronic obstructive pulmonary disease with acute exacerbation, unspecified"),
        AE_COPD_EXACERBATION,
    ),
    "diabetes": AdmissionReason(
        _icd("E11.6", "Type 2 diabetes mellitus with other specified complications"),
        AE_HYPOGLYCAEMIA,
    ),
}
"""Emergency admissions driven by a long-term condition, so admissions follow diagnoses."""

MATERNITY = (
    AdmissionReason(
        _icd("O80.0", "Spontaneous vertex delivery"),
        None,
        _opcs("R24.9", "Normal delivery, unspecified"),
        1.0,
    ),
    AdmissionReason(
        _icd("O82.0", "Delivery by elective caesarean section"),
        None,
        _opcs("R17.9", "Elective caesarean delivery, unspecified"),
        1.0,
    ),
    AdmissionReason(
        _icd("O82.1", "Delivery by emergency caesarean section"),
        None,
        _opcs("R18.9", "Other caesarean delivery, unspecified"),
        1.0,
    ),
)
MATERNITY_WEIGHTS = (0.68, 0.14, 0.18)

# --- underlying causes of death (ICD-10) -------------------------------------------------

DEATH_CAUSES = (
    _icd("I25.9", "Chronic ischaemic heart disease, unspecified"),
    _icd("I21.9", "Acute myocardial infarction, unspecified"),
    _icd("I63.9", "Cerebral infarction, unspecified"),
    _icd("I50.9", "Heart failure, unspecified"),
    _icd("C34.9", "Malignant neoplasm of bronchus or lung, unspecified"),
    _icd("C18.9", "Malignant neoplasm of colon, unspecified"),
    _icd("C50.9", "Malignant neoplasm of breast, unspecified"),
    _icd("C61", "Malignant neoplasm of prostate"),
    _icd("C80.9", "Malignant neoplasm, primary site unspecified"),
    _icd("F03", "Unspecified dementia"),
    _icd("G30.9", "Alzheimer disease, unspecified"),
    _icd("J18.9", "Pneumonia, unspecified"),
    _icd("J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    _icd("E11.9", "Type 2 diabetes mellitus without complications"),
    _icd("R54", "Senility"),
    _icd("W19", "Unspecified fall"),
    _icd("U07.1", "COVID-19, virus identified"),
)
"""Indexed by the columns of the cause weights in people.py."""

# --- NHS ethnic categories (NHS Data Dictionary) -----------------------------------------

ETHNIC_CATEGORIES = (
    ("A", "White - British"),
    ("B", "White - Irish"),
    ("C", "White - Any other White background"),
    ("D", "Mixed - White and Black Caribbean"),
    ("E", "Mixed - White and Black African"),
    ("F", "Mixed - White and Asian"),
    ("G", "Mixed - Any other mixed background"),
    ("H", "Asian or Asian British - Indian"),
    ("J", "Asian or Asian British - Pakistani"),
    ("K", "Asian or Asian British - Bangladeshi"),
    ("L", "Asian or Asian British - Any other Asian background"),
    ("M", "Black or Black British - Caribbean"),
    ("N", "Black or Black British - African"),
    ("P", "Black or Black British - Any other Black background"),
    ("R", "Other Ethnic Groups - Chinese"),
    ("S", "Other Ethnic Groups - Any other ethnic group"),
    ("Z", "Not stated"),
)
ETHNIC_CODES = tuple(
    Code(CodeSystem.ETHNIC_CATEGORY.value, letter, display) for letter, display in ETHNIC_CATEGORIES
)
SOUTH_ASIAN = tuple(i for i, (letter, _) in enumerate(ETHNIC_CATEGORIES) if letter in "HJKL")
BLACK = tuple(i for i, (letter, _) in enumerate(ETHNIC_CATEGORIES) if letter in "MNP")

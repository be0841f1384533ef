"""The AJCC/UICC 8th edition TNM classification of nasopharyngeal carcinoma, as a table.

Sources
-------
- Amin MB, Edge SB, Greene FL, et al., eds. *AJCC Cancer Staging Manual*, 8th ed. Springer, 2017.
  Chapter 9, "Nasopharynx": Definition of Primary Tumor (T), Regional Lymph Nodes (N), Distant
  Metastasis (M), and the AJCC Prognostic Stage Groups table, which this module writes out row
  by row (the carcinoma in situ row, Tis N0 M0 -> stage 0, is left out: imaging does not stage
  Tis, and the product's stage groups are I to IVB).
- Pan JJ, Ng WT, Zong JF, et al. Proposal for the 8th edition of the AJCC/UICC staging system
  for nasopharyngeal cancer in the era of intensity-modulated radiotherapy. *Cancer*
  2016;122(4):546-558. doi:10.1002/cncr.29795 (PMC4968037): the evidence for the 8th-edition
  changes (adjacent soft tissue as T2, soft tissue beyond the lateral pterygoid as T4, the
  caudal border of the cricoid cartilage instead of the supraclavicular fossa for N3, T0 for
  EBV-positive nodes without a primary, stage groups IVA/IVB).

TX and NX ("cannot be assessed") are not modelled: an unassessed axis is left undetermined and
the form says so, rather than carrying a category the stage table cannot group.

The T0 N0 exclusion: T0 is defined as *no tumour identified, but EBV-positive cervical node(s)*,
so a T0 patient has nodes by definition; T0 with N0 contradicts itself and is refused whatever
M is (the manual's table has no T0 N0 M0 row; its "Any T, Any N, M1" row is not read as
staging a self-contradictory T0 N0).
"""

from __future__ import annotations

from npc_desktop.core.tnm.edition_table import Category, EditionTable, Exclusion, Finding, StageRow

__all__ = ["AJCC_8"]

_T = (
    Category(code="T0", definition="No tumour identified, but EBV-positive cervical node(s) involvement"),
    Category(code="T1", definition="Tumour confined to the nasopharynx, or extension to the oropharynx and/or "
                                   "nasal cavity without parapharyngeal involvement"),
    Category(code="T2", definition="Extension to the parapharyngeal space, and/or adjacent soft tissue involvement "
                                   "(medial pterygoid, lateral pterygoid, prevertebral muscles)"),
    Category(code="T3", definition="Infiltration of bony structures at the skull base, cervical vertebra, pterygoid "
                                   "structures, and/or paranasal sinuses"),
    Category(code="T4", definition="Intracranial extension, involvement of cranial nerves, hypopharynx, orbit, "
                                   "parotid gland, and/or extensive soft tissue infiltration beyond the lateral "
                                   "surface of the lateral pterygoid muscle"),
)

_N = (
    Category(code="N0", definition="No regional lymph node metastasis"),
    Category(code="N1", definition="Unilateral metastasis in cervical lymph node(s) and/or unilateral or bilateral "
                                   "metastasis in retropharyngeal lymph node(s), 6 cm or smaller in greatest "
                                   "dimension, above the caudal border of the cricoid cartilage"),
    Category(code="N2", definition="Bilateral metastasis in cervical lymph node(s), 6 cm or smaller in greatest "
                                   "dimension, above the caudal border of the cricoid cartilage"),
    Category(code="N3", definition="Unilateral or bilateral metastasis in cervical lymph node(s), larger than 6 cm "
                                   "in greatest dimension, and/or extension below the caudal border of the cricoid "
                                   "cartilage"),
)

_M = (
    Category(code="M0", definition="No distant metastasis"),
    Category(code="M1", definition="Distant metastasis"),
)

_FINDINGS = (
    Finding(id="t0.ebv_nodes_no_primary", category="T0",
            label="no tumour identified, EBV-positive cervical nodes"),
    Finding(id="t1.nasopharynx", category="T1", label="confined to the nasopharynx"),
    Finding(id="t1.oropharynx", category="T1", label="oropharynx, without parapharyngeal involvement"),
    Finding(id="t1.nasal_cavity", category="T1", label="nasal cavity, without parapharyngeal involvement"),
    Finding(id="t2.parapharyngeal", category="T2", label="parapharyngeal space"),
    Finding(id="t2.medial_pterygoid", category="T2", label="medial pterygoid muscle"),
    Finding(id="t2.lateral_pterygoid", category="T2", label="lateral pterygoid muscle"),
    Finding(id="t2.prevertebral", category="T2", label="prevertebral muscles"),
    Finding(id="t3.skull_base", category="T3", label="skull base bone"),
    Finding(id="t3.cervical_vertebra", category="T3", label="cervical vertebra"),
    Finding(id="t3.pterygoid_structures", category="T3", label="pterygoid structures (bone)"),
    Finding(id="t3.paranasal_sinuses", category="T3", label="paranasal sinuses"),
    Finding(id="t4.intracranial", category="T4", label="intracranial extension"),
    Finding(id="t4.cranial_nerves", category="T4", label="cranial nerve involvement"),
    Finding(id="t4.hypopharynx", category="T4", label="hypopharynx"),
    Finding(id="t4.orbit", category="T4", label="orbit"),
    Finding(id="t4.parotid", category="T4", label="parotid gland"),
    Finding(id="t4.beyond_lateral_pterygoid", category="T4",
            label="soft tissue beyond the lateral surface of the lateral pterygoid muscle"),
)

# The AJCC Prognostic Stage Groups table of chapter 9, row for row (without Tis N0 M0 -> 0).
_ROWS = (
    StageRow(t=("T1",), n=("N0",), m=("M0",), stage="I"),
    StageRow(t=("T1", "T0"), n=("N1",), m=("M0",), stage="II"),
    StageRow(t=("T2",), n=("N0",), m=("M0",), stage="II"),
    StageRow(t=("T2",), n=("N1",), m=("M0",), stage="II"),
    StageRow(t=("T1", "T0"), n=("N2",), m=("M0",), stage="III"),
    StageRow(t=("T2",), n=("N2",), m=("M0",), stage="III"),
    StageRow(t=("T3",), n=("N0",), m=("M0",), stage="III"),
    StageRow(t=("T3",), n=("N1",), m=("M0",), stage="III"),
    StageRow(t=("T3",), n=("N2",), m=("M0",), stage="III"),
    StageRow(t=("T4",), n=("N0",), m=("M0",), stage="IVA"),
    StageRow(t=("T4",), n=("N1",), m=("M0",), stage="IVA"),
    StageRow(t=("T4",), n=("N2",), m=("M0",), stage="IVA"),
    StageRow(t=None, n=("N3",), m=("M0",), stage="IVA"),
    StageRow(t=None, n=None, m=("M1",), stage="IVB"),
)

AJCC_8 = EditionTable(
    number=8,
    title="AJCC/UICC 8th edition",
    source=("Amin MB et al., eds. AJCC Cancer Staging Manual, 8th ed. Springer, 2017, chapter 9 (Nasopharynx); "
            "Pan JJ et al. Cancer 2016;122(4):546-558, doi:10.1002/cncr.29795"),
    t=_T,
    n=_N,
    m=_M,
    findings=_FINDINGS,
    nodal_size_limit_mm=60.0,
    stage_groups=("I", "II", "III", "IVA", "IVB"),
    rows=_ROWS,
    exclusions=(
        Exclusion(t=("T0",), n=("N0",), m=None,
                  reason="T0 means no primary tumour was found but EBV-positive cervical nodes were, "
                         "so it needs N1, N2 or N3"),
    ),
)
"""The AJCC/UICC 8th edition for nasopharyngeal carcinoma."""

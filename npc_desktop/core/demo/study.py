"""Synthetic demo study: an obviously artificial head-and-neck MR written as standard DICOM.

The app opens this study when it is started without a path (DESIGN.md section 7), so it must run on a
fresh machine with no data of its own. :func:`write_demo_study` renders two axial series of one
synthetic patient (a fat-suppressed contrast-enhanced T1, ``"T1C"``, and a fat-suppressed T2,
``"T2"``) that share one study and one frame of reference but have different slice geometry, so
nearest-slice synchronisation between them is meaningful. The anatomy (head/neck outline, skin and
fat, muscles, airway, vertebra and spinal canal, mandible, vessels, glands) is drawn in patient
millimetres from a handful of ellipses that change with height, then resampled on each series' grid,
textured, smoothed, given a gentle coil bias and Rician noise. A lobulated nasopharyngeal tumour with
parapharyngeal extension and three lymph nodes (one necrotic) are drawn the same way; their
per-slice pixel bounding boxes are returned as ground truth.

Everything is deterministic: the same seed and :data:`GENERATOR_VERSION` give byte-identical files
(UIDs are name-based ``2.25`` UUIDs of the seed, dates and times are fixed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEMO_SEED",
    "GENERATOR_VERSION",
    "SERIES_KEYS",
    "DemoLesion",
    "DemoStudy",
]

DEMO_SEED: int = 20240917
"""Seed of the demo study the app opens by default."""

GENERATOR_VERSION: str = "1"
"""Version of the generator's output; bump it whenever the written files change."""

SERIES_KEYS: tuple[str, ...] = ("T1C", "T2")
"""Keys of the two series, in the order they are listed."""

PATIENT_NAME = "DEMO^SYNTHETIC PATIENT"
PATIENT_ID = "NPC-DEMO-0001"
MANIFEST_NAME = "npc-demo-manifest.json"
"""File written last into a study folder; its presence and hashes mark a complete study."""


# --------------------------------------------------------------------------------------------------
# Public data classes


@dataclass(frozen=True)
class DemoLesion:
    """Ground truth of one lesion on one slice of one series.

    Attributes
    ----------
    kind
        ``"tumour"`` or ``"node"``.
    series_key
        ``"T1C"`` or ``"T2"``.
    slice_index
        Zero-based index of the slice in the series sorted by position (inferior to superior), equal
        to ``InstanceNumber - 1``.
    sop_instance_uid
        SOPInstanceUID of that slice.
    bbox
        Tight pixel box ``(row0, col0, row1, col1)`` of the lesion on the slice; the end values are
        exclusive, so ``pixels[row0:row1, col0:col1]`` is the box.
    centre_mm
        Centroid ``(x, y, z)`` of the lesion's cross-section in patient coordinates (LPS, mm).
    name
        Which lesion this is, e.g. ``"nasopharyngeal primary"``; identical on every slice of it.
    """

    kind: str
    series_key: str
    slice_index: int
    sop_instance_uid: str
    bbox: tuple[int, int, int, int]
    centre_mm: tuple[float, float, float]
    name: str = ""


@dataclass(frozen=True)
class DemoStudy:
    """A demo study written to disk.

    Attributes
    ----------
    root
        Folder holding the study (``T1C/IM0001.dcm`` ... and the manifest).
    patient_name, patient_id
        The synthetic patient's PatientName and PatientID.
    study_instance_uid, frame_of_reference_uid
        Shared by both series.
    series_files
        Series key -> files, sorted by slice position (inferior to superior).
    series_uids
        Series key -> SeriesInstanceUID.
    lesions
        Ground-truth lesion boxes, one per lesion per slice on which it is visible, in both series.
    """

    root: Path
    patient_name: str
    patient_id: str
    study_instance_uid: str
    frame_of_reference_uid: str
    series_files: dict[str, list[Path]]
    series_uids: dict[str, str]
    lesions: tuple[DemoLesion, ...]

    def lesions_for(self, series_key: str) -> tuple[DemoLesion, ...]:
        """Return the lesions of one series, ordered by slice index.

        Parameters
        ----------
        series_key
            ``"T1C"`` or ``"T2"``.
        """
        return tuple(sorted((les for les in self.lesions if les.series_key == series_key),
                            key=lambda les: (les.slice_index, les.name)))

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

import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import platformdirs
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

__all__ = [
    "DEMO_SEED",
    "GENERATOR_VERSION",
    "SERIES_KEYS",
    "DemoLesion",
    "DemoStudy",
    "write_demo_study",
    "ensure_demo_study",
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

_FILE_RE = re.compile(r"IM\d{4}\.dcm")
_UID_NAMESPACE = uuid.UUID("6f1c3e0a-5b7d-4d0e-9a61-2c8e4f7b9d35")
_IMPLEMENTATION_UID = "2.25." + str(uuid.uuid5(_UID_NAMESPACE, "npc-desktop/implementation").int)
_FULL_SCALE = 3600.0  # intensity of tissue value 1.0
_MAX_VALUE = 4095  # BitsStored 12
_MIN_LESION_AREA_MM2 = 12.0  # smaller cross-sections are not drawn (nor reported)


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


# --------------------------------------------------------------------------------------------------
# Series definitions


@dataclass(frozen=True)
class _SeriesSpec:
    key: str
    number: int
    description: str
    rows: int
    cols: int
    spacing: float  # square pixels, mm
    n_slices: int
    slice_step: float  # mm between slice centres
    thickness: float
    x0: float  # patient x of the centre of pixel (0, 0)
    y0: float
    z0: float  # patient z of the first (most inferior) slice
    tissue_index: int  # column of _TISSUE_VALUES
    time: str
    sequence_name: str
    tr: float
    te: float
    etl: int
    flip: float
    contrast: bool
    window_percentile: float


_SPECS: dict[str, _SeriesSpec] = {
    "T1C": _SeriesSpec("T1C", 5, "AX T1 +C FS (SYNTHETIC DEMO)", 256, 256, 0.9, 28, 3.0, 3.0,
                       -114.75, -114.75, -62.0, 0, "101500", "tse2d1_3", 600.0, 10.0, 3, 150.0,
                       True, 99.9),
    "T2": _SeriesSpec("T2", 3, "AX T2 FS (SYNTHETIC DEMO)", 224, 224, 1.0, 22, 4.0, 3.5,
                      -111.5, -109.5, -64.5, 1, "100500", "tse2d1_15", 4000.0, 85.0, 15, 150.0,
                      False, 99.0),
}

# Tissue labels and their (T1C FS, T2 FS) signal on a 0..1 scale, plus texture amplitude.
(AIR, SKIN, FAT, DEEP, MUSCLE, TONGUE, MUCOSA, LYMPHOID, GLAND, BONE, MARROW, CSF, CORD, BRAIN,
 ARTERY, VEIN, PPFAT, TUMOUR) = range(18)
_NODE0 = 20  # node i -> label _NODE0 + 2 i, its necrotic centre _NODE0 + 2 i + 1
_TISSUE_VALUES = np.zeros((32, 3), dtype=np.float32)
for _label, _vals in {
    AIR: (0.0, 0.0, 0.0), SKIN: (0.30, 0.30, 0.05), FAT: (0.36, 0.27, 0.08),
    DEEP: (0.31, 0.24, 0.08), MUSCLE: (0.22, 0.12, 0.05), TONGUE: (0.25, 0.16, 0.06),
    MUCOSA: (0.58, 0.56, 0.06), LYMPHOID: (0.47, 0.52, 0.05), GLAND: (0.37, 0.36, 0.07),
    BONE: (0.03, 0.03, 0.0), MARROW: (0.20, 0.15, 0.08), CSF: (0.07, 0.88, 0.02),
    CORD: (0.27, 0.38, 0.03), BRAIN: (0.30, 0.42, 0.04), ARTERY: (0.02, 0.02, 0.0),
    VEIN: (0.50, 0.05, 0.05), PPFAT: (0.38, 0.30, 0.08), TUMOUR: (0.68, 0.50, 0.13),
}.items():
    _TISSUE_VALUES[_label] = _vals
for _i in range(3):
    _TISSUE_VALUES[_NODE0 + 2 * _i] = (0.56, 0.50, 0.07)
    _TISSUE_VALUES[_NODE0 + 2 * _i + 1] = (0.12, 0.80, 0.04)


# --------------------------------------------------------------------------------------------------
# Drawing in patient millimetres on a pixel grid


class _Canvas:
    """Label image of one slice plus the mapping between pixels and patient millimetres."""

    def __init__(self, spec: _SeriesSpec, z: float) -> None:
        self.spec = spec
        self.z = z
        self.lab = np.zeros((spec.rows, spec.cols), dtype=np.uint8)

    def ellipse(self, cx: float, cy: float, ax: float, ay: float, label: int, *,
                ay_post: Optional[float] = None, angle: float = 0.0, p: float = 2.0,
                ymax: Optional[float] = None, ymin: Optional[float] = None,
                lobes: tuple[tuple[int, float, float], ...] = ()) -> None:
        """Paint a (super)ellipse centred at (cx, cy) mm with semi-axes ax, ay (ay_post behind).

        ``angle`` rotates it (degrees, x towards y); ``lobes`` are (k, amplitude, phase) terms of a
        radial modulation; ``ymin``/``ymax`` clip it to a band of y.
        """
        if ax <= 0 or ay <= 0:
            return
        s = self.spec
        ay2 = ay if ay_post is None else ay_post
        reach = max(ax, ay, ay2) * (1.0 + sum(abs(a) for _, a, _ in lobes)) + s.spacing
        c0 = max(int(math.floor((cx - reach - s.x0) / s.spacing)), 0)
        c1 = min(int(math.ceil((cx + reach - s.x0) / s.spacing)) + 1, s.cols)
        r0 = max(int(math.floor((cy - reach - s.y0) / s.spacing)), 0)
        r1 = min(int(math.ceil((cy + reach - s.y0) / s.spacing)) + 1, s.rows)
        if c0 >= c1 or r0 >= r1:
            return
        xs = s.x0 + s.spacing * np.arange(c0, c1, dtype=np.float32)
        ys = s.y0 + s.spacing * np.arange(r0, r1, dtype=np.float32)
        u = xs[None, :] - cx
        v = ys[:, None] - cy
        if angle:
            ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            u, v = u * ca + v * sa, -u * sa + v * ca
        else:
            u, v = np.broadcast_to(u, (r1 - r0, c1 - c0)), np.broadcast_to(v, (r1 - r0, c1 - c0))
        un = u / ax
        vn = np.where(v < 0, v / ay, v / ay2)
        rad = un * un + vn * vn if p == 2.0 else np.abs(un) ** p + np.abs(vn) ** p
        if lobes:  # scale the boundary radius by 1 + sum(a cos(k theta + phase))
            theta = np.arctan2(vn, un)
            mod = np.ones_like(theta)
            for k, a, ph in lobes:
                mod += a * np.cos(k * theta + ph)
            rad = rad / mod ** p
        mask = rad < 1.0
        if ymax is not None:
            mask &= ys[:, None] < ymax
        if ymin is not None:
            mask &= ys[:, None] > ymin
        self.lab[r0:r1, c0:c1][mask] = label

    def ellipsoid(self, c: tuple[float, float, float], semi: tuple[float, float, float],
                  label: int, *, sharp: float = 3.0, **kw) -> None:
        """Paint the cross-section at this slice's z of an ellipsoid (superellipsoid along z)."""
        t = abs(self.z - c[2]) / semi[2]
        if t >= 1.0:
            return
        f = (1.0 - t ** sharp) ** (1.0 / sharp)
        self.ellipse(c[0], c[1], semi[0] * f, semi[1] * f, label, **kw)


def _zi(z: float, knots: tuple[float, ...], values: tuple[float, ...]) -> float:
    return float(np.interp(z, knots, values))


def _band(z: float, lo: float, hi: float, ramp: float = 4.0) -> float:
    """1 inside [lo, hi], falling linearly to 0 over ``ramp`` mm outside."""
    if z < lo:
        return max(0.0, 1.0 - (lo - z) / ramp)
    if z > hi:
        return max(0.0, 1.0 - (z - hi) / ramp)
    return 1.0


def _paint_anatomy(cv: _Canvas) -> None:
    """Paint the normal anatomy of one axial slice (z in mm, -65 upper neck .. +22 skull base)."""
    z = cv.z
    e = cv.ellipse
    # Outline: skin, subcutaneous fat, deep tissue. Wide face/occiput above, neck below.
    zk = (-66.0, -45.0, -25.0, -5.0, 10.0, 24.0)
    half_w = _zi(z, zk, (60, 62, 66, 70, 73, 74))
    ant = _zi(z, zk, (52, 70, 80, 86, 88, 88))
    post = _zi(z, zk, (74, 78, 84, 88, 92, 94))
    yc = _zi(z, zk, (8, 4, 2, 0, 0, 0))
    ear = _band(z, 2, 30, 3)
    nose = _band(z, 6, 30, 3)
    outline_lobes = ((2, 0.025, 0.4), (3, 0.02, 1.3), (5, 0.01, 2.0))
    for grow, label in ((0.0, SKIN), (-2.0, FAT), (-8.0, DEEP)):
        if ear and grow > -8:
            for sx in (-1, 1):
                e(sx * (half_w + 2), 16, 7 * ear + grow / 2, 15 * ear + grow, label, angle=sx * 8)
        if nose and grow > -8:
            e(0, yc - ant + 3, 14 * nose + grow, 16 * nose + grow, label, p=1.9)
        e(0, yc, half_w + grow, ant + grow, label, ay_post=post + grow, p=2.3,
          lobes=outline_lobes)
    # Cheeks/face at top: maxillary sinuses and nasal cavity.
    if z > 9:
        k = _band(z, 13, 30, 4)
        for sx in (-1, 1):
            e(sx * 30, -50, 15 * k, 16 * k, BONE, p=2.6, angle=sx * 10)
            e(sx * 30, -50, 13.8 * k, 14.8 * k, MUCOSA, p=2.6, angle=sx * 10)
            e(sx * 30, -50, 12.8 * k, 13.8 * k, AIR, p=2.6, angle=sx * 10)
        nk = _band(z, 10, 30, 2)
        e(0, -42, 15 * nk, 34 * nk, BONE)
        e(0, -42, 13.8 * nk, 32.8 * nk, MUCOSA)
        for sx in (-1, 1):
            e(sx * 7.5, -42, 5.0 * nk, 30 * nk, AIR)
            e(sx * 10, -45, 3.0 * nk, 16 * nk, MUCOSA)  # inferior turbinates
        e(0, -42, 1.0 * nk, 31 * nk, BONE)  # septum
    # Hard palate / maxillary alveolus with teeth.
    pk = _band(z, -4, 6, 2)
    if pk:
        e(0, -48, 38 * pk, 36 * pk, BONE, ymax=-40)
        e(0, -48, 34 * pk, 32 * pk, MARROW, ymax=-40)
        e(0, -48, 30 * pk, 28 * pk, TONGUE, ymax=-40)
        for i in range(-5, 6):
            a = math.radians(90 + i * 14)
            e(36 * pk * math.cos(a), -48 - 34 * pk * math.sin(a), 2.6, 2.6, BONE)
    # Mandible: rami above, body (U shape) below.
    rk = _band(z, -18, 18, 4)
    if rk:
        for sx in (-1, 1):
            e(sx * 47, -14, 5.5 * rk, 17 * rk, BONE, angle=-sx * 12)
            e(sx * 47, -14, 3.0 * rk, 14 * rk, MARROW, angle=-sx * 12)
            e(sx * 56, -14, 6 * rk, 17 * rk, MUSCLE, angle=-sx * 10)  # masseter
            e(sx * 31, -8, 7.5 * rk, 15 * rk, MUSCLE, angle=sx * 25)  # medial pterygoid
            e(sx * 49, 16, 11 * rk, 14 * rk, GLAND)  # parotid
    if -50.0 <= z <= -12.0:
        e(0, -24, 50, 54, BONE, ymax=-26, p=2.2)
        e(0, -24, 46.5, 50.5, MARROW, ymax=-26, p=2.2)
        e(0, -24, 43, 47, DEEP, ymax=-26, p=2.2)
    if -50.0 <= z <= -42.0:  # hyoid
        e(0, -24, 22, 14, BONE, ymax=-22)
        e(0, -24, 19.5, 11.5, DEEP, ymax=-22)
    lk = _band(z, -70, -52, 2)
    if lk:  # larynx: thyroid cartilage and strap muscles
        for sx in (-1, 1):
            e(sx * 11, -30, 9 * lk, 5 * lk, MUSCLE, angle=sx * 20)
        e(0, -15, 19 * lk, 16 * lk, BONE, p=1.7, ymax=-8)
        e(0, -15, 17 * lk, 14 * lk, DEEP, p=1.7, ymax=-8)
    # Tongue, tonsils, submandibular glands.
    tk = _band(z, -44, -6, 6)
    if tk:
        e(0, -34, 27 * tk, 24 * tk, TONGUE, p=2.2)
        e(0, -34, 1.5 * tk, 20 * tk, FAT)  # lingual septum
        for sx in (-1, 1):
            e(sx * 14, -8, 6 * _band(z, -24, -8, 4), 8 * _band(z, -24, -8, 4), LYMPHOID)
    sk = _band(z, -60, -36, 5)
    if sk:
        for sx in (-1, 1):
            e(sx * 36, -30, 12 * sk, 10 * sk, GLAND)
    # Sternocleidomastoid, paraspinal muscles.
    mk = _band(z, -70, 0, 10)
    if mk:
        for sx in (-1, 1):
            e(sx * _zi(z, (-66, 0), (46, 56)), _zi(z, (-66, 0), (16, 30)), 7 * mk, 16 * mk,
              MUSCLE, angle=sx * 35)
    pm = _band(z, -70, 14, 6)
    for sx in (-1, 1):
        e(sx * 22, 64, 19 * pm, 17 * pm, MUSCLE, angle=sx * 20)
        e(sx * 9, 72, 7 * pm, 12 * pm, MUSCLE)
    e(0, 62, 2.0 * pm, 22 * pm, FAT)  # nuchal ligament
    # Posterior fossa at the top: occipital bone behind the cerebellum.
    ck = _band(z, 16, 30, 6)
    if ck:
        e(0, 58, 50 * ck, 8, BONE, ay_post=27 * ck)
        e(0, 58, 47 * ck, 6, BRAIN, ay_post=24 * ck)
        e(0, 72, 1.5 * ck, 9 * ck, CSF)  # vallecula / falx cerebelli
    # Vertebral column: vertebral body (or clivus above), posterior arch, canal and cord.
    body_ax = _zi(z, (-66, 0, 10, 24), (13, 12, 10, 8))
    e(0, 26, body_ax, 10, BONE)
    e(0, 26, body_ax - 1.4, 8.6, MARROW)
    arch = _band(z, -70, 12, 3)
    if arch:
        for sx in (-1, 1):
            e(sx * 12, 38, 3 * arch, 6 * arch, BONE, angle=sx * 20)  # pedicles
        e(0, 49, 16 * arch, 15 * arch, BONE, ymin=46)
        e(0, 49, 13.5 * arch, 12.5 * arch, DEEP, ymin=46)
        e(0, 68, 2.8 * arch, 9 * arch, BONE)  # spinous process
    canal = _zi(z, (-66, 0, 12, 24), (10, 10.5, 13, 15))
    e(0, 48, canal * 1.1, canal * 0.85, CSF)
    cord = _zi(z, (-66, 0, 12, 24), (5.5, 6, 8, 10))
    e(0, 48, cord * 1.15, cord * 0.85, CORD)
    # Prevertebral muscles (longus capitis/colli).
    for sx in (-1, 1):
        e(sx * 9, 13, 7.5, 4.5, MUSCLE)
    # Parapharyngeal fat.
    ppk = _band(z, -12, 22, 4)
    if ppk:
        for sx in (-1, 1):
            e(sx * 21, -2, 5.5 * ppk, 10 * ppk, PPFAT, angle=sx * 15)
    # Vessels: internal carotid artery (flow void) and internal jugular vein.
    for sx in (-1, 1):
        e(sx * _zi(z, (-66, 0, 24), (24, 28, 30)), _zi(z, (-66, 0, 24), (6, 12, 16)), 3.2, 3.2,
          ARTERY)
        e(sx * _zi(z, (-66, 0, 24), (33, 37, 38)), _zi(z, (-66, 0, 24), (14, 20, 24)), 5.5, 4.5,
          VEIN)
        if z < -20:  # external carotid
            e(sx * 26, 0, 2.2, 2.2, ARTERY)
        e(sx * 20, 36, 2.2, 2.2, ARTERY)  # vertebral artery
    # Airway with its mucosal lining: nasopharynx -> oropharynx -> hypopharynx.
    za = (-66.0, -40.0, -10.0, 2.0, 10.0, 24.0)
    ax = _zi(z, za, (8, 9, 11, 12, 15, 16))
    ay = _zi(z, za, (5, 5, 6, 5, 8, 9))
    acy = _zi(z, za, (-16, -6, 0, -1, -3, -6))
    e(0, acy, ax + 2.5, ay + 2.5, MUCOSA, p=2.6)
    if z > 6:  # adenoid remnant on the roof/posterior wall
        e(0, acy + ay, 8, 3.5, LYMPHOID)
    e(0, acy, ax, ay, AIR, p=2.6)
    if -6 < z < 8:  # soft palate
        e(0, acy - ay - 7, 15, 5.5, MUSCLE)
        e(0, acy - ay - 7, 13, 3.5, MUCOSA)


# --------------------------------------------------------------------------------------------------
# Lesions


@dataclass(frozen=True)
class _Lobe:
    c: tuple[float, float, float]
    semi: tuple[float, float, float]
    lobes: tuple[tuple[int, float, float], ...]


@dataclass(frozen=True)
class _LesionModel:
    kind: str
    name: str
    label: int
    lobes: tuple[_Lobe, ...]
    necrosis: Optional[_Lobe] = None


def _lesion_models(seed: int) -> tuple[_LesionModel, ...]:
    """The tumour and nodes, slightly jittered by the seed (left side = +x)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))

    def jit(v: tuple[float, float, float], s: float) -> tuple[float, float, float]:
        return tuple(float(a + b) for a, b in zip(v, rng.uniform(-s, s, 3)))  # type: ignore

    def lob(n: int, amp: float) -> tuple[tuple[int, float, float], ...]:
        ks = (2, 3, 4, 5, 7)[:n]
        return tuple((k, float(amp * rng.uniform(0.5, 1.0) / (1 + 0.3 * i)),
                      float(rng.uniform(0, 2 * math.pi))) for i, k in enumerate(ks))

    tumour = _LesionModel("tumour", "nasopharyngeal primary", TUMOUR, (
        _Lobe(jit((8.0, 1.0, 12.0), 1.0), (11.0, 8.5, 9.5), lob(4, 0.22)),
        _Lobe(jit((20.0, -1.0, 9.0), 1.0), (8.5, 6.5, 6.5), lob(3, 0.22)),
        _Lobe(jit((4.0, 6.0, 15.0), 1.0), (8.0, 5.0, 6.0), lob(3, 0.18)),
        _Lobe(jit((14.0, 4.0, 5.5), 1.0), (6.0, 5.0, 4.0), lob(2, 0.10)),
    ))
    rp = _LesionModel("node", "left lateral retropharyngeal node", _NODE0, (
        _Lobe(jit((15.0, 15.0, -4.0), 0.8), (5.5, 4.8, 6.5), lob(2, 0.05)),))
    c2r = jit((-37.0, 3.0, -32.0), 1.5)
    level2r = _LesionModel("node", "right level II node (necrotic)", _NODE0 + 2, (
        _Lobe(c2r, (9.5, 8.0, 10.0), lob(2, 0.06)),),
        necrosis=_Lobe((c2r[0] + 0.8, c2r[1] - 0.5, c2r[2]), (4.8, 4.0, 6.0), lob(2, 0.10)))
    level2l = _LesionModel("node", "left level II node", _NODE0 + 4, (
        _Lobe(jit((38.0, 5.0, -45.0), 1.5), (6.5, 5.5, 6.5), lob(2, 0.05)),))
    return tumour, rp, level2r, level2l


def _paint_lesions(cv: _Canvas, models: tuple[_LesionModel, ...]
                   ) -> list[tuple[_LesionModel, np.ndarray]]:
    """Paint the lesions; return each visible one with its mask on this slice."""
    out = []
    min_px = _MIN_LESION_AREA_MM2 / cv.spec.spacing ** 2
    for m in models:
        before = cv.lab.copy()
        for lb in m.lobes:
            cv.ellipsoid(lb.c, lb.semi, m.label, lobes=lb.lobes)
        if m.necrosis is not None:
            cv.ellipsoid(m.necrosis.c, m.necrosis.semi, m.label + 1, lobes=m.necrosis.lobes)
        mask = (cv.lab == m.label) | ((cv.lab == m.label + 1) if m.necrosis else False)
        if 0 < mask.sum() < min_px:  # a sliver: leave it out entirely
            cv.lab = before
        elif mask.any():
            out.append((m, mask))
    return out


# --------------------------------------------------------------------------------------------------
# Rendering


def _render_series(spec: _SeriesSpec, seed: int, models: tuple[_LesionModel, ...]
                   ) -> tuple[np.ndarray, list[list[tuple[_LesionModel, np.ndarray]]]]:
    """Return the uint16 volume (slices, rows, cols) and the per-slice visible lesion masks."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, spec.tissue_index + 1]))
    values = _TISSUE_VALUES[:, spec.tissue_index] * _FULL_SCALE
    texture_amp = _TISSUE_VALUES[:, 2]
    px = spec.spacing
    xs = spec.x0 + px * np.arange(spec.cols, dtype=np.float32)
    ys = spec.y0 + px * np.arange(spec.rows, dtype=np.float32)
    # Gentle coil bias: brighter posteriorly and towards the periphery.
    rr = (xs[None, :] ** 2 + ys[:, None] ** 2) / 110.0 ** 2
    bias = (1.0 + 0.10 * ys[:, None] / 110.0 + 0.12 * rr).astype(np.float32)
    noise_sigma = 0.011 * _FULL_SCALE
    tex_sigma = 2.5 / px
    blur_sigma = 0.8 / px
    volume = np.empty((spec.n_slices, spec.rows, spec.cols), dtype=np.uint16)
    lesions: list[list[tuple[_LesionModel, np.ndarray]]] = []
    for k in range(spec.n_slices):
        z = spec.z0 + k * spec.slice_step
        cv = _Canvas(spec, z)
        _paint_anatomy(cv)
        lesions.append(_paint_lesions(cv, models))
        img = values[cv.lab]
        tex = cv2.GaussianBlur(rng.standard_normal(img.shape).astype(np.float32), (0, 0),
                               tex_sigma)
        tex *= 1.0 / max(float(tex.std()), 1e-6)
        img = img * (1.0 + texture_amp[cv.lab] * tex)
        img = cv2.GaussianBlur(img, (0, 0), blur_sigma) * bias
        n = rng.standard_normal((2,) + img.shape).astype(np.float32) * noise_sigma
        img = np.sqrt((img + n[0]) ** 2 + n[1] ** 2)
        volume[k] = np.clip(np.rint(img), 0, _MAX_VALUE).astype(np.uint16)
    return volume, lesions


# --------------------------------------------------------------------------------------------------
# DICOM


def _uid(seed: int, purpose: str) -> str:
    """A deterministic ``2.25`` UID (name-based UUID) for ``purpose`` of this seed and version."""
    name = f"npc-desktop-demo/{GENERATOR_VERSION}/{seed}/{purpose}"
    return "2.25." + str(uuid.uuid5(_UID_NAMESPACE, name).int)


def _ds_number(v: float) -> str:
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


_STUDY_DATE = "20240101"
_STUDY_TIME = "100000"


def _slice_dataset(spec: _SeriesSpec, k: int, pixels: np.ndarray,
                   uids: dict[str, str], window: tuple[float, float]) -> Dataset:
    z = spec.z0 + k * spec.slice_step
    sop_uid = uids[f"{spec.key}/{k}"]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = _IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"NPCDEMO_{GENERATOR_VERSION}"[:16]

    ds = Dataset()
    ds.file_meta = meta
    # SOP Common
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    ds.InstanceCreationDate = _STUDY_DATE
    ds.InstanceCreationTime = _STUDY_TIME
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    # General Study / Series / Equipment / Image dates
    ds.StudyDate = _STUDY_DATE
    ds.SeriesDate = _STUDY_DATE
    ds.AcquisitionDate = _STUDY_DATE
    ds.ContentDate = _STUDY_DATE
    ds.StudyTime = _STUDY_TIME
    ds.SeriesTime = spec.time
    ds.AcquisitionTime = spec.time
    ds.ContentTime = spec.time
    ds.AccessionNumber = "NPCDEMO1"
    ds.Modality = "MR"
    ds.Manufacturer = "NPC Desktop (synthetic)"
    ds.InstitutionName = "NPC Desktop synthetic data"
    ds.ReferringPhysicianName = ""
    ds.StationName = "NPCDEMO"
    ds.StudyDescription = "MR NASOPHARYNX (SYNTHETIC DEMO)"
    ds.SeriesDescription = spec.description
    ds.ManufacturerModelName = "Synthetic demo generator"
    # Patient
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.PatientIdentityRemoved = "NO"
    # Contrast/Bolus (only the contrast series)
    if spec.contrast:
        ds.ContrastBolusAgent = "GADOLINIUM (SYNTHETIC)"
        ds.ContrastBolusRoute = "IV"
    ds.BodyPartExamined = "HEAD"
    # MR Image acquisition parameters
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "SK"
    ds.ScanOptions = "FS"
    ds.MRAcquisitionType = "2D"
    ds.SequenceName = spec.sequence_name
    ds.AngioFlag = "N"
    ds.SliceThickness = _ds_number(spec.thickness)
    ds.RepetitionTime = _ds_number(spec.tr)
    ds.EchoTime = _ds_number(spec.te)
    ds.NumberOfAverages = "1"
    ds.ImagingFrequency = "123.2"
    ds.ImagedNucleus = "1H"
    ds.EchoNumbers = "1"
    ds.MagneticFieldStrength = "3"
    ds.SpacingBetweenSlices = _ds_number(spec.slice_step)
    ds.EchoTrainLength = str(spec.etl)
    ds.PercentSampling = "100"
    ds.PercentPhaseFieldOfView = "100"
    ds.PixelBandwidth = "200"
    ds.DeviceSerialNumber = "0000"
    ds.SoftwareVersions = f"npc-desktop demo generator {GENERATOR_VERSION}"
    ds.ProtocolName = spec.description
    ds.ReceiveCoilName = "HEADNECK"
    ds.TransmitCoilName = "BODY"
    ds.AcquisitionMatrix = [0, spec.cols, spec.rows, 0]
    ds.InPlanePhaseEncodingDirection = "ROW"
    ds.FlipAngle = _ds_number(spec.flip)
    ds.VariableFlipAngleFlag = "N"
    ds.PatientPosition = "HFS"
    # Relationship
    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids[f"series/{spec.key}"]
    ds.StudyID = "1"
    ds.SeriesNumber = str(spec.number)
    ds.AcquisitionNumber = "1"
    ds.InstanceNumber = str(k + 1)
    # Image Plane
    ds.ImagePositionPatient = [_ds_number(spec.x0), _ds_number(spec.y0), _ds_number(z)]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.PositionReferenceIndicator = ""
    ds.SliceLocation = _ds_number(z)
    ds.ImageComments = "SYNTHETIC DEMO IMAGE - NOT A PATIENT - NOT FOR CLINICAL USE"
    # Image Pixel
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = spec.rows
    ds.Columns = spec.cols
    ds.PixelSpacing = [_ds_number(spec.spacing), _ds_number(spec.spacing)]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    # VOI LUT
    ds.WindowCenter = _ds_number(round(window[0]))
    ds.WindowWidth = _ds_number(round(window[1]))
    ds.WindowCenterWidthExplanation = "SYNTHETIC DEMO"
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    ds["PixelData"].VR = "OW"
    return ds


def _window(volume: np.ndarray, upper_percentile: float) -> tuple[float, float]:
    """Window from 0 to a high percentile of the tissue voxels."""
    body = volume[volume > 0.15 * _FULL_SCALE]
    hi = float(np.percentile(body, upper_percentile)) if body.size else float(_MAX_VALUE)
    hi = max(hi, 100.0)
    return hi / 2.0, hi


# --------------------------------------------------------------------------------------------------
# Writing, manifest and cache


def _check_out_dir(out_dir: Path) -> None:
    """Refuse a folder holding anything but our own output; remove our old output."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder; cannot write the demo study there")
    if not out_dir.exists():
        return
    foreign: list[str] = []
    ours: list[Path] = []
    for entry in sorted(out_dir.iterdir()):
        if entry.name == MANIFEST_NAME and entry.is_file():
            ours.append(entry)
        elif entry.name in SERIES_KEYS and entry.is_dir():
            for f in sorted(entry.iterdir()):
                if f.is_file() and _FILE_RE.fullmatch(f.name):
                    ours.append(f)
                else:
                    foreign.append(f"{entry.name}/{f.name}")
        else:
            foreign.append(entry.name)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ValueError(
            f"{out_dir}: refusing to write the demo study into a folder that holds other files "
            f"({shown}); choose an empty or new folder")
    for f in ours:
        f.unlink()


def write_demo_study(out_dir: Path, *, seed: int = DEMO_SEED) -> DemoStudy:
    """Write the synthetic demo study into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into; created if missing. It may be empty or hold a previous output of this
        function (which is replaced); anything else is refused.
    seed
        Seed of all random content and of the UIDs. The same seed gives byte-identical files.

    Returns
    -------
    DemoStudy
        The written study with its UIDs, files and ground-truth lesion boxes.

    Raises
    ------
    ValueError
        If ``out_dir`` is a file or holds files that are not this function's output.
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    models = _lesion_models(seed)
    uids = {"study": _uid(seed, "study"), "frame": _uid(seed, "frame-of-reference")}
    files: dict[str, list[Path]] = {}
    hashes: dict[str, str] = {}
    lesions: list[DemoLesion] = []
    for key in SERIES_KEYS:
        spec = _SPECS[key]
        uids[f"series/{key}"] = _uid(seed, f"series/{key}")
        for k in range(spec.n_slices):
            uids[f"{key}/{k}"] = _uid(seed, f"instance/{key}/{k}")
        volume, visible = _render_series(spec, seed, models)
        window = _window(volume, spec.window_percentile)
        series_dir = out_dir / key
        series_dir.mkdir(exist_ok=True)
        files[key] = []
        for k in range(spec.n_slices):
            ds = _slice_dataset(spec, k, volume[k], uids, window)
            buf = io.BytesIO()
            dcmwrite(buf, ds, enforce_file_format=True)
            data = buf.getvalue()
            path = series_dir / f"IM{k + 1:04d}.dcm"
            path.write_bytes(data)
            files[key].append(path)
            hashes[f"{key}/{path.name}"] = hashlib.sha256(data).hexdigest()
            z = spec.z0 + k * spec.slice_step
            for model, mask in visible[k]:
                rows = np.flatnonzero(mask.any(axis=1))
                cols = np.flatnonzero(mask.any(axis=0))
                rr, cc = np.nonzero(mask)
                lesions.append(DemoLesion(
                    kind=model.kind, series_key=key, slice_index=k,
                    sop_instance_uid=uids[f"{key}/{k}"],
                    bbox=(int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1),
                    centre_mm=(round(spec.x0 + float(cc.mean()) * spec.spacing, 3),
                               round(spec.y0 + float(rr.mean()) * spec.spacing, 3), round(z, 3)),
                    name=model.name))
    study = DemoStudy(
        root=out_dir, patient_name=PATIENT_NAME, patient_id=PATIENT_ID,
        study_instance_uid=uids["study"], frame_of_reference_uid=uids["frame"],
        series_files=files, series_uids={k: uids[f"series/{k}"] for k in SERIES_KEYS},
        lesions=tuple(lesions))
    _write_manifest(study, seed, hashes)
    return study


def _write_manifest(study: DemoStudy, seed: int, hashes: dict[str, str]) -> None:
    doc = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "patient_name": study.patient_name,
        "patient_id": study.patient_id,
        "study_instance_uid": study.study_instance_uid,
        "frame_of_reference_uid": study.frame_of_reference_uid,
        "series_uids": study.series_uids,
        "series_files": {k: [f"{k}/{p.name}" for p in v] for k, v in study.series_files.items()},
        "sha256": hashes,
        "lesions": [
            {"kind": les.kind, "series_key": les.series_key, "slice_index": les.slice_index,
             "sop_instance_uid": les.sop_instance_uid, "bbox": list(les.bbox),
             "centre_mm": list(les.centre_mm), "name": les.name}
            for les in study.lesions],
    }
    tmp = study.root / (MANIFEST_NAME + ".part")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, study.root / MANIFEST_NAME)


def _load_complete(root: Path, seed: int) -> Optional[DemoStudy]:
    """Return the study in ``root`` if it is complete and intact for ``seed``, else None."""
    try:
        doc = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
        if doc.get("generator_version") != GENERATOR_VERSION or doc.get("seed") != seed:
            return None
        hashes: dict[str, str] = doc["sha256"]
        series_files = {k: [root / rel for rel in v] for k, v in doc["series_files"].items()}
        listed = {f"{k}/{p.name}" for k, v in series_files.items() for p in v}
        if set(series_files) != set(SERIES_KEYS) or listed != set(hashes):
            return None
        for rel, digest in hashes.items():
            if hashlib.sha256((root / rel).read_bytes()).hexdigest() != digest:
                return None
        lesions = tuple(
            DemoLesion(kind=d["kind"], series_key=d["series_key"], slice_index=int(d["slice_index"]),
                       sop_instance_uid=d["sop_instance_uid"],
                       bbox=tuple(int(v) for v in d["bbox"]),  # type: ignore[arg-type]
                       centre_mm=tuple(float(v) for v in d["centre_mm"]),  # type: ignore[arg-type]
                       name=d.get("name", ""))
            for d in doc["lesions"])
        return DemoStudy(root=root, patient_name=doc["patient_name"], patient_id=doc["patient_id"],
                         study_instance_uid=doc["study_instance_uid"],
                         frame_of_reference_uid=doc["frame_of_reference_uid"],
                         series_files=series_files, series_uids=dict(doc["series_uids"]),
                         lesions=lesions)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("npc-desktop"))


def _remove_tree(path: Path, parent: Path, name: str) -> None:
    """Move ``path`` aside (atomic) and delete it; tolerate it vanishing concurrently."""
    trash = Path(tempfile.mkdtemp(prefix=f".{name}.stale-", dir=parent))
    try:
        os.replace(path, trash / "old")
    except FileNotFoundError:
        pass
    shutil.rmtree(trash, ignore_errors=True)


def ensure_demo_study(cache_dir: Optional[Path] = None) -> DemoStudy:
    """Return the default demo study, writing it into the cache the first time.

    The study lives in ``<cache>/demo-<GENERATOR_VERSION>-<DEMO_SEED>``, where ``<cache>`` is
    ``cache_dir`` or ``platformdirs.user_cache_dir("npc-desktop")``. A complete copy (manifest
    present, every file's SHA-256 matching) is reused; anything else there is rebuilt. The study is
    written into a temporary sibling folder and renamed into place, so an interrupted write is
    never mistaken for a complete study.

    Parameters
    ----------
    cache_dir
        Folder that holds the demo study folder; defaults to the user cache folder.

    Returns
    -------
    DemoStudy
        The study, with paths inside the cache.
    """
    parent = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    name = f"demo-{GENERATOR_VERSION}-{DEMO_SEED}"
    target = parent / name
    study = _load_complete(target, DEMO_SEED)
    if study is not None:
        return study
    parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale(parent, name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent))
    try:
        write_demo_study(tmp, seed=DEMO_SEED)
        if target.exists() or target.is_symlink():
            _remove_tree(target, parent, name)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process may have put a complete copy in place meanwhile.
            study = _load_complete(target, DEMO_SEED)
            if study is None:
                raise
            return study
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    study = _load_complete(target, DEMO_SEED)
    if study is None:  # pragma: no cover - only if the disk lies to us
        raise OSError(f"{target}: demo study was written but cannot be read back")
    return study


def _sweep_stale(parent: Path, name: str, max_age_s: float = 3600.0) -> None:
    """Delete temporary folders of interrupted earlier writes (older than ``max_age_s``)."""
    now = time.time()
    for entry in parent.glob(f".{name}.*-*"):
        try:
            if entry.is_dir() and now - entry.stat().st_mtime > max_age_s:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass


"""The demo's synthetic anatomy, drawn in patient millimetres and rendered on each series' grid.

The head/neck outline, skin and fat, muscles, airway, vertebra and spinal canal, mandible, vessels
and glands are ellipses that change with height, resampled on each series' grid, textured,
smoothed, given a gentle coil bias and Rician noise. A lobulated nasopharyngeal tumour with
parapharyngeal extension and three lymph nodes (one necrotic) are drawn the same way; their
per-slice pixel bounding boxes are returned as ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

_FULL_SCALE = 3600.0  # intensity of tissue value 1.0
_MAX_VALUE = 4095  # BitsStored 12
_MIN_LESION_AREA_MM2 = 12.0  # smaller cross-sections are not drawn (nor reported)


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

"""Writing the demo study as standard-conformant DICOM MR files, byte-identical for a seed.

UIDs are name-based ``2.25`` UUIDs of the seed; dates and times are fixed. A manifest with the
files' hashes is written last, so its presence marks a complete study.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import uuid
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from npc_desktop.core.demo.anatomy import _FULL_SCALE, _MAX_VALUE, _SPECS, _lesion_models, _render_series, _SeriesSpec
from npc_desktop.core.demo.study import (
    DEMO_SEED,
    GENERATOR_VERSION,
    MANIFEST_NAME,
    PATIENT_ID,
    PATIENT_NAME,
    SERIES_KEYS,
    DemoLesion,
    DemoStudy,
)

_FILE_RE = re.compile(r"IM\d{4}\.dcm")
_UID_NAMESPACE = uuid.UUID("6f1c3e0a-5b7d-4d0e-9a61-2c8e4f7b9d35")
_IMPLEMENTATION_UID = "2.25." + str(uuid.uuid5(_UID_NAMESPACE, "npc-desktop/implementation").int)


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

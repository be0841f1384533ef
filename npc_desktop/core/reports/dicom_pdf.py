"""The report as a DICOM Encapsulated PDF, so it can be sent back to PACS with the study.

The object joins the patient's study (same Study Instance UID, patient and study attributes) in
a new series of modality DOC, and lists the MR images it was derived from in the Source Instance
Sequence. It carries the identified report: the de-identified variant is for research, not PACS.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence, Union

from npc_desktop.core.fileio import write_bytes_atomically
from npc_desktop.core.reports.content import PatientDetails

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
PDF_MIME = "application/pdf"


class EncapsulatedPdfError(ValueError):
    """The PDF or the DICOM file is not usable; the message names the file."""


@dataclass(frozen=True)
class SourceImage:
    """An image the report was derived from."""

    sop_class_uid: str
    sop_instance_uid: str


def _person_name(value: str) -> str:
    return value.strip()


def encapsulate_pdf(
    pdf: Union[str, os.PathLike, bytes],
    output: Union[str, os.PathLike],
    *,
    patient: PatientDetails,
    title: str = "MR staging support report",
    source_images: Sequence[SourceImage] = (),
    series_number: int = 9901,
    instance_number: int = 1,
    created: datetime | None = None,
) -> Path:
    """Write a DICOM Encapsulated PDF Storage object holding ``pdf``.

    Parameters
    ----------
    pdf
        The PDF file, or its bytes.
    output
        The DICOM file to write (written under a temporary name, then renamed).
    patient
        Patient and study attributes; the Study Instance UID must be set so the report joins the
        study it describes.
    title
        Document Title (0042,0010).
    source_images
        The images the report was derived from (Source Instance Sequence).
    series_number, instance_number
        Numbers of the new DOC series and of this instance in it.
    created
        Content date and time; now when None.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    EncapsulatedPdfError
        When the input is not a PDF or the Study Instance UID is missing.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    from npc_desktop import __version__

    data = bytes(pdf) if isinstance(pdf, (bytes, bytearray)) else Path(pdf).read_bytes()
    name = "the PDF" if isinstance(pdf, (bytes, bytearray)) else str(pdf)
    if not data.startswith(b"%PDF-"):
        raise EncapsulatedPdfError(f"{name}: not a PDF file (no %PDF- header)")
    if not patient.study_instance_uid:
        raise EncapsulatedPdfError("study instance UID: needed so the report joins its study in PACS")
    when = (created or datetime.now().astimezone())

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceCreationDate = when.strftime("%Y%m%d")
    ds.InstanceCreationTime = when.strftime("%H%M%S")
    # Patient
    ds.PatientName = _person_name(patient.name)
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex if patient.sex in ("M", "F", "O") else ""
    # General Study
    ds.StudyInstanceUID = patient.study_instance_uid
    ds.StudyDate = patient.study_date
    ds.StudyTime = patient.study_time
    ds.ReferringPhysicianName = _person_name(patient.referring_physician)
    ds.StudyID = patient.study_id
    ds.AccessionNumber = patient.accession_number
    if patient.study_description:
        ds.StudyDescription = patient.study_description
    # Encapsulated Document Series
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = series_number
    ds.SeriesDescription = title
    # General Equipment and SC Equipment
    ds.Manufacturer = "NPC Desktop"
    ds.SoftwareVersions = __version__
    ds.ConversionType = "WSD"
    # Encapsulated Document
    ds.InstanceNumber = instance_number
    ds.ContentDate = when.strftime("%Y%m%d")
    ds.ContentTime = when.strftime("%H%M%S")
    ds.AcquisitionDateTime = when.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"
    ds.RecognizableVisualFeatures = "NO"
    ds.DocumentTitle = title
    concept = Dataset()
    concept.CodeValue = "18748-4"
    concept.CodingSchemeDesignator = "LN"
    concept.CodeMeaning = "Diagnostic imaging study"
    ds.ConceptNameCodeSequence = [concept]
    if source_images:
        items = []
        for image in source_images:
            item = Dataset()
            item.ReferencedSOPClassUID = image.sop_class_uid
            item.ReferencedSOPInstanceUID = image.sop_instance_uid
            items.append(item)
        ds.SourceInstanceSequence = items
    ds.MIMETypeOfEncapsulatedDocument = PDF_MIME
    ds.EncapsulatedDocumentLength = len(data)
    ds.EncapsulatedDocument = data + (b"\0" if len(data) % 2 else b"")

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta

    target = Path(output)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    try:
        return write_bytes_atomically(target, buffer.getvalue())
    except OSError as exc:
        raise EncapsulatedPdfError(f"{target}: cannot write ({exc.strerror or exc})") from exc


def read_encapsulated_pdf(path: Union[str, os.PathLike]) -> bytes:
    """The PDF bytes of an Encapsulated PDF Storage file, without the DICOM padding.

    Raises
    ------
    EncapsulatedPdfError
        When the file is not an Encapsulated PDF object.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, OSError) as exc:
        raise EncapsulatedPdfError(f"{path}: not a readable DICOM file ({exc})") from exc
    if ds.get("SOPClassUID") != ENCAPSULATED_PDF_STORAGE or "EncapsulatedDocument" not in ds:
        raise EncapsulatedPdfError(f"{path}: not a DICOM Encapsulated PDF object")
    data = bytes(ds.EncapsulatedDocument)
    length = ds.get("EncapsulatedDocumentLength")
    return data[: int(length)] if length else data.rstrip(b"\0")

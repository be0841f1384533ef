"""Receiving instances over DIMSE (C-GET sub-operations, C-MOVE and pushes) into the study store."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from pydicom.uid import UID
from pynetdicom import build_role, sop_class
from pynetdicom.presentation import build_context

from npc_desktop.core.network.store import StoreTransaction, StudyStore

log = logging.getLogger(__name__)

NATIVE_SYNTAXES = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")  # explicit, implicit VR little endian
COMPRESSED_SYNTAXES = (
    "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2",
)
# Image classes get one context per transfer syntax, so the PACS sends files as stored (no transcoding).
IMAGE_CLASSES = (
    "MRImageStorage", "EnhancedMRImageStorage", "CTImageStorage", "EnhancedCTImageStorage",
    "LegacyConvertedEnhancedMRImageStorage", "SecondaryCaptureImageStorage", "PositronEmissionTomographyImageStorage",
)
OTHER_CLASSES = (
    "BasicTextSRStorage", "EnhancedSRStorage", "ComprehensiveSRStorage", "Comprehensive3DSRStorage",
    "EncapsulatedPDFStorage", "KeyObjectSelectionDocumentStorage", "GrayscaleSoftcopyPresentationStateStorage",
    "SegmentationStorage", "ParametricMapStorage", "RTStructureSetStorage", "RTDoseStorage", "RTPlanStorage",
    "RTImageStorage", "SpatialRegistrationStorage", "RawDataStorage", "MRSpectroscopyStorage",
    "EnhancedPETImageStorage", "NuclearMedicineImageStorage", "ComputedRadiographyImageStorage",
    "DigitalXRayImageStorageForPresentation", "DigitalMammographyXRayImageStorageForPresentation",
    "UltrasoundImageStorage", "UltrasoundMultiFrameImageStorage", "XRayAngiographicImageStorage",
    "VLPhotographicImageStorage", "MultiFrameGrayscaleByteSecondaryCaptureImageStorage",
    "MultiFrameGrayscaleWordSecondaryCaptureImageStorage", "MultiFrameTrueColorSecondaryCaptureImageStorage",
)
NON_IMAGE_CLASSES = frozenset(str(getattr(sop_class, name)) for name in (
    "BasicTextSRStorage", "EnhancedSRStorage", "ComprehensiveSRStorage", "Comprehensive3DSRStorage",
    "EncapsulatedPDFStorage", "KeyObjectSelectionDocumentStorage", "GrayscaleSoftcopyPresentationStateStorage",
    "RTStructureSetStorage", "RTPlanStorage", "SpatialRegistrationStorage", "RawDataStorage", "MRSpectroscopyStorage",
))

STATUS_SUCCESS = 0x0000
STATUS_CANNOT_UNDERSTAND = 0xC210
STATUS_OUT_OF_RESOURCES = 0xA700


def storage_classes() -> list[UID]:
    """The storage SOP classes we accept, images first."""
    return [getattr(sop_class, name) for name in IMAGE_CLASSES + OTHER_CLASSES]


def get_storage_contexts() -> tuple[list, list]:
    """Requested storage contexts and SCP role items for a C-GET (within the 128-context limit).

    Returns
    -------
    tuple
        (presentation contexts, role selection items)
    """
    contexts = []
    for name in IMAGE_CLASSES:
        uid = getattr(sop_class, name)
        contexts.extend(build_context(uid, [syntax]) for syntax in NATIVE_SYNTAXES)
        contexts.append(build_context(uid, list(COMPRESSED_SYNTAXES)))
    for name in OTHER_CLASSES:
        contexts.append(build_context(getattr(sop_class, name), list(NATIVE_SYNTAXES + COMPRESSED_SYNTAXES)))
    roles = [build_role(uid, scp_role=True) for uid in storage_classes()]
    return contexts, roles


def describe_class(uid: str) -> str:
    """A SOP class UID's name, for messages."""
    return UID(uid).name if UID(uid).is_valid else uid


@dataclass
class ReceiveLog:
    """What a transfer received: stored files, skipped duplicates and problems, by message."""

    transaction: StoreTransaction
    received: int = 0
    non_image: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def stored(self) -> list[Path]:
        """The files written by this transfer."""
        return list(self.transaction.written)

    @property
    def skipped(self) -> int:
        """Instances already in the store."""
        return self.transaction.skipped


def make_store_handler(store: StudyStore, receive_log: ReceiveLog, *,
                       on_instance: Optional[Callable[[int], None]] = None,
                       cancel=None) -> Callable:
    """A pynetdicom EVT_C_STORE handler that writes each instance atomically into ``store``.

    Parameters
    ----------
    store
        The study store.
    receive_log
        Collects stored files, skips and problems.
    on_instance
        Called with the count of instances received so far (per-image progress).
    cancel
        A cancel token; once set, further instances are refused.
    """

    def handle_store(event) -> int:
        if cancel is not None and cancel.is_set():
            return STATUS_OUT_OF_RESOURCES
        sop_uid = str(event.request.AffectedSOPInstanceUID)
        try:
            dataset = event.dataset
            study_uid = str(dataset.StudyInstanceUID)
            class_uid = str(event.request.AffectedSOPClassUID)
            encoded = event.encoded_dataset(include_meta=True)
            path = store.write(study_uid, sop_uid, encoded, receive_log.transaction)
        except OSError as exc:
            with receive_log.lock:
                receive_log.problems.append(f"instance {sop_uid}: cannot write it to the store ({exc.strerror})")
            return STATUS_OUT_OF_RESOURCES
        except Exception as exc:  # a malformed data set must never end the transfer
            with receive_log.lock:
                receive_log.problems.append(f"instance {sop_uid}: skipped, it cannot be read ({exc})")
            return STATUS_CANNOT_UNDERSTAND
        with receive_log.lock:
            receive_log.received += 1
            count = receive_log.received
            if path is not None and class_uid in NON_IMAGE_CLASSES:
                receive_log.non_image.append(describe_class(class_uid))
        if on_instance is not None:
            on_instance(count)
        return STATUS_SUCCESS

    return handle_store

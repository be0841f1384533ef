"""WADO-RS retrieve that stores each instance exactly as the server sent it (no decode and re-encode).

The request goes through the node's DICOMweb session (TLS, timeouts); the multipart/related answer
is split as it streams in, so memory holds about one instance at a time.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Optional

import pydicom
import requests

from npc_desktop.core.network.dicomweb import qido_find, web_error, web_session
from npc_desktop.core.network.errors import PacsError
from npc_desktop.core.network.nodes import PacsNode
from npc_desktop.core.network.query import FindQuery
from npc_desktop.core.network.retrieve import RetrieveReport
from npc_desktop.core.network.storage import NON_IMAGE_CLASSES, describe_class
from npc_desktop.core.network.store import StudyStore
from npc_desktop.core.progress import CancelToken, OperationCancelled, ProgressCallback

log = logging.getLogger(__name__)

ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
CHUNK_BYTES = 1 << 20
WRITERS = 4
IN_FLIGHT = 16


def _boundary(content_type: str) -> Optional[bytes]:
    media_type, *params = [part.strip() for part in content_type.split(";")]
    if media_type.lower() != "multipart/related":
        return None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"').encode("ascii")
    return None


def iter_parts(response: requests.Response) -> Iterator[bytes]:
    """The bodies of a streamed multipart/related response (the whole body when it is not multipart)."""
    boundary = _boundary(response.headers.get("Content-Type", ""))
    if boundary is None:
        yield response.content
        return
    delimiter = b"\r\n--" + boundary
    buffer = bytearray(b"\r\n")  # so that the first boundary matches the delimiter as well
    start = -1  # where the current part's delimiter begins
    search_from = 0
    for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
        buffer += chunk
        while True:
            found = buffer.find(delimiter, search_from)
            if found < 0:
                search_from = max(0, len(buffer) - len(delimiter) + 1)
                break
            if start >= 0:
                header_end = buffer.find(b"\r\n\r\n", start + len(delimiter), found)
                if header_end >= 0:
                    with memoryview(buffer) as view:  # one copy of the body, released before the buffer shrinks
                        body = bytes(view[header_end + 4:found])
                    yield body
            del buffer[:found]
            start, search_from = 0, len(delimiter)


def _url(node: PacsNode, study_uid: str, series_uid: str) -> str:
    url = f"{node.url}/studies/{study_uid}"
    return url + f"/series/{series_uid}" if series_uid else url


def _expected_images(node: PacsNode, study_uid: str, series_uid: str) -> int:
    try:
        series = [s for s in qido_find(node, FindQuery(level="series", study_uid=study_uid))
                  if not series_uid or s.series_uid == series_uid]
    except PacsError:
        return 0
    return sum(s.image_count or 0 for s in series)


def wado_retrieve(node: PacsNode, store: StudyStore, study_uid: str, series_uid: str = "", *,
                  progress: Optional[ProgressCallback] = None,
                  cancel: Optional[CancelToken] = None) -> RetrieveReport:
    """WADO-RS retrieve of a study or series into ``store`` with per-image progress.

    Cancel, a timeout or a failure removes what this transfer stored and raises
    (:class:`OperationCancelled` or a :class:`PacsError`).
    """
    session = web_session(node)
    total = _expected_images(node, study_uid, series_uid) if progress is not None else 0
    report = RetrieveReport(study_uid=study_uid, folder=store.study_dir(study_uid), method="WADO-RS")
    with store.transaction() as transaction, ThreadPoolExecutor(WRITERS, "wado-store") as writers:
        pending: deque = deque()
        stored = [0]

        def store_one(body: bytes) -> None:
            _store_part(body, study_uid, store, transaction, report)
            if progress is not None:
                with lock:
                    stored[0] += 1
                    progress(stored[0], max(total, stored[0]))

        lock = threading.Lock()
        try:
            response = session.get(_url(node, study_uid, series_uid), headers={"Accept": ACCEPT},
                                           stream=True, timeout=(node.timeouts.connect, node.timeouts.dimse))
            response.raise_for_status()
            with response:
                # Disk writes overlap with the download; at most IN_FLIGHT instances wait in memory.
                for body in iter_parts(response):
                    if cancel is not None and cancel.is_set():
                        raise OperationCancelled("WADO-RS retrieve cancelled")
                    while len(pending) >= IN_FLIGHT:
                        pending.popleft().result()
                    pending.append(writers.submit(store_one, body))
            while pending:
                pending.popleft().result()
        except requests.exceptions.RequestException as exc:
            raise web_error(node, exc, "WADO-RS retrieve") from exc
        finally:
            for future in pending:  # let every started write finish before a rollback removes its file
                future.cancel() or future.exception()
        report.stored = list(transaction.written)
        report.skipped = transaction.skipped
    log.info("WADO-RS: %s", report.summary().replace(str(report.folder), "the store"))
    return report


_LONG_LENGTH_VRS = (b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV")


def meta_uids(body: bytes) -> tuple[str, str]:
    """(MediaStorageSOPInstanceUID, MediaStorageSOPClassUID) from a Part 10 file's meta group.

    The meta group is always explicit VR little endian; reading just it spares parsing the data set.
    Falls back to pydicom when the file has no preamble or the UIDs are not in the meta group.
    """
    found: dict[int, str] = {}
    if body[128:132] == b"DICM":
        offset = 132
        while offset + 8 <= len(body) and body[offset:offset + 2] == b"\x02\x00":
            element = int.from_bytes(body[offset + 2:offset + 4], "little")
            vr = body[offset + 4:offset + 6]
            if vr in _LONG_LENGTH_VRS:
                length, offset = int.from_bytes(body[offset + 8:offset + 12], "little"), offset + 12
            else:
                length, offset = int.from_bytes(body[offset + 6:offset + 8], "little"), offset + 8
            if element in (0x0002, 0x0003):
                found[element] = body[offset:offset + length].rstrip(b"\x00 ").decode("ascii")
            offset += length
    if 0x0003 not in found or 0x0002 not in found:
        header = pydicom.dcmread(io.BytesIO(body), stop_before_pixels=True,
                                 specific_tags=["SOPInstanceUID", "SOPClassUID"])
        return str(header.SOPInstanceUID), str(header.SOPClassUID)
    return found[0x0003], found[0x0002]


def _store_part(body: bytes, study_uid: str, store: StudyStore, transaction, report: RetrieveReport) -> None:
    # Only the two UIDs are read; the study is the one asked for.
    try:
        sop_uid, class_uid = meta_uids(body)
        path = store.write(study_uid, sop_uid, body, transaction)
    except (ValueError, AttributeError, TypeError, EOFError, pydicom.errors.InvalidDicomError) as exc:
        report.problems.append(f"an instance was skipped, it cannot be read ({str(exc).splitlines()[0]})")
        return
    if path is not None and class_uid in NON_IMAGE_CLASSES:
        report.non_image.append(describe_class(class_uid))

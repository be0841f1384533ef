"""The streamed multipart/related splitter behind WADO-RS, with parts and boundaries across chunk edges."""

from __future__ import annotations

import pytest

from npc_desktop.core.network.wado import iter_parts


class _Response:
    def __init__(self, body: bytes, chunk: int, content_type: str) -> None:
        self.headers = {"Content-Type": content_type}
        self.content = body
        self._chunk = chunk

    def iter_content(self, chunk_size: int):
        for start in range(0, len(self.content), self._chunk):
            yield self.content[start:start + self._chunk]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 10_000])
def test_parts_survive_any_chunking(chunk):
    parts = [b"first\r\n--not-the-boundary", b"", b"third part \x00\x01\r\n\r\nwith blank lines"]
    body = b"preamble\r\n" + b"".join(
        b"--BOUND\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in parts) + b"--BOUND--\r\n"
    response = _Response(body, chunk, 'multipart/related; type="application/dicom"; boundary="BOUND"')
    assert list(iter_parts(response)) == parts


def test_a_single_part_body_is_returned_whole():
    assert list(iter_parts(_Response(b"DICM...", 2, "application/dicom"))) == [b"DICM..."]


def test_meta_uids_read_the_file_meta_like_pydicom(dicom_dir):
    import pydicom

    from npc_desktop.core.network.wado import meta_uids

    for path in (dicom_dir / "mr-head-t1c-tcia-vs-seg-001" / "1-001.dcm",
                 dicom_dir / "cornerstonejs__cornerstoneWADOImageLoader/testImages/no-pixel-data.dcm"):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert meta_uids(path.read_bytes()) == (str(ds.SOPInstanceUID), str(ds.SOPClassUID))

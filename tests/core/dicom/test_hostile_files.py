"""Files that once crashed a decoder: a fallback decoder, typed errors, and a pool that survives crashes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import get_decoder
from pydicom.uid import RLELossless

from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.dicom import PixelDataError, decode_pool, load_path
from npc_desktop.core.dicom.decode_pool import DecodePool, WorkerCrashed, WorkerTimedOut
from npc_desktop.core.dicom.decoders import read_and_decode

FUZZ_DIR = Path(__file__).resolve().parents[2] / "data" / "fuzz"
FALLBACK = FUZZ_DIR / "rle_panic_fallback.dcm"
UNDECODABLE = FUZZ_DIR / "rle_panic_undecodable.dcm"


@pytest.fixture(params=["pool", "in-process"])
def decode_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with decoding in the worker pool and again in the calling process."""
    monkeypatch.setenv(decode_pool.IN_PROCESS_ENV, "1" if request.param == "in-process" else "0")
    return request.param


def _panics_in_pylibjpeg(path: Path) -> str:
    ds = pydicom.dcmread(path)
    try:
        get_decoder(RLELossless).as_array(ds, decoding_plugin="pylibjpeg")
    except BaseException as exc:  # noqa: BLE001 - the point: a PanicException is no Exception
        assert not isinstance(exc, Exception)
        return type(exc).__name__
    raise AssertionError(f"{path.name} no longer makes pylibjpeg panic")


def test_a_panicking_decoder_falls_back_to_pydicoms_rle(decode_mode: str) -> None:
    assert _panics_in_pylibjpeg(FALLBACK) == "PanicException"
    _, volume = load_path(FALLBACK)
    assert volume.decoders == {"pydicom": 1}
    assert any("decoded by pydicom after pylibjpeg: PanicException" in w for w in volume.warnings)
    oracle, _ = get_decoder(RLELossless).as_array(pydicom.dcmread(FALLBACK), decoding_plugin="pydicom")
    np.testing.assert_array_equal(volume.voxels[0], oracle)


def test_no_decoder_left_is_a_typed_error_naming_file_and_syntax(decode_mode: str) -> None:
    assert _panics_in_pylibjpeg(UNDECODABLE) == "PanicException"
    with pytest.raises(PixelDataError) as caught:
        load_path(UNDECODABLE)
    message = str(caught.value)
    assert str(UNDECODABLE) in message and "RLE Lossless (1.2.840.10008.1.2.5)" in message
    assert "pylibjpeg: PanicException" in message and "pydicom:" in message
    assert "\n" not in message


@pytest.mark.realdata
def test_an_intact_file_is_decoded_by_the_first_decoder(pydicom_test_files: Path, decode_mode: str) -> None:
    _, volume = load_path(pydicom_test_files / "MR_small_RLE.dcm")
    assert volume.decoders == {"pylibjpeg": 1} and not volume.skipped
    _, native = load_path(pydicom_test_files / "MR_small.dcm")
    assert native.decoders == {"native": 1}
    np.testing.assert_array_equal(volume.voxels, native.voxels)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_interrupts_still_propagate(monkeypatch: pytest.MonkeyPatch, stop: type[BaseException]) -> None:
    decoder = get_decoder(RLELossless)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise stop()

    monkeypatch.setattr(type(decoder), "as_array", interrupted)
    with pytest.raises(stop):
        read_and_decode(str(FALLBACK), None, FALLBACK.name)


def test_any_base_exception_of_a_decoder_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    decoder = get_decoder(RLELossless)
    original = type(decoder).as_array

    class NativeBlowUp(BaseException):
        pass

    def first_plugin_blows_up(self: object, src: object, **kwargs: object) -> object:
        if kwargs.get("decoding_plugin") == "pylibjpeg":
            raise NativeBlowUp("bad segment")
        return original(self, src, **kwargs)

    monkeypatch.setattr(type(decoder), "as_array", first_plugin_blows_up)
    decoded = read_and_decode(str(FALLBACK), None, FALLBACK.name)
    assert decoded.decoder == "pydicom" and decoded.failures == ("pylibjpeg: NativeBlowUp: bad segment",)


def _segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _abort() -> None:
    os.abort()


def test_the_pool_survives_workers_that_crash() -> None:
    pool = DecodePool(workers=2, timeout_s=60)
    try:
        assert pool.call(os.getpid) != os.getpid()
        with pytest.raises(WorkerCrashed, match="SIGSEGV"):
            pool.call(_segfault)
        with pytest.raises(WorkerCrashed, match="SIGABRT"):
            pool.call(_abort)
        assert pool.restarts == 2
        assert pool.call(os.getpid) != os.getpid()  # the next call gets a fresh worker
    finally:
        pool.shutdown()


def test_a_decode_that_hangs_is_stopped() -> None:
    pool = DecodePool(workers=1, timeout_s=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(WorkerTimedOut, match="longer than 1 s"):
            pool.call(time.sleep, 30)
        assert time.monotonic() - started < 15
        assert pool.call(os.getpid) != os.getpid()
    finally:
        pool.shutdown()


def test_a_file_with_a_corrupt_uid_loads_but_refuses_rois() -> None:
    _, volume = load_path(FUZZ_DIR / "bad_sop_uid.dcm")
    assert volume.shape == (1, 64, 64)
    sop = volume.slices[0].sop_instance_uid
    assert "\x7f" in sop
    with pytest.raises(AnnotationError, match="sop_instance_uid"):
        RectRoi(study_instance_uid=volume.meta.study_instance_uid,
                series_instance_uid=volume.meta.series_instance_uid,
                sop_instance_uid=sop, row0=10, col0=10, row1=20, col1=20)

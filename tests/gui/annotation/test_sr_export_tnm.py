"""File > Export Annotations > DICOM SR: the job writes the study's measurements and, with a saved
TNM form, its TNM categories and stage group (node series loaded from disk for the cricoid rule)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.core.dicom import index_path, load_series
from npc_desktop.core.interop.sr import annotated_images, read_sr, source_headers_for
from npc_desktop.core.interop.sr_tnm import SrTnm
from npc_desktop.gui.annotation import annotation_io
from tests.tnm_study import tnm_annotations

pytestmark = pytest.mark.gui


def test_sr_export_job_carries_the_tnm_stage(tmp_path: Path, demo_study) -> None:
    index = index_path(demo_study.root)
    volumes = {uid: load_series(index.find_series(uid)) for uid in demo_study.series_uids.values()}
    annotations = tnm_annotations(demo_study, volumes)
    path = tmp_path / "study.dcm"
    message = annotation_io.export_job(annotation_io.ExportFormat.SR, annotations, index, {}, path,
                                       patient="p1", margin=ContextMargin(), progress=lambda *_: None,
                                       cancel=threading.Event())
    assert str(path) in message
    back = read_sr(path, source_headers_for(index, annotated_images(annotations)))
    assert back.tnm == SrTnm(t="T3", n="N3", m="M0", stage="IVA", edition=8)
    assert len(back.measurements.rulers) == 1 and back.measurements.cricoid_level is not None

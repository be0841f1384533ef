"""The background job behind File > Export Patch Dataset: the open study's ROIs as a
de-identified patch dataset (:func:`npc_desktop.core.research.export.export_dataset`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.core.progress import ProgressCallback
from npc_desktop.gui.workers import JobError


@dataclass(frozen=True)
class DatasetRequest:
    """What the dataset dialog asked for.

    Attributes
    ----------
    out_dir
        A new or empty folder.
    margin
        Context margin around each ROI.
    train_fraction
        Share of each stage's patients in the training set.
    seed
        Seed of the split (pseudonyms are random and not reproducible from it).
    mapping_file
        Where to write the pseudonym -> patient mapping (outside the dataset), or None.
    """

    out_dir: Path
    margin: ContextMargin = ContextMargin()
    train_fraction: float = 0.8
    seed: int = 0
    mapping_file: Optional[Path] = None


def dataset_problem(annotations: Optional[AnnotationSet]) -> Optional[str]:
    """Why the open study cannot be exported as a patch dataset, or None."""
    from npc_desktop.core.annotation.labels import Stage

    if annotations is None:
        return "Open an annotated study first."
    if not annotations.rois:
        return "The open study has no ROIs: draw tumour or lymph-node ROIs first."
    if annotations.label.stage is Stage.UNKNOWN:
        return ("The open study has no stage label: set the patient's stage (III or IVa) in the "
                "Patient Label panel first; the dataset's folders are named by stage.")
    return None


def dataset_job(study_path: Path, annotations: AnnotationSet, request: DatasetRequest,
                progress: ProgressCallback, cancel: threading.Event) -> Any:
    """Export the open study's ROIs as a de-identified patch dataset (``ExportResult``).

    Raises
    ------
    JobError
        With the core's one-line message (output folder not empty, mapping inside the dataset...).
    """
    from npc_desktop.core.research.export import export_dataset
    from npc_desktop.core.research.export_sources import ExportError, ExportOptions, StudySource
    from npc_desktop.core.research.splits import SplitError

    options = ExportOptions(margin=request.margin, train_fraction=request.train_fraction, seed=request.seed,
                            mapping_file=request.mapping_file)
    try:
        return export_dataset([StudySource(Path(study_path), annotations)], request.out_dir, options=options,
                              progress=progress, cancel=cancel)
    except (ExportError, SplitError, ValueError, OSError) as exc:
        raise JobError(str(exc).strip().splitlines()[0]) from None

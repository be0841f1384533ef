"""File > Export Patch Dataset…: the output folder and the export settings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.gui.export_form import ExportFormDialog, field_row
from npc_desktop.gui.research.dataset_export import DatasetRequest
from npc_desktop.gui.settings import AppSettings


class DatasetDialog(ExportFormDialog):
    """Collects a :class:`~npc_desktop.gui.research.dataset_export.DatasetRequest` for the open study.

    Parameters
    ----------
    settings
        Remembers the folder, split and seed.
    margin
        The context margin to start from (the patch preview's).
    summary
        One line saying what is exported.
    """

    def __init__(self, settings: AppSettings, margin: ContextMargin, summary: str,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__("dataset", "Export Patch Dataset", summary + "\nDe-identified: pseudonymous patient IDs, "
                         "no names, IDs, dates or UIDs.", parent)
        self.settings = settings
        folder = Path(settings.text("dataset/folder") or settings.last_folder)
        self.out_edit = QLineEdit(str(folder / "npc-patches"), self)
        self.out_edit.setObjectName("datasetFolder")
        self.out_edit.setToolTip("A new or empty folder")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self.margin_fraction = QDoubleSpinBox(self)
        self.margin_fraction.setObjectName("datasetMarginFraction")
        self.margin_fraction.setRange(0.0, 3.0)
        self.margin_fraction.setSingleStep(0.05)
        self.margin_fraction.setValue(margin.fraction)
        self.margin_fraction.setSuffix(" × ROI size")
        self.margin_mm = QDoubleSpinBox(self)
        self.margin_mm.setObjectName("datasetMarginMm")
        self.margin_mm.setRange(0.0, 100.0)
        self.margin_mm.setValue(margin.mm)
        self.margin_mm.setSuffix(" mm")
        self.train_fraction = QDoubleSpinBox(self)
        self.train_fraction.setObjectName("datasetTrainFraction")
        self.train_fraction.setRange(0.05, 1.0)
        self.train_fraction.setSingleStep(0.05)
        self.train_fraction.setValue(settings.number("dataset/train_fraction", 0.8))
        self.train_fraction.setToolTip("Share of each stage's patients in the training set (0.8: 4:1). "
                                       "The split is by patient, never by patch.")
        self.seed = QSpinBox(self)
        self.seed.setObjectName("datasetSeed")
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(int(settings.number("dataset/seed", 0)))
        self.mapping = QCheckBox("Write the pseudonym → patient mapping (holds patient identity)", self)
        self.mapping.setObjectName("datasetMapping")
        self.mapping_edit = QLineEdit(self)
        self.mapping_edit.setObjectName("datasetMappingFile")
        self.mapping_edit.setToolTip("Kept outside the dataset folder")
        form = self.form
        form.addRow("Output folder:", field_row(self.out_edit, browse))
        form.addRow("Context margin:", field_row(self.margin_fraction, QLabel("+", self), self.margin_mm))
        form.addRow("Training share:", self.train_fraction)
        form.addRow("Seed:", self.seed)
        form.addRow("", self.mapping)
        form.addRow("Mapping file:", self.mapping_edit)
        self.mapping.toggled.connect(self._sync)
        self.out_edit.textChanged.connect(self._sync)
        self._sync()
        self.finish()

    def _default_mapping(self) -> str:
        out = Path(self.out_edit.text().strip() or "npc-patches").expanduser()
        if not out.name:  # while typing, the text can be a bare root or "~/"
            out = out / "npc-patches"
        return str(out.with_name(out.name + "-mapping.csv"))

    def _sync(self, *_: object) -> None:
        on = self.mapping.isChecked()
        self.mapping_edit.setEnabled(on)
        if not self.mapping_edit.isModified():
            self.mapping_edit.setText(self._default_mapping())

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset Folder (new or empty)", self.out_edit.text())
        if folder:
            self.out_edit.setText(folder)

    def problem(self) -> Optional[str]:
        """What is wrong with the entries (one line naming the field), or None."""
        text = self.out_edit.text().strip()
        if not text:
            return "Output folder: choose a new or empty folder."
        out = Path(text).expanduser()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            return f"Output folder: {out} exists and is not empty; choose a new folder."
        if not out.parent.is_dir():
            return f"Output folder: its parent {out.parent} does not exist."
        if self.mapping.isChecked() and not self.mapping_edit.text().strip():
            return "Mapping file: give a file name, or untick the mapping."
        return None

    def request(self) -> DatasetRequest:
        """The entries as a request (check :meth:`problem` first)."""
        mapping = Path(self.mapping_edit.text().strip()).expanduser() if self.mapping.isChecked() else None
        return DatasetRequest(
            out_dir=Path(self.out_edit.text().strip()).expanduser(),
            margin=ContextMargin(fraction=self.margin_fraction.value(), mm=self.margin_mm.value()),
            train_fraction=self.train_fraction.value(), seed=self.seed.value(), mapping_file=mapping,
        )

    def remember(self) -> None:
        """Keep the folder's parent, the split and the seed for the next export."""
        request = self.request()
        self.settings.set_value("dataset/folder", str(request.out_dir.parent))
        self.settings.set_value("dataset/train_fraction", request.train_fraction)
        self.settings.set_value("dataset/seed", request.seed)

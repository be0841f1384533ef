"""File > Export Report…: where to write the staged PDF report and how it looks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QLineEdit,
    QPushButton,
    QWidget,
)

from npc_desktop.gui.export_form import ExportFormDialog, field_row
from npc_desktop.gui.settings import AppSettings
from npc_desktop.gui.staging.report_export import PAGE_SIZES, ReportRequest


class ReportDialog(ExportFormDialog):
    """Collects a :class:`~npc_desktop.gui.staging.report_export.ReportRequest`; the header settings are remembered.

    Parameters
    ----------
    settings
        Where the institution, logo, page size and folder are remembered.
    summary
        One line saying what is reported (shown at the top).
    """

    def __init__(self, settings: AppSettings, summary: str, parent: Optional[QWidget] = None) -> None:
        super().__init__("report", "Export Staging Report", summary, parent)
        self.settings = settings
        folder = settings.report_folder
        name = f"staging-report-{datetime.now():%Y%m%d-%H%M}.pdf"
        self.path_edit = QLineEdit(str(Path(folder) / name), self)
        self.path_edit.setObjectName("reportPath")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self.page_size = QComboBox(self)
        self.page_size.setObjectName("reportPageSize")
        self.page_size.addItems(list(PAGE_SIZES))
        self.page_size.setCurrentText(settings.text("report/page_size", "A4"))
        self.institution = QLineEdit(settings.text("report/institution", "NPC Desktop"), self)
        self.institution.setObjectName("reportInstitution")
        self.department = QLineEdit(settings.text("report/department"), self)
        self.department.setObjectName("reportDepartment")
        self.logo = QLineEdit(settings.text("report/logo"), self)
        self.logo.setObjectName("reportLogo")
        self.logo.setPlaceholderText("PNG or JPEG (optional)")
        logo_browse = QPushButton("Browse…", self)
        logo_browse.clicked.connect(self._browse_logo)
        logo_clear = QPushButton("Clear", self)
        logo_clear.clicked.connect(self.logo.clear)
        self.deidentified = QCheckBox("De-identified variant (no name, ID, birth date, accession or UIDs)", self)
        self.deidentified.setObjectName("reportDeidentified")
        self.pseudonym = QLineEdit("ANONYMOUS", self)
        self.pseudonym.setObjectName("reportPseudonym")
        self.pseudonym.setToolTip("Shown in place of the patient's name and ID")
        self.dicom = QCheckBox("Also write a DICOM Encapsulated PDF (.dcm) for PACS", self)
        self.dicom.setObjectName("reportDicom")
        self.dicom.setChecked(settings.flag("report/dicom", False))
        form = self.form
        form.addRow("PDF file:", field_row(self.path_edit, browse))
        form.addRow("Page size:", self.page_size)
        form.addRow("Institution:", self.institution)
        form.addRow("Department:", self.department)
        form.addRow("Logo:", field_row(self.logo, logo_browse, logo_clear))
        form.addRow("", self.deidentified)
        form.addRow("Pseudonym:", self.pseudonym)
        form.addRow("", self.dicom)
        self.deidentified.toggled.connect(self._sync)
        self._sync()
        self.finish()

    def _sync(self, *_: object) -> None:
        deidentified = self.deidentified.isChecked()
        self.pseudonym.setEnabled(deidentified)
        # The PACS copy carries the patient's identity so that it files under the right study.
        self.dicom.setEnabled(not deidentified)
        self.dicom.setToolTip("Not for the de-identified variant: PACS files a report under the patient's identity"
                              if deidentified else "Written beside the PDF, with the same name and .dcm")

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save Report As", self.path_edit.text(), "PDF (*.pdf)")
        if path:
            self.path_edit.setText(path if path.lower().endswith(".pdf") else path + ".pdf")

    def _browse_logo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Institution Logo", self.logo.text() or self.settings.last_folder,
                                              "Images (*.png *.jpg *.jpeg)")
        if path:
            self.logo.setText(path)

    def problem(self) -> Optional[str]:
        """What is wrong with the entries (one line naming the field), or None."""
        text = self.path_edit.text().strip()
        if not text:
            return "PDF file: choose where to write the report."
        path = Path(text).expanduser()
        if not path.parent.is_dir():
            return f"PDF file: the folder {path.parent} does not exist."
        if path.is_dir():
            return f"PDF file: {path} is a folder; give a file name."
        if not self.institution.text().strip():
            return "Institution: must not be empty."
        logo = self.logo.text().strip()
        if logo and not Path(logo).expanduser().is_file():
            return f"Logo: {logo}: no such file."
        if self.deidentified.isChecked() and not self.pseudonym.text().strip():
            return "Pseudonym: must not be empty for the de-identified variant."
        return None

    def request(self) -> ReportRequest:
        """The entries as a request (check :meth:`problem` first)."""
        path = Path(self.path_edit.text().strip()).expanduser()
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        logo = self.logo.text().strip()
        deidentified = self.deidentified.isChecked()
        return ReportRequest(
            path=path, page_size=self.page_size.currentText(), institution=self.institution.text().strip(),
            department=self.department.text().strip(), logo=Path(logo).expanduser() if logo else None,
            pseudonym=self.pseudonym.text().strip() if deidentified else None,
            dicom=self.dicom.isChecked() and not deidentified,
        )

    def remember(self) -> None:
        """Keep the folder and the header settings for the next report."""
        request = self.request()
        st = self.settings
        st.report_folder = str(request.path.parent)
        st.set_value("report/page_size", request.page_size)
        st.set_value("report/institution", request.institution)
        st.set_value("report/department", request.department)
        st.set_value("report/logo", str(request.logo) if request.logo else "")
        st.set_value("report/dicom", self.dicom.isChecked())

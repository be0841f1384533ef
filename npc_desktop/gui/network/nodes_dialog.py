"""Settings > PACS Nodes: add, edit, test and remove the saved PACS nodes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from npc_desktop.core.network import (
    DEFAULT_OUR_AET,
    NodeConfigError,
    PacsNode,
    Timeouts,
    TlsSettings,
    load_nodes,
    save_nodes,
    verify_node,
)
from npc_desktop.core.network.nodes import check_ae_title
from npc_desktop.gui.network.listener_control import AET_KEY, PORT_KEY, listen_settings
from npc_desktop.gui.network.node_choice import pacs_job
from npc_desktop.gui.settings import AppSettings
from npc_desktop.gui.workers import JobRunner


class NodesDialog(QDialog):
    """Edit the saved PACS nodes; Save writes them to the node file in the user's config folder.

    Parameters
    ----------
    path
        The node file; the user's by default (tests pass a temporary one).
    settings
        Where the persistent listener's port and AE title are kept (the row is hidden without it).
    """

    def __init__(self, parent: Optional[QWidget] = None, path: Optional[Path] = None,
                 settings: Optional[AppSettings] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("pacsNodesDialog")
        self.setWindowTitle("PACS Nodes")
        self.path = path
        self.jobs = JobRunner(self, max_threads=1)
        self.problem = QLabel("", self)
        self.problem.setObjectName("problemLabel")
        self.problem.setWordWrap(True)
        try:
            self.nodes: list[PacsNode] = list(load_nodes(path).values())
        except NodeConfigError as exc:
            self.nodes = []
            self.problem.setText(f"{exc}. Saving replaces the file.")
        self._current = -1
        self._build()
        self._fill_list()
        self.resize(720, 460)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        left = QVBoxLayout()
        self.node_list = QListWidget(self)
        self.node_list.setObjectName("nodeList")
        self.node_list.setMinimumWidth(200)
        left.addWidget(self.node_list, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add", self)
        self.add_button.setObjectName("addButton")
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setObjectName("removeButton")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)
        row.addLayout(left, 1)
        self.form = QWidget(self)
        form = QFormLayout(self.form)
        self.edits: dict[str, QLineEdit] = {}
        for key, label, hint in (("name", "Name", "Hospital PACS"), ("ae_title", "PACS AE title", "ORTHANC"),
                                 ("host", "Host", "pacs.hospital.org"), ("url", "DICOMweb URL",
                                                                         "https://…/dicom-web (instead of AE/host)"),
                                 ("our_aet", "Our AE title", DEFAULT_OUR_AET), ("ca_file", "TLS CA file", "PEM"),
                                 ("client_cert", "TLS client certificate", "PEM (optional)"),
                                 ("client_key", "TLS client key", "PEM (optional)")):
            edit = QLineEdit(self.form)
            edit.setObjectName(f"{key}Edit")
            edit.setPlaceholderText(hint)
            self.edits[key] = edit
            if key == "host":
                self.port_spin = QSpinBox(self.form)
                self.port_spin.setObjectName("portSpin")
                self.port_spin.setRange(1, 65535)
                self.port_spin.setValue(104)
                host_row = QHBoxLayout()
                host_row.addWidget(edit, 1)
                host_row.addWidget(QLabel("Port", self.form))
                host_row.addWidget(self.port_spin)
                form.addRow(label, host_row)
            else:
                form.addRow(label, edit)
        self.tls_check = QCheckBox("Use TLS (the server certificate is verified)", self.form)
        self.tls_check.setObjectName("tlsCheck")
        form.addRow("", self.tls_check)
        self.timeouts: dict[str, QDoubleSpinBox] = {}
        timeout_row = QHBoxLayout()
        defaults = Timeouts()
        for key in ("connect", "acse", "dimse"):
            spin = QDoubleSpinBox(self.form)
            spin.setObjectName(f"{key}TimeoutSpin")
            spin.setRange(0.5, 3600)
            spin.setSuffix(" s")
            spin.setValue(getattr(defaults, key))
            self.timeouts[key] = spin
            timeout_row.addWidget(QLabel(key.upper() if key != "connect" else "Connect", self.form))
            timeout_row.addWidget(spin)
        form.addRow("Timeouts", timeout_row)
        self.test_button = QPushButton("Test", self.form)
        self.test_button.setObjectName("testButton")
        self.test_status = QLabel("", self.form)
        self.test_status.setObjectName("testStatus")
        self.test_status.setWordWrap(True)
        form.addRow(self.test_button, self.test_status)
        row.addWidget(self.form, 2)
        layout.addLayout(row, 1)
        layout.addLayout(self._listener_row())
        layout.addWidget(self.problem)
        self.button_box = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                           | QDialogButtonBox.StandardButton.Cancel, self)
        layout.addWidget(self.button_box)
        self.node_list.currentRowChanged.connect(self._select)
        self.edits["name"].textEdited.connect(self._rename_item)
        self.add_button.clicked.connect(self.add_node)
        self.remove_button.clicked.connect(self.remove_node)
        self.test_button.clicked.connect(self.test_node)
        self.button_box.accepted.connect(self.save)
        self.button_box.rejected.connect(self.reject)

    def _listener_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        port, aet = listen_settings(self.settings) if self.settings is not None else (11112, DEFAULT_OUR_AET)
        self.listen_port = QSpinBox(self)
        self.listen_port.setObjectName("listenPortSpin")
        self.listen_port.setRange(1, 65535)
        self.listen_port.setValue(port)
        self.listen_aet = QLineEdit(aet, self)
        self.listen_aet.setObjectName("listenAetEdit")
        for widget in (QLabel("Pushed studies (Settings > Receive Pushed Studies): port", self), self.listen_port,
                       QLabel("as AE title", self), self.listen_aet):
            widget.setVisible(self.settings is not None)
            row.addWidget(widget)
        row.addStretch(1)
        return row

    def _fill_list(self, select: int = 0) -> None:
        self._current = -1
        self.node_list.blockSignals(True)
        self.node_list.clear()
        for node in self.nodes:
            self.node_list.addItem(node.name)
            self.node_list.item(self.node_list.count() - 1).setToolTip(node.address)
        self.node_list.blockSignals(False)
        self.form.setEnabled(bool(self.nodes))
        self.remove_button.setEnabled(bool(self.nodes))
        if self.nodes:
            self.node_list.setCurrentRow(min(select, len(self.nodes) - 1))

    def _show(self, node: PacsNode) -> None:
        values = {"name": node.name, "ae_title": node.ae_title, "host": node.host, "url": node.url,
                  "our_aet": node.our_aet, "ca_file": node.tls.ca_file, "client_cert": node.tls.client_cert,
                  "client_key": node.tls.client_key}
        for key, edit in self.edits.items():
            edit.setText(values[key])
        self.port_spin.setValue(node.port or 104)
        self.tls_check.setChecked(node.tls.enabled)
        for key, spin in self.timeouts.items():
            spin.setValue(getattr(node.timeouts, key))
        self.test_status.clear()

    def form_node(self) -> PacsNode:
        """The node as the form shows it (validated; raises NodeConfigError naming the bad field)."""
        text = {key: edit.text().strip() for key, edit in self.edits.items()}
        url = text["url"]
        tls = TlsSettings(enabled=self.tls_check.isChecked() or url.lower().startswith("https"),
                          ca_file=text["ca_file"], client_cert=text["client_cert"], client_key=text["client_key"])
        timeouts = Timeouts(**{key: spin.value() for key, spin in self.timeouts.items()})
        node = PacsNode(name=text["name"], ae_title="" if url else text["ae_title"], host="" if url else text["host"],
                        port=0 if url else self.port_spin.value(), url=url, our_aet=text["our_aet"] or DEFAULT_OUR_AET,
                        tls=tls, timeouts=timeouts)
        for label, file in (("CA file", tls.ca_file), ("client certificate", tls.client_cert),
                            ("client key", tls.client_key)):
            if file and not Path(file).is_file():
                raise NodeConfigError(f"node {node.name or '?'}: the TLS {label} {file} does not exist")
        return node.validated()

    def _rename_item(self, text: str) -> None:
        item = self.node_list.item(self._current)
        if item is not None:
            item.setText(text.strip() or "(no name)")

    def _commit_form(self) -> bool:
        if not 0 <= self._current < len(self.nodes):
            return True
        try:
            node = self.form_node()
        except NodeConfigError as exc:
            self.problem.setText(str(exc))
            return False
        self.nodes[self._current] = node
        item = self.node_list.item(self._current)
        if item is not None:
            item.setText(node.name)
            item.setToolTip(node.address)
        self.problem.clear()
        return True

    def _select(self, row: int) -> None:
        if row == self._current:
            return
        if not self._commit_form():
            self.node_list.blockSignals(True)
            self.node_list.setCurrentRow(self._current)
            self.node_list.blockSignals(False)
            return
        self._current = row
        if 0 <= row < len(self.nodes):
            self._show(self.nodes[row])

    def add_node(self) -> None:
        """Add a node with default settings and select it for editing."""
        if not self._commit_form():
            return
        names = {n.name for n in self.nodes}
        number = len(self.nodes) + 1
        while f"PACS {number}" in names:
            number += 1
        self.nodes.append(PacsNode(name=f"PACS {number}", ae_title="PACS", host="localhost", port=104))
        self._fill_list(select=len(self.nodes) - 1)
        self.edits["name"].setFocus()
        self.edits["name"].selectAll()

    def remove_node(self) -> None:
        """Remove the selected node."""
        row = self.node_list.currentRow()
        if 0 <= row < len(self.nodes):
            del self.nodes[row]
            self._fill_list(select=row)
            self.problem.clear()

    def test_node(self) -> None:
        """Test the node as the form shows it (C-ECHO or a DICOMweb search) in the background."""
        try:
            node = self.form_node()
        except NodeConfigError as exc:
            self.test_status.setText(f"✘ {exc}")
            return
        self.test_status.setText("Testing…")
        self.jobs.submit("Testing", pacs_job(lambda progress, cancel: verify_node(node)),
                         lambda text: self.test_status.setText(f"✔ {text}"),
                         on_failed=lambda message: self.test_status.setText(f"✘ {message}"), foreground=False)

    def save(self) -> None:
        """Write the nodes and close; a bad setting is named and the dialog stays open."""
        if not self._commit_form():
            return
        try:
            aet = check_ae_title(self.listen_aet.text(), "the AE title for pushed studies")
            save_nodes([replace(n) for n in self.nodes], self.path)
        except (NodeConfigError, OSError) as exc:
            self.problem.setText(str(exc))
            return
        if self.settings is not None:
            self.settings.set_value(PORT_KEY, self.listen_port.value())
            self.settings.set_value(AET_KEY, aet)
        self.accept()

    def done(self, result: int) -> None:  # noqa: D102 - Qt API
        self.jobs.shutdown(2000)
        super().done(result)

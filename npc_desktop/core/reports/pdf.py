"""Lay a :class:`~.content.ReportContent` out as a PDF with reportlab.

Fonts are DejaVu Sans from matplotlib's own data folder (matplotlib is a dependency, so the file is
always there) and are embedded, so the report reads the same on any PACS viewer and accented names
print correctly.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Union

import numpy as np

from npc_desktop.core.annotation.colours import ROI_COLOUR_NAMES, RULER_COLOUR_NAME
from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.fileio import write_bytes_atomically
from npc_desktop.core.models.headline import stage_headline
from npc_desktop.core.reports.content import DISCLAIMER, UNTRAINED_BANNER, ReportContent
from npc_desktop.core.reports.figures import agreement_chart_png
from npc_desktop.core.reports.tnm_pdf import tnm_story

PAGE_SIZES = ("A4", "Letter")
KEY_SLICE_KINDS = {RoiKind.TUMOUR: "tumour", RoiKind.LYMPH_NODE: "lymph node"}
FONT = "NPCSans"
FONT_BOLD = "NPCSans-Bold"


class ReportWriteError(OSError):
    """The PDF could not be written; the message names the file."""


def _register_fonts() -> None:
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def _styles() -> dict[str, "ParagraphStyle"]:  # noqa: F821 - reportlab imported lazily
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#444444")),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=8,
                             spaceAfter=4, textColor=colors.HexColor("#1f3b63"), keepWithNext=1),
        "result": ParagraphStyle("result", parent=base, fontName=FONT_BOLD, fontSize=13, leading=17),
        "banner": ParagraphStyle("banner", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14,
                                 textColor=colors.HexColor("#b00020")),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        # CJK word wrap breaks anywhere, so long member names like InceptionResNetV2 fit a column.
        "header": ParagraphStyle("header", parent=base, fontName=FONT_BOLD, fontSize=7, leading=8.5,
                                 alignment=1, wordWrap="CJK"),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _format_date(value: str) -> str:
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value or "-"


def _png_image(data: bytes, width: float) -> "Image":  # noqa: F821
    from reportlab.platypus import Image

    image = Image(io.BytesIO(data))
    scale = width / image.imageWidth
    image.drawWidth, image.drawHeight = width, image.imageHeight * scale
    return image


def _rgb_image(rgb: np.ndarray, width: float) -> "Image":  # noqa: F821
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise ReportWriteError("could not encode a key image as PNG")
    return _png_image(encoded.tobytes(), width)


def _table(rows: list[list[object]], widths: list[float], *, header_rows: int = 1) -> "Table":  # noqa: F821
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, repeatRows=header_rows, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("FONT", (0, 0), (-1, header_rows - 1), FONT_BOLD, 8),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#e3e9f2")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _watermark(width: float, height: float) -> "ImageReader":  # noqa: F821
    """The diagonal UNTRAINED DEMO mark as a transparent picture of the page.

    A picture, not text, so that text extraction (screen readers, copy and paste, search) reads
    the lines it crosses without its letters interleaved.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from reportlab.lib.utils import ImageReader

    figure = Figure(figsize=(width / 72, height / 72), dpi=110)
    figure.text(0.5, 0.5, UNTRAINED_BANNER, rotation=40, ha="center", va="center", fontsize=40,
                fontweight="bold", color=(0.7, 0.0, 0.1, 0.08), rotation_mode="anchor")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", transparent=True)
    return ImageReader(io.BytesIO(buffer.getvalue()))


def _probability_columns(content: ReportContent) -> tuple[str, int]:
    """For two classes the table shows P(second class); otherwise the winning class and its p."""
    if len(content.class_names) == 2:
        return f"P({content.class_names[1]})", 1
    return "class (p)", -1


def _cell(probabilities: tuple[float, ...], column: int, class_names: tuple[str, ...]) -> str:
    if column >= 0:
        return f"{probabilities[column]:.3f}"
    k = int(np.argmax(probabilities))
    return f"{class_names[k]} ({probabilities[k]:.2f})"


def _story(content: ReportContent, styles: dict, frame_width: float) -> list:
    from reportlab.lib import colors
    from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

    story: list = []
    p = Paragraph
    story.append(p("MR staging support report", styles["title"]))
    if content.untrained:
        story.append(p(UNTRAINED_BANNER + ": the models have random weights; nothing below is a prediction.",
                       styles["banner"]))
    if content.deidentified_variant:
        story.append(p("De-identified copy: patient identifiers and dates removed.", styles["small"]))

    # Patient and study
    patient = content.patient
    details = [
        ["Patient", patient.name or "-", "Patient ID", patient.patient_id or "-"],
        ["Birth date", _format_date(patient.birth_date), "Sex", patient.sex or "-"],
        ["Study date", _format_date(patient.study_date), "Accession", patient.accession_number or "-"],
        ["Study", p(_escape(patient.study_description or "-"), styles["cell"]), "Report created",
         content.created.strftime("%Y-%m-%d %H:%M %Z").strip()],
    ]
    w = frame_width
    table = Table(details, colWidths=[0.14 * w, 0.36 * w, 0.16 * w, 0.34 * w], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("FONT", (0, 0), (0, -1), FONT_BOLD, 8.5),
        ("FONT", (2, 0), (2, -1), FONT_BOLD, 8.5),
        ("BOX", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f6f8fb")),
    ]))
    story.append(table)

    # The clinical TNM stage comes first: the ensemble's result is a second opinion beside it.
    story.extend(tnm_story(content.tnm, styles, w, _table))

    # Result
    story.append(p("Ensemble result", styles["h2"]))
    agree, members = content.agreement
    result_text = _escape(stage_headline(content.stage, content.stage_probability, agree, members))
    if content.untrained:
        result_text = f"{UNTRAINED_BANNER}. " + result_text
    story.append(p(result_text, styles["result"]))
    split = " - a split decision: review the slices and the members' maps." if agree < members else "."
    story.append(p(
        f"Patient level = {_escape(content.aggregation)} over {len(content.patches)} patch(es); "
        f"soft voting: each patch's probabilities are the mean of the members' (paper eq. 1-2){split}",
        styles["small"]))
    if content.sign_off.clinician_stage:
        story.append(p(f"Stage recorded by the clinician: <b>{_escape(content.sign_off.clinician_stage)}</b>",
                       styles["body"]))
    chart = agreement_chart_png(content.patient_member_probabilities, content.patient_probabilities,
                                content.class_names, untrained=content.untrained)
    story.append(_png_image(chart, 0.62 * w))

    # Key images, two per row
    if content.key_images:
        legend = ", ".join(f"{ROI_COLOUR_NAMES[kind]} {word}" for kind, word in KEY_SLICE_KINDS.items())
        heading = p(f"Key slices: ROIs ({legend}) with the ensemble Grad-CAM; rulers ({RULER_COLOUR_NAME}) and "
                    f"node axes ({ROI_COLOUR_NAMES[RoiKind.LYMPH_NODE]}) with their lengths in mm; "
                    "orientation letters at the edges", styles["h2"])
        cells = []
        cell_width = (w - 12) / 2
        for key in content.key_images:
            cells.append([_rgb_image(key.rgb, cell_width - 6), p(_escape(key.caption), styles["small"])])
        if len(cells) % 2:
            cells.append("")
        grid = Table([cells[i : i + 2] for i in range(0, len(cells), 2)], colWidths=[cell_width, cell_width],
                     hAlign="LEFT")
        grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONT", (0, 0), (-1, -1), FONT, 8)]))
        story.extend([heading, grid])  # the heading keeps with the first row; rows may split across pages

    # Probability table
    header, column = _probability_columns(content)
    member_names = list(content.patches[0].member_probabilities)
    story.append(p(f"Probabilities per patch and member: {header}", styles["h2"]))
    header_style = styles["header"]
    headers = [n + (" (baseline, no vote)" if n in content.non_voting else "") for n in member_names]
    rows: list[list[object]] = [[p(_escape(n), header_style) for n in ["Patch"] + headers + ["Ensemble"]]]
    for row in content.patches:
        rows.append([p(_escape(f"{_short(row.series)} {row.detail}"), styles["cell"])]
                    + [_cell(row.member_probabilities[m], column, content.class_names) for m in member_names]
                    + [_cell(row.ensemble_probabilities, column, content.class_names)])
    rows.append([p("<b>Patient</b>", styles["cell"])]
                + [_cell(content.patient_member_probabilities[m], column, content.class_names) for m in member_names]
                + [_cell(content.patient_probabilities, column, content.class_names)])
    first = 0.22 * w
    rest = (w - first) / (len(member_names) + 1)
    table = _table(rows, [first] + [rest] * (len(member_names) + 1))
    table.setStyle([("FONT", (0, len(rows) - 1), (-1, len(rows) - 1), FONT_BOLD, 8),
                    ("ALIGN", (1, 0), (-1, -1), "CENTER")])
    story.append(table)

    # Series
    story.append(p("Series used", styles["h2"]))
    series_rows: list[list[object]] = [["Series", "Modality", "No.", "Slices", "Patches"]]
    for s in content.series:
        series_rows.append([p(_escape(s.description or "-"), styles["cell"]), s.modality,
                            "-" if s.series_number is None else str(s.series_number), str(s.slice_count),
                            str(s.patch_count)])
    story.append(_table(series_rows, [0.48 * w, 0.13 * w, 0.13 * w, 0.13 * w, 0.13 * w]))

    # Model
    model = content.model
    model_lines = [
        f"<b>Model bundle:</b> {_escape(model.name)} version {_escape(model.version)}"
        + (" <font color='#b00020'><b>(untrained demo)</b></font>" if model.untrained_demo else ""),
        f"<b>SHA-256:</b> <font size='7'>{model.sha256}</font>",
        f"<b>Members:</b> {_escape(', '.join(model.members))}",
    ]
    if model.device:
        model_lines.append(f"<b>Runtime and device:</b> {_escape(model.device)}")
    if model.validation_metrics:
        metrics = ", ".join(f"{_escape(k)} {v:.3f}" for k, v in model.validation_metrics.items())
        model_lines.append(f"<b>Validation:</b> {metrics}")
    else:
        model_lines.append("<b>Validation:</b> none recorded in the bundle")
    model_lines += [f"<b>Calibration:</b> {_escape(line)}" for line in model.calibration]
    story.append(KeepTogether([p("Model", styles["h2"])] + [p(line, styles["body"]) for line in model_lines]))

    # Sign-off and disclaimer
    sign = content.sign_off
    block = [p("Clinician", styles["h2"])]
    if content.deidentified_variant:
        note = "omitted in the de-identified copy (free text may identify the patient)"
    else:
        note = _escape(sign.note) if sign.note else "-"
    block.append(p(f"<b>Note:</b> {note}", styles["body"]))
    block.append(Spacer(1, 14))
    block.append(p(f"Reviewed by: {_escape(sign.reviewer) if sign.reviewer else '_' * 30}"
                   f"&nbsp;&nbsp;&nbsp;&nbsp;Signature: {'_' * 28}&nbsp;&nbsp;&nbsp;&nbsp;Date: {'_' * 14}",
                   styles["body"]))
    block.append(Spacer(1, 10))
    block.append(p(f"<b>Disclaimer.</b> {_escape(DISCLAIMER)}", styles["small"]))
    story.append(KeepTogether(block))
    return story


def write_report_pdf(
    content: ReportContent,
    path: Union[str, os.PathLike],
    *,
    page_size: str = "A4",
) -> Path:
    """Write the report as a PDF.

    Parameters
    ----------
    content
        What the report says.
    path
        Output file; written to a temporary name first and renamed, so a failure never leaves a
        half-written report under the final name.
    page_size
        "A4" or "Letter".

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        For an unknown page size.
    ReportWriteError
        When the file cannot be written.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, letter
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    if page_size not in PAGE_SIZES:
        raise ValueError(f"page size {page_size!r}: expected one of {', '.join(PAGE_SIZES)}")
    _register_fonts()
    styles = _styles()
    size = A4 if page_size == "A4" else letter
    target = Path(path)
    margin = 16 * mm
    header_height = 16 * mm

    def decorate(canvas, document) -> None:  # noqa: ANN001 - reportlab callback
        width, height = size
        canvas.saveState()
        top = height - margin + 4 * mm
        x = margin
        logo = content.institution.logo_path
        if logo is not None:
            canvas.drawImage(str(logo), x, top - 11 * mm, width=11 * mm, height=11 * mm,
                             preserveAspectRatio=True, mask="auto")
            x += 14 * mm
        canvas.setFont(FONT_BOLD, 11)
        canvas.drawString(x, top - 4.5 * mm, content.institution.name)
        if content.institution.department:
            canvas.setFont(FONT, 8)
            canvas.drawString(x, top - 9 * mm, content.institution.department)
        canvas.setFont(FONT, 7.5)
        canvas.drawRightString(width - margin, top - 4.5 * mm, "NPC Desktop - staging support")
        canvas.setStrokeColor(colors.HexColor("#1f3b63"))
        canvas.setLineWidth(0.8)
        canvas.line(margin, top - 12 * mm, width - margin, top - 12 * mm)
        if content.untrained:
            canvas.setFillColor(colors.HexColor("#b00020"))
            canvas.setFont(FONT_BOLD, 10)
            canvas.drawCentredString(width / 2, top - 16 * mm, UNTRAINED_BANNER)
            canvas.drawImage(watermark, 0, 0, width=width, height=height, mask="auto")
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.setFont(FONT, 7)
        footer = f"Created {content.created.strftime('%Y-%m-%d %H:%M')}"
        if content.deidentified_variant:
            footer += " - de-identified copy"
        footer += " - supports, does not replace, the clinical TNM assessment"
        canvas.drawString(margin, margin / 2, footer)
        canvas.drawRightString(width - margin, margin / 2, f"page {document.page}")
        if content.untrained:
            canvas.setFillColor(colors.HexColor("#b00020"))
            canvas.drawCentredString(width / 2, margin / 2 + 9, UNTRAINED_BANNER)
        canvas.restoreState()

    watermark = _watermark(*size) if content.untrained else None
    buffer = io.BytesIO()
    top_margin = margin + header_height + (6 * mm if content.untrained else 0)
    document = SimpleDocTemplate(
        buffer, pagesize=size, leftMargin=margin, rightMargin=margin, topMargin=top_margin,
        bottomMargin=margin + 4 * mm, title="MR staging support report", author=content.institution.name,
        subject="Stage " + content.stage + (" (UNTRAINED DEMO)" if content.untrained else ""),
        creator="NPC Desktop",
        # Otherwise the canvas preamble selects Helvetica, an unembedded font, in every PDF.
        initialFontName=FONT,
    )
    document.build(_story(content, styles, document.width), onFirstPage=decorate, onLaterPages=decorate)
    try:
        return write_bytes_atomically(target, buffer.getvalue())
    except OSError as exc:
        raise ReportWriteError(f"{target}: cannot write the report ({exc.strerror or exc})") from exc

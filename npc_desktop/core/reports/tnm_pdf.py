"""Lay the report's TNM section out (reportlab flowables); :mod:`.pdf` places it before the
ensemble's result.

The section shows the edition, T, N and M with their findings, reasons and overrides, the stage
group with its chain of reasons, the comparison with the ensemble (a discordance in a red box),
and the measurements in mm.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from npc_desktop.core.reports.tnm_content import NO_FORM_TEXT, TnmSection

DISCORDANT_RED = "#b00020"
DISCORDANT_FILL = "#fde7ea"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _lines(lines: tuple[str, ...]) -> str:
    return "<br/>".join(_escape(line) for line in lines) or "-"


def tnm_story(section: Optional[TnmSection], styles: dict[str, Any], width: float,
              table: Callable[..., Any]) -> list[Any]:
    """The flowables of the TNM section.

    Parameters
    ----------
    section
        The section; None when the study has no saved TNM form (one line says so).
    styles
        The report's paragraph styles (``h2``, ``result``, ``body``, ``cell``, ``small``).
    width
        The frame width in points.
    table
        The report's table maker, ``table(rows, widths)``, so the tables look alike.
    """
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    p = Paragraph
    if section is None:
        return [p("TNM stage", styles["h2"]), p(_escape(NO_FORM_TEXT), styles["body"])]
    story: list[Any] = [p(f"TNM stage ({_escape(section.edition)})", styles["h2"])]
    stage = f"Stage {section.stage}" if section.stage else "Not staged"
    story.append(p(f"TNM: {_escape(stage)} ({_escape(section.categories_text)})", styles["result"]))
    if section.discordant:
        box = Table([[p(f"<b>{_escape(section.comparison)}</b>: the TNM stage and the ensemble disagree "
                        "(III against IVA); review the T4 and N3 evidence and the key slices.", styles["body"])]],
                    colWidths=[width], hAlign="LEFT")
        box.setStyle(TableStyle([
            ("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor(DISCORDANT_RED)),
            ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(DISCORDANT_FILL)),
            ("TEXTCOLOR", (0, 0), (-1, -1), colors.HexColor(DISCORDANT_RED)),
        ]))
        story.append(box)
    else:
        story.append(p(_escape(section.comparison), styles["body"]))

    rows: list[list[Any]] = [["", "Category", "Findings and reasons"]]
    for category in section.categories:
        rows.append([category.axis, category.value or "?", p(_lines(category.lines), styles["cell"])])
    rows.append(["Stage", section.stage or "-", p(_lines(section.stage_reasons), styles["cell"])])
    categories = table(rows, [0.08 * width, 0.12 * width, 0.80 * width])
    categories.setStyle([("FONT", (0, 1), (1, -1), "NPCSans-Bold", 8), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    story.append(categories)

    story.append(p("Measurements (mm)", styles["h2"]))
    if not section.measurements:
        story.append(p("No rulers, node axes or cricoid level are marked on this study.", styles["body"]))
    else:
        measured: list[list[Any]] = [["Measurement", "Series", "Image", "Value"]]
        for row in section.measurements:
            measured.append([p(_escape(row.what), styles["cell"]), p(_escape(row.series), styles["cell"]),
                             row.image, row.value])
        story.append(table(measured, [0.30 * width, 0.30 * width, 0.17 * width, 0.23 * width]))
    return story

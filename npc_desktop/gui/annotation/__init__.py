"""Annotation in the workstation: the annotation session and model (undo, autosave, locks,
conflicts), the ROI layer and list, the label and patch-preview panels, and the annotation
commands and exports."""

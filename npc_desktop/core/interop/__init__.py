"""Interchange of annotations with other tools: DICOM SR TID 1500 (:mod:`.sr`), and the CSV and
COCO tables (:mod:`.tables`)."""

"""The research loop: de-identified patch datasets, patient-level splits, training, evaluation.

Modules:

- :mod:`.pngio`: PNG patches written without metadata, read back as 8- or 16-bit arrays.
- :mod:`.splits`: train/test splits by patient (stratified fraction, or a fold column).
- :mod:`.patchset`: any folder of class subfolders of PNG patches plus a manifest naming each
  file's patient (the app's own exports included).
- :mod:`.export`: export annotated studies as a de-identified patch dataset.
- :mod:`.metrics`, :mod:`.evaluation`: per-class metrics, ROC, confusion matrices, reports.
- :mod:`.augment`, :mod:`.features`, :mod:`.training`: the paper's training recipe, with cached
  frozen-base features.

Nothing here imports Qt; TensorFlow is imported only inside the functions that need it.
"""

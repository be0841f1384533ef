"""The research loop: de-identified patch datasets, patient-level splits, training, evaluation.

Modules:

- :mod:`.pngio`: PNG patches written without metadata, read back as 8- or 16-bit arrays.
- :mod:`.splits`: train/test splits by patient (stratified fraction, or a fold column).
- :mod:`.patchset`: any folder of class subfolders of PNG patches plus a manifest naming each
  file's patient (the app's own exports included).
- :mod:`.export`, :mod:`.export_manifest`: export annotated studies as a de-identified patch
  dataset with its manifest.
- :mod:`.metrics`, :mod:`.evaluation`: per-class metrics, ROC, confusion matrices, reports;
  :mod:`.bundle_eval` evaluates a saved model bundle.
- :mod:`.config`, :mod:`.training`: the paper's training recipe, writing a model bundle;
  :mod:`.augment`, :mod:`.features` (cached frozen-base features), :mod:`.fitting` (the
  checkpointed epoch loop), :mod:`.checkpoint`, :mod:`.predict`.

Nothing here imports Qt; TensorFlow is imported only inside the functions that need it.
"""

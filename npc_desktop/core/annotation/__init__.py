"""Annotation: ROIs, stage labels, the crash-safe per-study store, the study lock, patch cropping.

Modules:

- :mod:`.rois`: the typed ROI and its kinds; :mod:`.labels`: the patient's stage label;
  :mod:`.validation`: the checks both share.
- :mod:`.measurements`: rulers, node axes and the cricoid level (:mod:`.measurement_base` holds
  what they share); :mod:`.cricoid`: whether a point or a node ROI lies below the cricoid level.
- :mod:`.annotation_set`: :class:`AnnotationSet`, the plain-Python model of one study's
  annotations, and its change events (:mod:`.events`); :mod:`.measurement_ops` is its
  measurement half.
- :mod:`.store`: :class:`AnnotationStore`, atomic per-study JSON files with a backup and conflict
  copies (:mod:`.store_results` holds its errors and results); :mod:`.autosave` saves on every
  change; :mod:`.study_lock` keeps a second process from writing the same study.
- :mod:`.patches`: patch geometry and cropping around a ROI (the model input is made from the
  crop by :mod:`npc_desktop.core.models.patch_preprocessing`).
- :mod:`.locate`: where a ROI's image lives; :mod:`.colours`: the kind colours the app and the
  report share.
"""

"""The cohort worklist dock: one row per patient and study, Next/Previous patient, batch actions."""

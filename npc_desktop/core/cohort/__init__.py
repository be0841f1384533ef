"""The cohort: a persistent study index over many folders, the worklist rows, and batch actions."""

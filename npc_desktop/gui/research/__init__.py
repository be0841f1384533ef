"""Research in the workstation: exporting the open study's ROIs as a de-identified patch dataset."""

"""Staging in the workstation: the controller and its one inference thread, the results panel,
the Grad-CAM layer and controls, and the staging report."""

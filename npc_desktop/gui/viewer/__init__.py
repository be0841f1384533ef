"""The viewer: the open study and its viewports (:mod:`.viewer_session`), opening and loading
studies off the GUI thread, and the widgets that show slices, the study browser and messages."""

"""NPC Desktop: MR-based staging support for locoregionally advanced nasopharyngeal carcinoma."""

__version__ = "0.1.0"

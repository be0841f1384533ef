"""Widgets of the workstation, one class per module; each subscribes to the SessionModel."""

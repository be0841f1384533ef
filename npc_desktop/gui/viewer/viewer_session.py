"""The viewer's model: the open study and what each viewport shows.

:class:`ViewerSession` holds the open study index, what each viewport shows (volume, slice,
window), the layout, the synchronisation switches and the CLAHE preview settings, runs indexing
and loading on the thread pool, and announces every change with a signal. Widgets call its
methods and subscribe to its signals; they never talk to each other.

Feature packages extend it by subclassing (the annotation session, then the shell's
:class:`~npc_desktop.gui.session.SessionModel`) and react to the study's life through the hooks
``_study_replaced``, ``_series_shown``, ``_series_failed``, ``_active_volume_changed``,
``_extra_messages`` and ``_is_busy``, so this module knows nothing of ROIs or staging.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, Signal

from npc_desktop.core.dicom import SeriesInfo, StudyIndex, Volume
from npc_desktop.gui.state import (
    PRESET_LABELS,
    ClaheSettings,
    CursorInfo,
    IngestMessage,
    LoadedSeries,
    Preset,
    Tool,
    ViewportState,
    ViewState,
    Window,
)
from npc_desktop.gui.viewer import geometry, loading
from npc_desktop.gui.viewer.study_opening import ReadyStudy, StudyOpener
from npc_desktop.gui.workers import JobHandle, JobRunner

VIEWPORT_COUNT = 2
PAGE_STEP = 10
"""Slices moved by PageUp / PageDown."""


class ViewerSession(QObject):
    """The open study and the viewports' state, with the operations on them (see the module
    docstring)."""

    study_indexed = Signal(object)
    """StudyIndex: a new study replaced the previous one (once its first series has loaded)."""
    study_opened = Signal(str)
    """The path of a study that opened successfully (for the recent-studies list)."""
    thumbnail_ready = Signal(str, object)
    """series key, uint8 array"""
    loading_changed = Signal(int, str)
    """viewport, what is being loaded into it ("" when nothing)"""
    series_loaded = Signal(int, object)
    """viewport, LoadedSeries"""
    viewport_cleared = Signal(int)
    slice_changed = Signal(int, int)
    window_changed = Signal(int, float, float)
    view_changed = Signal(int, object)
    """viewport, ViewState it must show (from a linked viewport or a request)"""
    fit_requested = Signal(int)
    zoom_requested = Signal(int, float)
    layout_changed = Signal(int)
    active_viewport_changed = Signal(int)
    sync_changed = Signal(bool, bool)
    """slices synchronised, zoom/pan linked"""
    tool_changed = Signal(str)
    clahe_changed = Signal(object)
    cursor_changed = Signal(object)
    """CursorInfo or None"""
    messages_changed = Signal(object)
    """list of IngestMessage"""
    error_occurred = Signal(str, str)
    """title, message"""
    status_message = Signal(str)
    busy_changed = Signal(bool)
    progress_changed = Signal(str, int, int)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.jobs = JobRunner(self)
        self._busy = False
        self.jobs.busy_changed.connect(self._update_busy)
        self.jobs.progress_changed.connect(self.progress_changed)
        self.index: Optional[StudyIndex] = None
        self.viewports = [ViewportState() for _ in range(VIEWPORT_COUNT)]
        self.active = 0
        self.layout = 1
        self.sync_slices = True
        self.link_views = True
        self.tool = Tool.PAN
        self.clahe = ClaheSettings()
        self.messages: list[IngestMessage] = []
        self.views: dict[int, ViewState] = {}
        self._opener = StudyOpener(self.jobs, on_ready=self._swap_in, on_failed=self._on_open_failed,
                                   on_status=self.status_message.emit)
        self._load_jobs: dict[int, JobHandle] = {}
        self._thumbnail_jobs: list[JobHandle] = []
        self._index_messages: list[IngestMessage] = []

    # -- opening -----------------------------------------------------------------------------

    def open_path(self, path: Optional[str]) -> None:
        """Index ``path`` (a folder, DICOMDIR, zip or file) in the background and show it.

        With None, the demo study opens. The current study, its ROIs and its staging result stay
        until the new study is indexed and its first series has loaded; if either fails, or is
        cancelled, they stay as they were.
        """
        self._opener.open(path)

    def cancel_jobs(self) -> None:
        """Cancel indexing, loading and exports (the cancel button)."""
        self.jobs.cancel_foreground()

    def shutdown(self) -> None:
        """Stop every job and wait for the worker threads (window closing)."""
        self.jobs.shutdown()

    # -- hooks for the feature sessions -------------------------------------------------------

    def _study_replaced(self, opened: loading.OpenedStudy) -> None:
        """A new study replaced the open one (before its viewports are filled)."""

    def _series_shown(self, vp: int, volume: Volume) -> None:
        """Viewport ``vp`` shows a newly loaded ``volume``."""

    def _series_failed(self, vp: int) -> None:
        """Loading into viewport ``vp`` failed or was cancelled."""

    def _active_volume_changed(self, volume: Volume) -> None:
        """The active viewport changed to one showing ``volume``."""

    def _extra_messages(self) -> list[IngestMessage]:
        """Messages the feature sessions add to the ingestion messages."""
        return []

    def _is_busy(self) -> bool:
        """Whether any background work runs (the progress bar and the cancel button show)."""
        return self.jobs.busy

    def _update_busy(self, *_: object) -> None:
        busy = self._is_busy()
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _on_open_failed(self, path: Optional[str], message: str,
                        index_messages: Optional[list[IngestMessage]] = None) -> None:
        if index_messages is not None:
            self._set_messages(index_messages)
        what = "the demo study" if path is None else str(path)
        self.status_message.emit(f"Could not open {what}: {message}")
        self.error_occurred.emit("Cannot open study", message)

    def _swap_in(self, ready: ReadyStudy) -> None:
        opened = ready.opened
        index = opened.index
        messages = loading.index_messages(index)
        images = index.image_series()
        for handle in [*self._load_jobs.values(), *self._thumbnail_jobs]:
            handle.request_cancel()
        self._load_jobs.clear()
        self._thumbnail_jobs.clear()
        self.index = index
        self._index_messages = messages
        self._study_replaced(opened)
        self._set_messages(messages)
        for viewport in range(VIEWPORT_COUNT):
            self.viewports[viewport] = ViewportState()
            self.views.pop(viewport, None)
            self.viewport_cleared.emit(viewport)
        self.study_indexed.emit(index)
        self.study_opened.emit(str(index.root))
        first = ready.first
        partner = geometry.partner_series(index, first)
        self.set_active(0)
        self.set_layout(2 if partner is not None else 1)
        if partner is not None:  # before the first series is shown: the jump to a ROI waits for both
            self.load_series(partner.key, 1)
        self._apply_loaded(0, first.key, ready.loaded)
        self._start_thumbnails(images)
        count = len(images)
        self.status_message.emit(
            f"Opened {index.root.name or index.root}: {count} image series"
            + (f", {len(messages)} message(s)" if messages else ""))

    def _start_thumbnails(self, series_list: list[SeriesInfo]) -> None:
        for series in series_list:
            handle = self.jobs.submit(
                f"Thumbnail {series.description}",
                lambda progress, cancel, s=series: loading.thumbnail_job(s, cancel),
                lambda image, key=series.key: self.thumbnail_ready.emit(key, image),
                foreground=False,
            )
            self._thumbnail_jobs.append(handle)

    # -- loading -----------------------------------------------------------------------------

    def load_series(self, key: str, viewport: Optional[int] = None) -> None:
        """Load the series ``key`` of the open study into ``viewport`` (the active one if None)."""
        if self.index is None:
            return
        vp = self.active if viewport is None else viewport
        series = self.index.find_series(key)
        if not series.is_image:
            self.status_message.emit(f"{series.description or series.modality} holds no images to show")
            return
        previous = self._load_jobs.pop(vp, None)
        if previous is not None:
            previous.request_cancel()
        for state in self.viewports:
            if state.series_key == series.key and state.loaded is not None:
                self._apply_loaded(vp, series.key, state.loaded)
                return
        label = f"Loading {series.description or series.modality}"
        self.viewports[vp].loading_label = label
        self.loading_changed.emit(vp, label)
        current: list[JobHandle] = []
        index = self.index

        def is_current() -> bool:
            return bool(current) and self._load_jobs.get(vp) is current[0]

        def done(loaded: LoadedSeries) -> None:
            if is_current():
                del self._load_jobs[vp]
                self._apply_loaded(vp, series.key, loaded)

        def ended(message: Optional[str]) -> None:
            if is_current():
                del self._load_jobs[vp]
                self._on_load_ended(vp, message, series)

        current.append(self.jobs.submit(
            label,
            lambda progress, cancel: loading.load_job(series, index, progress, cancel),
            done,
            on_failed=ended,
            on_cancelled=lambda: ended(None),
        ))
        self._load_jobs[vp] = current[0]

    def _on_load_ended(self, vp: int, message: Optional[str], series: SeriesInfo) -> None:
        self._series_failed(vp)
        self.viewports[vp].loading_label = ""
        self.loading_changed.emit(vp, "")
        name = series.description or series.key
        if message is None:
            self.status_message.emit(f"Loading {name} cancelled")
        else:
            self.status_message.emit(f"Could not load {name}: {message}")
            self.error_occurred.emit("Cannot load series", message)

    def _apply_loaded(self, vp: int, key: str, loaded: LoadedSeries) -> None:
        state = self.viewports[vp]
        state.loaded, state.series_key, state.loading_label = loaded, key, ""
        state.window, state.preset = loaded.default_window, loaded.default
        state.messages = loading.volume_messages(loaded.volume)
        state.slice_index = loaded.volume.shape[0] // 2
        self.views.pop(vp, None)
        self.loading_changed.emit(vp, "")
        self.series_loaded.emit(vp, loaded)
        self.window_changed.emit(vp, *state.window)
        self._set_messages(self._index_messages)
        synced = self._synced_slice(vp)
        if synced is None:
            self.slice_changed.emit(vp, state.slice_index)
        else:
            state.slice_index = -1
            self.set_slice(vp, synced, propagate=False)
        self._series_shown(vp, loaded.volume)

    def _synced_slice(self, vp: int) -> Optional[int]:
        """The slice matching the other viewport's position, when synchronisation applies."""
        if not self.sync_slices:
            return None
        for other, state in enumerate(self.viewports):
            if other != vp and state.volume is not None and self.can_sync(other, vp):
                return geometry.corresponding_slice(state.volume, state.slice_index,
                                                    self.viewports[vp].volume)[0]
        return None

    def _set_messages(self, index_messages: list[IngestMessage]) -> None:
        seen: set[tuple[str, str]] = set()
        messages = []
        for message in [*index_messages, *(m for s in self.viewports for m in s.messages)]:
            if (message.source, message.text) not in seen:
                seen.add((message.source, message.text))
                messages.append(message)
        messages.extend(self._extra_messages())
        self.messages = messages
        self.messages_changed.emit(messages)

    # -- slices ------------------------------------------------------------------------------

    def can_sync(self, a: int, b: int) -> bool:
        """Whether viewports ``a`` and ``b`` show volumes in one frame of reference."""
        va, vb = self.viewports[a].volume, self.viewports[b].volume
        return va is not None and vb is not None and geometry.same_frame(va, vb)

    def set_slice(self, vp: int, index: int, *, propagate: bool = True) -> None:
        """Show slice ``index`` (clamped) in ``vp``; move synchronised viewports along."""
        state = self.viewports[vp]
        volume = state.volume
        if volume is None:
            return
        index = max(0, min(int(index), volume.shape[0] - 1))
        if index == state.slice_index:
            return
        state.slice_index = index
        self.slice_changed.emit(vp, index)
        if propagate and self.sync_slices:
            for other in range(VIEWPORT_COUNT):
                if other != vp and self.can_sync(vp, other):
                    target = self.viewports[other].volume
                    nearest, _ = geometry.corresponding_slice(volume, index, target)
                    self.set_slice(other, nearest, propagate=False)

    def step_slice(self, vp: int, delta: int) -> None:
        """Move ``delta`` slices in ``vp``."""
        self.set_slice(vp, self.viewports[vp].slice_index + delta)

    def first_or_last(self, vp: int, last: bool) -> None:
        """Go to the first or last slice."""
        volume = self.viewports[vp].volume
        if volume is not None:
            self.set_slice(vp, volume.shape[0] - 1 if last else 0)

    # -- window ------------------------------------------------------------------------------

    def set_window(self, vp: int, centre: float, width: float, preset: Optional[Preset] = None) -> None:
        """Set the window of ``vp``; the width is kept positive."""
        state = self.viewports[vp]
        if state.volume is None:
            return
        floor = 1.0 if state.volume.voxels.dtype.kind in "iu" else 1e-6
        state.window = (float(centre), max(float(width), floor))
        state.preset = preset
        self.window_changed.emit(vp, *state.window)

    def apply_preset(self, preset: Preset, vp: Optional[int] = None) -> None:
        """Apply a window preset to ``vp`` (the active viewport if None)."""
        vp = self.active if vp is None else vp
        loaded = self.viewports[vp].loaded
        if loaded is None:
            return
        window: Optional[Window] = loaded.presets.get(preset)
        if window is None:
            self.status_message.emit(f"{PRESET_LABELS[preset]}: not available for this series")
            return
        self.set_window(vp, *window, preset=preset)
        self.status_message.emit(f"Window: {PRESET_LABELS[preset]}")

    def reset_window(self, vp: Optional[int] = None) -> None:
        """Back to the window shown when the series was loaded."""
        vp = self.active if vp is None else vp
        loaded = self.viewports[vp].loaded
        if loaded is not None:
            self.set_window(vp, *loaded.default_window, preset=loaded.default)

    # -- view, layout, tools -----------------------------------------------------------------

    def set_view(self, vp: int, view: ViewState) -> None:
        """Record the view the user set in ``vp`` (zoom/pan); linked viewports follow."""
        self.views[vp] = view
        if not self.link_views:
            return
        source = self.viewports[vp].volume
        for other in range(VIEWPORT_COUNT):
            target = self.viewports[other].volume
            if other == vp or source is None or target is None:
                continue
            if geometry.same_plane(source, target):
                mapped = view
            else:  # no common geometry: keep the same offset from each image's centre
                (sx, sy), (tx, ty) = geometry.image_centre(source), geometry.image_centre(target)
                mapped = view.moved(tx - sx, ty - sy)
            self.views[other] = mapped
            self.view_changed.emit(other, mapped)

    def request_fit(self, vp: Optional[int] = None) -> None:
        """Fit the image to the viewport (and linked viewports)."""
        targets = range(VIEWPORT_COUNT) if (self.link_views or vp is None) else [vp]
        for target in targets:
            self.views.pop(target, None)
            self.fit_requested.emit(target)

    def request_zoom(self, factor: float, vp: Optional[int] = None) -> None:
        """Zoom the active viewport by ``factor`` about its centre (> 1 magnifies)."""
        self.zoom_requested.emit(self.active if vp is None else vp, float(factor))

    def set_layout(self, count: int) -> None:
        """One-up (1) or two-up (2)."""
        count = 2 if count >= 2 else 1
        if count != self.layout:
            self.layout = count
            self.layout_changed.emit(count)

    def set_active(self, vp: int) -> None:
        """Make ``vp`` the viewport that keys, presets and double-clicks act on."""
        if vp != self.active and 0 <= vp < VIEWPORT_COUNT:
            self.active = vp
            self.active_viewport_changed.emit(vp)
            volume = self.viewports[vp].volume
            if volume is not None:
                self._active_volume_changed(volume)

    def set_sync(self, slices: Optional[bool] = None, views: Optional[bool] = None) -> None:
        """Switch slice synchronisation and zoom/pan linking."""
        if slices is not None:
            self.sync_slices = bool(slices)
        if views is not None:
            self.link_views = bool(views)
        self.sync_changed.emit(self.sync_slices, self.link_views)
        if slices and self.viewports[self.active].volume is not None:
            state = self.viewports[self.active]
            current, state.slice_index = state.slice_index, -1
            self.set_slice(self.active, current)
        if views and self.active in self.views:
            self.set_view(self.active, self.views[self.active])

    def set_tool(self, tool: Tool) -> None:
        """Choose what the left mouse button does."""
        self.tool = Tool(tool)
        self.tool_changed.emit(self.tool.value)

    def set_clahe(self, settings: ClaheSettings) -> None:
        """Switch the CLAHE preview or change its parameters (applies to every viewport)."""
        if settings != self.clahe:
            self.clahe = settings
            self.clahe_changed.emit(settings)

    def set_cursor(self, info: Optional[CursorInfo]) -> None:
        """Report the voxel under the pointer (None when the pointer left the image)."""
        self.cursor_changed.emit(info)

    def loaded_volumes(self) -> list[Optional[Volume]]:
        """The volume of each viewport (None where nothing is loaded)."""
        return [state.volume for state in self.viewports]

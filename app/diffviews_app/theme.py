"""Light, dark or the system's colour scheme for the whole window: Qt's palette (docks, galleries, search fields), the
map's background, the trajectory plot and the message banners. The choice is remembered in the settings.

Widgets drawn by Qt follow the application palette by themselves; the parts that draw their own colours (the vispy
map, pyqtgraph, the banner's style sheet) receive a ``Theme`` through ``ThemeController.changed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

CHOICES = {"system": "Follow the &system", "light": "&Light", "dark": "&Dark"}
SETTING = "view/theme"


@dataclass(frozen=True)
class Theme:
    """Colours of the parts Qt's palette does not reach (CSS names or #rrggbb)."""

    name: str  # "light" or "dark"
    map_background: str
    plot_background: str
    plot_foreground: str
    banner: dict[str, tuple[str, str]] = field(default_factory=dict)  # level -> (background, text)

    @property
    def dark(self) -> bool:
        return self.name == "dark"


LIGHT = Theme("light", "#ffffff", "#ffffff", "#404040", {
    "info": ("#e8f1fb", "#2b5d8a"), "warning": ("#fff4d6", "#8a6100"), "error": ("#fde8e8", "#a12622")})  # fmt: skip
DARK = Theme("dark", "#1b1c1f", "#202124", "#c8c8c8", {
    "info": ("#1d3349", "#a9cdf0"), "warning": ("#3d3218", "#f0d38a"), "error": ("#4a2020", "#f4a9a6")})  # fmt: skip


def dark_palette() -> QPalette:
    """A dark palette with readable placeholder, disabled and link text."""
    p = QPalette()
    window, base, text = QColor("#2b2d30"), QColor("#1f2023"), QColor("#e3e3e3")
    dim = QColor("#8c8c8c")
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text, QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor("#26282b"), QPalette.ColorRole.ToolTipBase: QColor("#3c3f41"),
        QPalette.ColorRole.ToolTipText: text, QPalette.ColorRole.PlaceholderText: QColor("#9a9a9a"),
        QPalette.ColorRole.Text: text, QPalette.ColorRole.Button: QColor("#35383b"),
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.BrightText: QColor("#ff6b6b"),
        QPalette.ColorRole.Light: QColor("#4a4d50"), QPalette.ColorRole.Midlight: QColor("#3e4144"),
        QPalette.ColorRole.Mid: QColor("#55585c"), QPalette.ColorRole.Dark: QColor("#18191b"),
        QPalette.ColorRole.Shadow: QColor("#0d0d0e"), QPalette.ColorRole.Highlight: QColor("#3d6fb4"),
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"), QPalette.ColorRole.Link: QColor("#7ab4f5"),
    }  # fmt: skip
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, dim)
    return p


def system_is_dark(app: QGuiApplication) -> bool:
    """The system's scheme (Qt's colour-scheme hint; else whether the start palette's window colour is dark)."""
    scheme = app.styleHints().colorScheme()
    if scheme != Qt.ColorScheme.Unknown:
        return scheme == Qt.ColorScheme.Dark
    return _start_palette(app).color(QPalette.ColorRole.Window).lightness() < 128


def _start_palette(app: QGuiApplication) -> QPalette:
    """The palette the application started with (the system's), kept once for every window of the process."""
    if not hasattr(app, "_diffviews_start_palette"):
        app._diffviews_start_palette = QPalette(app.palette())
    return app._diffviews_start_palette


class ThemeController(QObject):
    """Holds the choice (system / light / dark), applies it to the application palette and announces the resolved
    ``Theme`` to the parts that draw their own colours."""

    changed = Signal(object)  # Theme

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.app = QGuiApplication.instance()
        _start_palette(self.app)
        choice = str(settings.value(SETTING, "system"))
        self.choice = choice if choice in CHOICES else "system"
        self.theme = LIGHT
        self.app.styleHints().colorSchemeChanged.connect(self._system_changed)

    def set_choice(self, choice: str, remember: bool = True) -> None:
        """Apply ``choice``; ``remember`` keeps it in the settings for the next start (not ``--theme``'s)."""
        if choice not in CHOICES:
            raise ValueError(f"theme must be one of {', '.join(CHOICES)}, got {choice!r}")
        self.choice = choice
        if remember:
            self.settings.setValue(SETTING, choice)
        self.apply()

    def apply(self) -> None:
        dark = system_is_dark(self.app) if self.choice == "system" else self.choice == "dark"
        self.theme = DARK if dark else LIGHT
        if self.choice == "system":
            palette = _start_palette(self.app)
        else:
            palette = dark_palette() if dark else QApplication.style().standardPalette()
        self.app.setPalette(palette)
        self.changed.emit(self.theme)

    def _system_changed(self, *_args) -> None:
        if self.choice == "system":
            self.apply()

"""The pending list and recent sales (with reprint), and the features that need the server.

Pending shows every entry the back office has not accepted, with its time, total,
state and, for a rejected one, the reason, so nothing waits unseen until cash-up.
Returns and the server's history need a connection; their buttons say so plainly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import BooleanProperty, StringProperty  # type: ignore[import-untyped]
from kivy.uix.boxlayout import BoxLayout  # type: ignore[import-untyped]

from appliance.ui.screens.base import ViewScreen, show_message
from appliance.ui.viewmodels.pending import PendingState
from appliance.ui.viewmodels.recent import RecentState

if TYPE_CHECKING:
    from appliance.ui.app import RegisterApp


class ListRow(BoxLayout):  # type: ignore[misc]
    """One row of a list: time, what, total, where it stands, and a note under it."""

    time = StringProperty("")
    what = StringProperty("")
    total = StringProperty("")
    state = StringProperty("")
    note = StringProperty("")
    alarm = BooleanProperty(False)
    tag = StringProperty("")


class PendingScreen(ViewScreen):
    """Every unsent and rejected entry (see the module docstring)."""

    def attach(self, app: RegisterApp) -> None:
        """Bind to the pending list and the header."""
        super().attach(app)
        self.pending = app.session.pending
        header = self.ids.header
        header.actions([("sell", "Back to sale")], app.menu)
        app.session.header.subscribe(header.render)
        header.render(app.session.header.state)
        self.pending.subscribe(self.render)
        self.render(self.pending.state)

    def opened(self) -> None:
        """Read the list (and the counts) again."""
        self.pending.refresh()
        self.app.session.header.refresh()

    def render(self, state: PendingState) -> None:
        """Draw a pending state."""
        self.ids.summary.text = state.summary
        if self.changed("rows", state.rows):
            box = self.ids.rows
            box.clear_widgets()
            for r in state.rows:
                note = f"Rejected: {r.reason}" if r.rejected and r.reason else r.reason
                box.add_widget(
                    ListRow(
                        time=r.time,
                        what=f"{r.kind} #{r.seq}",
                        total=r.total,
                        state=r.state,
                        note=note,
                        alarm=r.rejected,
                    )
                )
        show_message(self.ids.banner, [(state, self.pending)])


class RecentScreen(ViewScreen):
    """The latest sales, each with Reprint."""

    def attach(self, app: RegisterApp) -> None:
        """Bind to the recent sales."""
        super().attach(app)
        self.recent = app.session.recent
        self.recent.subscribe(self.render)
        self.render(self.recent.state)

    def opened(self) -> None:
        """Read the latest sales."""
        self.recent.refresh()

    def render(self, state: RecentState) -> None:
        """Draw the recent sales."""
        if self.changed("rows", state.rows):
            box = self.ids.rows
            box.clear_widgets()
            for r in state.rows:
                row = ListRow(time=r.time, what=f"Sale {r.number}", total=r.total, state=r.state)
                row.tag = r.id
                box.add_widget(row)
        show_message(self.ids.banner, [(state, self.recent)])

    def server_only(self, feature: str) -> None:
        """A feature only the back office has: the register says whether it can reach it."""
        self.recent.needs_connection(feature)

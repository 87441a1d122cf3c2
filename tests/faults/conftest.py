"""The fault suite's figures, printed at the end of a run: stops tried mid-job and, over every message the suite
checked, how many were lost, duplicated, or reported to the admins as possibly sent although they never left."""

from __future__ import annotations

from _pytest.terminal import TerminalReporter

from tests.faults.daemon import FIGURES

SHOWN = ("SIGKILL", "SIGTERM", "messages", "lost", "duplicated", "falsely possibly sent", "told unconfirmed")


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault figures")
    for database, counts in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{database}: " + ", ".join(f"{name} {counts[name]}" for name in SHOWN))

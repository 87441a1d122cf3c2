"""Small shared test helpers: a backoff that doesn't wait; Debian's chromium for the browser tests (Playwright drives
it by path: no browser download)."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium keeps trying hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def no_sleep(_: float) -> None:
    """A retry backoff that doesn't wait (tests control time, they don't spend it)."""
    return None

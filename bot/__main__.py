"""`python -m bot` and the `laba` command: the CLI of `bot.cli`, imported with the garbage collector paused and its
objects frozen."""

from __future__ import annotations

import gc
from collections.abc import Callable


def import_cli() -> Callable[[], None]:
    """`bot.cli.main`, imported the cheap way. Importing the daemon creates about a hundred thousand objects that
    live as long as the process (modules, classes, functions, the models' validators): the collector is paused
    while they are made, then they are frozen (`gc.freeze`), so no collection ever walks them again. Without the
    freeze, the first collection after the import walked them all: 40-60 ms, a tenth of `laba run`'s start-up.
    The price: the import's own leftover cycles (~40,000 small objects) are never freed, ~0.2 MB of idle RSS."""
    gc.disable()
    try:
        from bot.cli import main

        gc.freeze()
    finally:
        gc.enable()
    return main


def main() -> None:
    import_cli()()


if __name__ == "__main__":
    main()

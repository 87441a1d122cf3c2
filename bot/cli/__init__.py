"""The `laba` command (also `python -m bot`): a thin layer over `bot.app`. Exit 2 on bad input, with every problem.

Each module registers its commands on the one `main` group, which imports a module when one of its commands is
asked for (`bot.cli.base.COMMAND_MODULES`).
"""

from bot.cli.base import main

__all__ = ["main"]

"""The `laba` command (also `python -m bot`): a thin layer over `bot.app`. Exit 2 on bad input, with every problem.

Each module registers its commands on the one `main` group.
"""

from bot.cli import audio as audio
from bot.cli import campaign as campaign
from bot.cli import importer as importer
from bot.cli import ledger as ledger
from bot.cli import robots as robots
from bot.cli import sorting as sorting
from bot.cli import web as web
from bot.cli import wechat as wechat
from bot.cli.base import main

__all__ = ["main"]

"""Garbage sorting questions: the shipped dictionary (GB/T 19095-2019's four categories), a town's additions in its
`sorting.yaml`, a tolerant lookup that never guesses, and the answers villagers get in their groups.

`handlers(...)` gives the inbound handler `bot.app.build` registers. It checks the town's `sorting.yaml` at once
(a broken file is a ConfigError, like the other town files); the dictionary itself is built on the first question.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.config.campaign import LoadedCampaign
from bot.inbound import InboundHandler
from bot.pipeline import Pipeline
from bot.sorting.answers import SortingAnswers
from bot.sorting.dictionary import SortingDictionary
from bot.sorting.files import DictionarySource, build_dictionary, read_town
from bot.store.sorting import QuestionStore
from bot.store.sql import SqlStore


def handlers(
    current: Callable[[], LoadedCampaign], pipeline: Pipeline, store: SqlStore, schedules: Path
) -> list[InboundHandler]:
    """Raises ConfigError if the town's sorting.yaml is broken."""
    read_town(schedules)
    source = DictionarySource(schedules)
    return [SortingAnswers(current, pipeline, QuestionStore(store), source.get)]


__all__ = ["DictionarySource", "SortingAnswers", "SortingDictionary", "build_dictionary", "handlers"]

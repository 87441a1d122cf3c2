"""The shipped dictionary, built once for the whole test session (it is immutable)."""

from __future__ import annotations

import pytest

from bot.sorting.dictionary import SortingDictionary
from bot.sorting.files import build_dictionary


@pytest.fixture(scope="session")
def dictionary() -> SortingDictionary:
    return build_dictionary(None)

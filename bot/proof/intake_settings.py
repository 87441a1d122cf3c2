"""How the proof intake files and answers photos: limits, duplicates, the acknowledgement window, strangers' quota."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.proof.attribution import Timing
from bot.proof.bind_caps import BindCaps
from bot.proof.images import Limits


@dataclass(frozen=True)
class IntakeSettings:
    limits: Limits = field(default_factory=Limits)
    near_distance: int = 6  # perceptual-hash bits that may differ for two photos to count as the same picture
    carry_over: timedelta = timedelta(hours=2)  # a sender's burst of photos follows their last choice this long
    # One acknowledgement per burst: sent once a sender has posted nothing more for this long (0: every message
    # answered at once). WeChat delivers a 9-photo post as 9 messages, about a second apart on a village network.
    ack_window: timedelta = timedelta(seconds=5)
    bind_caps: BindCaps = field(default_factory=BindCaps)
    # Photos kept in a day for someone who is no unit's contact and has no approved binding (issue 13): beyond
    # this they are refused with the reason, so a stranger can't fill the disk and the ledger.
    stranger_photos_per_day: int = 20
    # How long a text naming an activity applies to the sender's photos, and how soon after a photo a text may be its
    # caption (see `bot.proof.attribution`).
    timing: Timing = field(default_factory=Timing)

"""Run as `python -m tests.proof.intake_memory WORKDIR PHOTO...`: each photo through the whole intake (router,
pipeline, SQLite store, evidence files) in a fresh process, one after the other; prints a JSON line per photo with
the growth of the peak RSS it caused, the record's status and reason, and the reply. An ordinary photo goes first,
so imports, the database and the plan are already loaded: what is measured is what each photo costs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from bot.config.campaign import Sources
from tests.proof.conftest import at, make_town, message, photo

ROOT = Path(__file__).resolve().parents[2]
CONTACT = "lidehua-changchun"


def status_mb(field: str) -> float:
    """A figure of this process from /proc (VmRSS, VmHWM), in MB. Not `getrusage`: its peak survives `exec`, so a
    child starts with its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def reset_peak() -> float:
    """Start the peak (VmHWM) afresh from the current RSS (Linux ≥ 4.0); returns the RSS."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_mb("VmRSS")


def main(work: Path, photos: list[Path]) -> None:
    sources = Sources(work / "schedules" / "jinxi", work / "messages")
    shutil.copytree(ROOT / "schedules" / "jinxi", sources.schedules)
    shutil.copytree(ROOT / "messages", sources.messages)
    for town in make_town(sources, work):
        town.say(message(CONTACT, at(4, 8), photos=(photo(1),), group="changchun-work"))
        for minute, path in enumerate(photos, start=1):
            data = path.read_bytes()
            before = reset_peak()
            replies = town.say(message(CONTACT, at(4, 8, 11, minute), photos=(data,), group="changchun-work"))
            grown = status_mb("VmHWM") - before
            item = town.intake.evidence.items()[-1]
            result = {"grown_mb": grown, "status": item.status.value, "reason": item.reason, "replies": replies}
            print(json.dumps(result, ensure_ascii=False), flush=True)
            del data


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(a) for a in sys.argv[2:]])

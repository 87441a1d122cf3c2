#!/usr/bin/env python3
"""laba import benchmark: the 2024 seed notice, as published text and as a .docx, into a checked draft plan, next to
`laba check` alone on the same town (the check is part of every import).

    python benchmarks/bench_import.py               # median of 5 timed runs after a warm-up
    python benchmarks/bench_import.py --json        # the same figures as JSON
    python benchmarks/bench_import.py --check       # exit 1 if a whole import takes more than 2 s

Timed: `bot.notice.importing.prepare` (read the notice, understand it, match units, emit YAML) and
`importing.check` (the same load as `laba check`, in a scratch folder). Baseline: `bot.config.campaign.load` on the
金溪 folder with its shipped plan. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config.campaign import Sources, load  # noqa: E402
from bot.notice import importing  # noqa: E402
from tests.notice.notices import SEED, seed_docx  # noqa: E402

TARGET_S = 2.0


def timed(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    fn()  # warm-up: imports, the template folder in the OS cache
    runs = []
    for _ in range(repeat):
        start = perf_counter()
        fn()
        runs.append(perf_counter() - start)
    return {"median_s": statistics.median(runs), "min_s": min(runs), "max_s": max(runs)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    messages = ROOT / "messages"
    with tempfile.TemporaryDirectory() as tmp:
        town = Path(tmp) / "jinxi"
        shutil.copytree(ROOT / "schedules" / "jinxi", town)
        docx_path = seed_docx(Path(tmp) / "seed.docx")
        (town / "plan-2024.yaml").unlink()
        out = Path(tmp) / "draft.yaml"

        def whole(notice: Path) -> Callable[[], object]:
            return lambda: importing.check(importing.prepare(notice, town, output=out), town, messages)

        figures = {
            "check_only": timed(lambda: load(Sources(ROOT / "schedules" / "jinxi", messages)), args.repeat),
            "prepare_txt": timed(lambda: importing.prepare(SEED, town, output=out), args.repeat),
            "prepare_docx": timed(lambda: importing.prepare(docx_path, town, output=out), args.repeat),
            "import_txt": timed(whole(SEED), args.repeat),
            "import_docx": timed(whole(docx_path), args.repeat),
        }
    worst = max(figures["import_txt"]["median_s"], figures["import_docx"]["median_s"])
    if args.json:
        print(json.dumps({"python": platform.python_version(), "target_s": TARGET_S, **figures}, indent=2))
    else:
        for name, f in figures.items():
            spread = f"min {f['min_s'] * 1000:.1f}, max {f['max_s'] * 1000:.1f}"
            print(f"{name:13} median {f['median_s'] * 1000:7.1f} ms  ({spread})")
        print(f"whole import: {worst * 1000:.0f} ms (target under {TARGET_S:.0f} s)")
    return 1 if args.check and worst > TARGET_S else 0


if __name__ == "__main__":
    sys.exit(main())

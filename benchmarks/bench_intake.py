#!/usr/bin/env python3
"""laba proof intake benchmark: 1,000 photos through the real intake, next to a bare Pillow loop over the same files.

    python benchmarks/bench_intake.py                  # median of 5 pairs, SQLite in a temporary folder
    python benchmarks/bench_intake.py --json           # the same figures as JSON
    python benchmarks/bench_intake.py --check          # exit 1 if intake takes more than 1.5x the bare loop

Intake: `ProofIntake.handle` for one message per photo (as WeChat delivers a multi-photo post), in bursts of 1 to 9
photos (uniform, fixed seed: ~200 bursts for 1,000 photos) from the contacts of April 2024's 13 responsible units in
turn, each in its unit's work group, inside the activity's window: Pillow decode (at reduced scale) under size and
pixel limits, EXIF time, SHA-256, perceptual hash, the content-addressed file on disk, exact and near duplicate
checks against every earlier photo, the database row and its log line, the running count, and one acknowledgement
per burst (claimed and recorded exactly-once through `Pipeline.send_now` on a `MemoryChannel`) when its quiet window
closes: `ProofIntake.flush()` after each burst does what the window's timer does, without waiting it out. The timed
region ends after the last flush. A fresh SQLite store and evidence folder per run. Thumbnails for reports are made
later, when a report first needs them.
Baseline: for each file, read it, `Image.open` and `thumbnail((320, 320))` (which also decodes at reduced scale).

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import platform
import random
import statistics
import sys
import tempfile
from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from time import perf_counter
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from bot.channels.base import Attachment, InboundMessage
from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources, load
from bot.pipeline import Pipeline
from bot.proof.images import THUMB_SIZE
from bot.proof.intake import ProofIntake
from bot.store.evidence import EvidenceStore
from bot.store.sql import open_store

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5
START = datetime(2024, 4, 8, 9, 0, tzinfo=TOWN_ZONE)
LARGEST_POST = 9  # photos: WeChat lets a user pick up to 9 at once


def bursts(count: int, largest: int = LARGEST_POST, seed: int = 5) -> list[int]:
    """Sizes of the posts `count` photos arrive in (1 to `largest` each, the same for every run)."""
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < count:
        sizes.append(min(rng.randint(1, largest), count - sum(sizes)))
    return sizes


def make_photos(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """`count` different photo-like JPEGs (shapes, blur, sensor noise), made once and kept in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo-{size[0]}x{size[1]}-{i:04d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        rng = random.Random(i)
        im = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(im)
        w, h = size
        for _ in range(30):
            x0, y0 = rng.randrange(w), rng.randrange(h)
            box = [x0, y0, x0 + rng.randrange(w // 10, w // 2), y0 + rng.randrange(h // 10, h // 2)]
            fill = tuple(rng.randrange(256) for _ in range(3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
        im = im.filter(ImageFilter.GaussianBlur(2))
        noise = Image.effect_noise(size, 18).convert("RGB")
        im = Image.blend(im, noise, 0.12)
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = (START - timedelta(days=1, minutes=i)).strftime("%Y:%m:%d %H:%M:%S")
        im.save(path, "JPEG", quality=85, exif=exif)
    return paths


def bare_loop(paths: list[Path]) -> float:
    t0 = perf_counter()
    for path in paths:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            im.thumbnail(THUMB_SIZE)
    return perf_counter() - t0


def intake_run(paths: list[Path], workdir: Path, largest: int = LARGEST_POST) -> float:
    loaded = load(Sources(ROOT / "schedules" / "jinxi", ROOT / "messages"))
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'laba.db'}", TOWN_ZONE)
        try:
            clock = VirtualClock(START)
            channel = MemoryChannel()
            pipeline = Pipeline(lambda: loaded, store, channel, clock, "bench")
            intake = ProofIntake(lambda: loaded, pipeline, EvidenceStore(store, Path(tmp) / "evidence"))

            # Photos come from every unit responsible in April, in turn (a town's real mix, ~77 photos a unit).
            act = next(a for p in loaded.campaign.plans for a in p.activities if a.month == 4)
            senders = [
                (u.contacts[0], next(g.id for g in u.groups if g.kind.value == "work"))
                for u in loaded.campaign.responsible_units(act)
            ]

            posts = bursts(len(paths), largest)
            sender_of = [b for b, size in enumerate(posts) for _ in range(size)]  # photo i is in post sender_of[i]

            async def go() -> float:
                t0 = perf_counter()
                for i, path in enumerate(paths):
                    post = sender_of[i]
                    person, group = senders[post % len(senders)]
                    at = START + timedelta(seconds=i)
                    clock.set(at)
                    data = path.read_bytes()
                    message = InboundMessage(
                        message_id=f"bench-{i}",
                        sender=f"wxid_{person.wechat}",
                        sender_name=person.name,
                        sender_wechat=person.wechat,
                        text="",
                        received_at=at,
                        kind="image",
                        group=group,
                        room_id=f"room-{group}",
                        attachments=(Attachment(path.name, data),),
                    )
                    if not await intake.handle(message):
                        raise RuntimeError(f"intake did not take {path.name}")
                    if i + 1 == len(paths) or sender_of[i + 1] != post:
                        await intake.flush()  # the post's quiet window closes: its one acknowledgement
                elapsed = perf_counter() - t0
                if len(channel.sent) != len(posts):
                    raise RuntimeError(f"expected {len(posts)} acknowledgements, got {len(channel.sent)}")
                return elapsed

            return asyncio.run(go())
        finally:
            store.close()


def stats(samples: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def measure(
    paths: list[Path], workdir: Path, repeat: int, largest: int = LARGEST_POST
) -> tuple[dict[str, Any], dict[str, Any], list[float]]:
    """Bare loop and intake in turns, so both meet the same machine (other processes, page cache, CPU clock);
    the ratio is taken per pair. One untimed pair first (imports, caches, reading the files into the page cache)."""
    bare_loop(paths[:50])
    intake_run(paths[:50], workdir, largest)
    bare, intake, ratios = [], [], []
    for _ in range(repeat):
        b = bare_loop(paths)
        i = intake_run(paths, workdir, largest)
        bare.append(b)
        intake.append(i)
        ratios.append(i / b)
    return stats(bare), stats(intake), ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1000, help="how many photos (default 1000)")
    parser.add_argument("--size", default="1280x960", help="photo size in pixels (default 1280x960, WeChat's usual)")
    parser.add_argument("--repeat", type=int, default=5, help="timed pairs (default 5)")
    parser.add_argument(
        "--largest-post",
        type=int,
        default=LARGEST_POST,
        help=f"photos arrive in posts of 1 to this many (default {LARGEST_POST}; 1: an acknowledgement per photo)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "laba-bench-photos",
        help="where the generated photos are kept between runs",
    )
    parser.add_argument(
        "--tmpdir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where each run's database and evidence folder go (the daemon's BOT_DATA_DIR disk)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if intake > {TARGET_RATIO} x the bare loop")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    paths = make_photos(args.cache, args.photos, (width, height))
    total = sum(p.stat().st_size for p in paths)
    bare, intake, ratios = measure(paths, args.tmpdir, args.repeat, args.largest_post)
    ratio = statistics.median(ratios)
    result = {
        "python": platform.python_version(),
        "pillow": version("Pillow"),
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "photos": len(paths),
        "bursts": len(bursts(len(paths), args.largest_post)),
        "size": args.size,
        "megabytes": round(total / 1e6, 1),
        "bare": bare,
        "intake": intake,
        "ratio": ratio,
        "ratios": ratios,
        "target": TARGET_RATIO,
        "ok": ratio <= TARGET_RATIO,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        n = len(paths)
        print(
            f"laba intake benchmark — Python {result['python']}, Pillow {result['pillow']}, {result['cpus']} CPUs; "
            f"median of {args.repeat} timed pairs (bare, intake) after 1 warm-up pair"
        )
        print(
            f"{n} JPEG photos {args.size}, {result['megabytes']} MB, in {result['bursts']} bursts of "
            f"1–{args.largest_post} (one acknowledgement each), SQLite + evidence folder in {args.tmpdir}"
        )
        for label, t in (("bare Pillow open + thumbnail", bare), ("laba intake (ProofIntake.handle)", intake)):
            print(
                f"   {label:<34} {t['median']:7.3f} s  {t['median'] / n * 1000:6.2f} ms/photo"
                f"   (min {t['min']:.3f}, max {t['max']:.3f}, n={t['n']})"
            )
        each = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"   ratio intake / bare                {ratio:7.2f} ×   (median of the pairs: {each})")
        print(f"   target: ≤ {TARGET_RATIO} ×                          {'OK' if result['ok'] else 'MISSED'}")
    return 1 if args.check and not result["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())

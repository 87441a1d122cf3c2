"""Two runners, one database: every (job, target) goes out exactly once between them.

Both are real `laba simulate` processes over the whole 2024 plan, started together against the same database
(PostgreSQL, and an SQLite file), each with its own outbox folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _runner(tmp_path: Path, name: str, url: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "BOT_DATA_DIR": str(tmp_path / name),
        "BOT_DATABASE_URL": url,
        "BOT_CHANNEL": "outbox",
        # No loudspeaker clips (operators get the script): this is about claims; clips have their own tests.
        "BOT_TTS_ENGINE": "none",
        "BOT_AUDIO_DIR": str(tmp_path / name / "audio_out"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "simulate", "--from", "2023-12-01", "--to", "2024-12-31", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_runners_never_send_the_same_message_twice(tmp_path: Path, store_url: str) -> None:
    runners = {name: _runner(tmp_path, name, store_url) for name in ("a", "b")}
    results = {}
    for name, proc in runners.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results[name] = json.loads(out)["deliveries"]

    plan = subprocess.run(
        [sys.executable, "-m", "bot", "plan", "--json"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    expected = {(job["key"], target) for job in json.loads(plan.stdout) for target in job["targets"]}
    sent = {name: {(d["key"], d["target"]) for d in rows if d["status"] == "sent"} for name, rows in results.items()}

    assert sent["a"].isdisjoint(sent["b"])
    assert sent["a"] | sent["b"] == expected
    # 462 messages to groups and people, and 112 loudspeaker clips: 16 broadcast jobs × 7 village operators (the
    # first, January's, reaches them on 2023-12-29: 1月1日 is a holiday).
    assert len(expected) == 462 + 112
    for name in ("a", "b"):
        files = list((tmp_path / name / "outbox").rglob("*.txt"))
        assert len(files) == len(sent[name])
        # Every delivery either of them reports is accounted for: sent by it, or left to the other.
        assert {(d["key"], d["target"]) for d in results[name]} == expected

"""Compiled templates kept in the user's cache folder (BOT_CACHE_DIR): a new process with the same templates
loads them instead of compiling, an edit is compiled afresh, and a damaged or unwritable folder changes nothing but
the time taken."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.base import build_app
from bot.clock import SystemClock
from bot.config.campaign import Sources
from bot.config.compiled import KeptTemplates
from bot.config.loader import load_campaign
from bot.core.render import Renderer
from tests.conftest import ROOT

FOLDER = "compiled-templates"

# Renders one template in a fresh interpreter (so nothing is compiled in memory yet) with its compiled code kept in
# a folder; prints the text and how many templates Jinja had to compile.
PROBE = """
import json, sys
from pathlib import Path
import jinja2
from bot.config.compiled import KeptTemplates
from bot.config.loader import load_campaign
from bot.core.render import Renderer

compiled = []
real_compile = jinja2.Environment.compile
def counting_compile(self, source, name=None, filename=None, raw=False, defer_init=False):
    compiled.append(name)
    return real_compile(self, source, name, filename, raw, defer_init)
jinja2.Environment.compile = counting_compile

folder, source = Path(sys.argv[1]), sys.argv[2]
renderer = Renderer({"probe.j2": source}, load_campaign(Path(sys.argv[3])), compiled=KeptTemplates(folder))
try:
    text = renderer.render_named("probe", {"n": 3})
except Exception as exc:
    text = f"{type(exc).__name__}: {exc}"
print(json.dumps({"text": text, "compiled": compiled}))
"""


def render_in_new_process(folder: Path, source: str) -> tuple[str, int]:
    """The probe's text and the number of templates it compiled."""
    args = [sys.executable, "-c", PROBE, str(folder), source, str(ROOT / "schedules" / "jinxi")]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True, cwd=ROOT)
    out = json.loads(result.stdout.splitlines()[-1])
    return out["text"], len(out["compiled"])


def test_a_new_process_loads_what_an_earlier_one_compiled(tmp_path: Path) -> None:
    folder = tmp_path / "data" / FOLDER
    source = "{{ town.name }}：{% for i in range(n) %}{{ i }}{% endfor %}"
    assert render_in_new_process(folder, source) == ("金溪镇：012", 1)
    assert len(list(folder.iterdir())) == 1
    assert render_in_new_process(folder, source) == ("金溪镇：012", 0)


def test_an_edited_template_is_compiled_afresh_and_kept_in_its_place(tmp_path: Path) -> None:
    folder = tmp_path / FOLDER
    render_in_new_process(folder, "旧：{{ n }}")
    assert render_in_new_process(folder, "新：{{ n }}") == ("新：3", 1)
    assert render_in_new_process(folder, "新：{{ n }}") == ("新：3", 0)
    text, _ = render_in_new_process(folder, "新：{{ n }}\n{{ nope }}")  # an error still names its line
    assert text.startswith("TemplateError: probe.j2:2:")


def test_damaged_files_are_compiled_over(tmp_path: Path) -> None:
    folder = tmp_path / FOLDER
    render_in_new_process(folder, "{{ n }}个")
    for kept in folder.iterdir():
        kept.write_bytes(b"not a compiled template")
    assert render_in_new_process(folder, "{{ n }}个") == ("3个", 1)
    assert render_in_new_process(folder, "{{ n }}个") == ("3个", 0)


def test_a_folder_that_cannot_be_written_only_costs_the_saving(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert render_in_new_process(blocked / FOLDER, "{{ n }}个") == ("3个", 1)
    assert render_in_new_process(blocked / FOLDER, "{{ n }}个") == ("3个", 1)


def test_every_command_keeps_its_compiled_templates_in_the_cache_folder(
    jinxi: Sources, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    daemon = build_app(jinxi.schedules, jinxi.messages, None, SystemClock(), echo=None, daemon=True)
    daemon.close()
    kept = Path(env["BOT_CACHE_DIR"]) / FOLDER
    assert daemon.sources is not None and daemon.sources.compiled == kept
    assert len(list(kept.iterdir())) > 20
    one_shot = build_app(jinxi.schedules, jinxi.messages, None, SystemClock(), echo=None)
    one_shot.close()
    assert one_shot.sources is not None and one_shot.sources.compiled == kept
    assert not (Path(env["BOT_DATA_DIR"]) / FOLDER).exists()  # nothing of it in the town's data


def test_what_the_process_compiled_before_is_kept_in_the_folder_too(tmp_path: Path) -> None:
    campaign = load_campaign(ROOT / "schedules" / "jinxi")
    source = {"kept_probe.j2": "先编译：{{ n }}"}
    assert Renderer(source, campaign).render_named("kept_probe", {"n": 1}) == "先编译：1"  # in memory only
    folder = tmp_path / FOLDER
    assert (
        Renderer(source, campaign, compiled=KeptTemplates(folder)).render_named("kept_probe", {"n": 2}) == "先编译：2"
    )
    assert len(list(folder.iterdir())) == 1
    assert render_in_new_process(folder, "先编译：{{ n }}") == ("先编译：3", 1)  # the probe's own name: compiled

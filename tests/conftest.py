"""Fixtures for every test: a private copy of the 金溪 files, and a guard that fails any test reaching past loopback."""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from bot.clock import TOWN_ZONE
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.store.sql import SqlStore, normalize_url, open_store

ROOT = Path(__file__).resolve().parents[1]

# Every laba the tests start (in this process or a child) keeps its compiled templates here, not in the user's
# ~/.cache; shared by the session, as it would be by a user's commands (tests/config/test_compiled.py: its effect).
_CACHE = tempfile.mkdtemp(prefix="laba-tests-cache-")
os.environ["BOT_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
DEFAULT_POSTGRES_URL = "postgresql://127.0.0.1:5432/test"


@pytest.fixture
def env(jinxi: Sources, tmp_path: Path) -> dict[str, str]:
    """The environment of a `laba` command run on the `jinxi` copy, with everything it writes under tmp_path."""
    return {
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'laba.db'}",
        "BOT_SCHEDULES_DIR": str(jinxi.schedules),
        "BOT_MESSAGES_DIR": str(jinxi.messages),
        "BOT_CHANNEL": "outbox",
        # Loudspeaker clips with the offline voice, into tmp_path: no edge-tts service in tests.
        "BOT_TTS_ENGINE": "offline",
        "BOT_AUDIO_DIR": str(tmp_path / "audio_out"),
        "BOT_CACHE_DIR": str(tmp_path / "cache"),  # not the user's ~/.cache
    }


@pytest.fixture
def jinxi(tmp_path: Path) -> Sources:
    """A copy of `schedules/jinxi` and `messages` under tmp_path: edit it freely, the repository stays as it is."""
    schedules = tmp_path / "schedules" / "jinxi"
    messages = tmp_path / "messages"
    shutil.copytree(ROOT / "schedules" / "jinxi", schedules)
    shutil.copytree(ROOT / "messages", messages)
    return Sources(schedules, messages)


def is_loopback(address: Any) -> bool:
    """True for unix sockets and for 127.0.0.0/8, ::1 and localhost; False for everything else."""
    if isinstance(address, str | bytes):  # AF_UNIX path (or abstract name)
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # any other host name would need DNS: that is the network already
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail (not raise OSError, which code may catch and retry) on any connection to a non-loopback address."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection

    def refuse(address: Any) -> None:
        pytest.fail(f"test tried to reach the network: {address!r} (only loopback is allowed in tests)")

    def connect(self: socket.socket, address: Any) -> None:
        if not is_loopback(address):
            refuse(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not is_loopback(address):
            refuse(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        # Checked before the name lookup, which would itself go out to DNS.
        if not is_loopback(address):
            refuse(address)
        return real_create_connection(address, *args, **kwargs)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # A name lookup of any other host is the network already (DNS), even before a connection is tried.
        if host not in (None, "", b"", "0.0.0.0", "::") and not is_loopback((host, 0)):
            refuse((host, *args[:1]))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)


# --- PostgreSQL: a fresh schema per test on the server named by BOT_TEST_POSTGRES_URL -----------------------


def _admin_engine_url() -> URL:
    return normalize_url(os.environ.get("BOT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


@pytest.fixture(scope="session")
def postgres_url() -> URL:
    """The server's URL, or a skip if it does not answer within a few seconds."""
    url = _admin_engine_url()
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = f"PostgreSQL not reachable at {url.render_as_string()} (set BOT_TEST_POSTGRES_URL): {exc}"
        if os.environ.get("BOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)  # CI must prove the store on PostgreSQL, not skip it
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: URL) -> Iterator[str]:
    """A URL whose connections see only a new, empty schema; the schema is dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = postgres_url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database of each backend."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_schema_url")
        return url
    # A folder that does not exist yet: the store must create it.
    return f"sqlite:///{tmp_path / 'data' / 'laba.db'}"


# --- the real 金溪 files, loaded once per module, and a fresh SQLite store per test --------------------------------


@pytest.fixture(scope="module")
def loaded() -> LoadedCampaign:
    return load(Sources(ROOT / "schedules" / "jinxi", ROOT / "messages"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path / 'laba.db'}", TOWN_ZONE)
    yield s
    s.close()

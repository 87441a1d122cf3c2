"""Settings from Wechaty's variables, FileBox JSON, the wire's quirks."""

from __future__ import annotations

import json

import pytest

from bot.channels.wechaty import WechatySettings, filebox
from bot.channels.wechaty.protocol import cert_path, timestamp_seconds
from bot.channels.wechaty.settings import server_name
from bot.errors import ConfigError


def test_settings_from_wechatys_own_variables() -> None:
    s = WechatySettings.from_env(
        {"WECHATY_PUPPET_SERVICE_ENDPOINT": "10.0.0.5:8788", "WECHATY_PUPPET_SERVICE_TOKEN": "insecure_1234-abcd"}
    )
    assert (s.host, s.port, s.tls, s.sni) == ("10.0.0.5", 8788, True, "insecure")
    assert (s.gap_seconds, s.hourly_cap) == ((5.0, 15.0), 120)


def test_plain_text_and_pacing_switches() -> None:
    s = WechatySettings.from_env(
        {
            "WECHATY_PUPPET_SERVICE_ENDPOINT": "127.0.0.1:8788",
            "WECHATY_PUPPET_SERVICE_TOKEN": "puppet_workpro_abc",
            "WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT": "true",
            "BOT_SEND_GAP_SECONDS": "0",
        }
    )
    assert (s.tls, s.gap_seconds, s.hourly_cap, s.sni) == (False, (0.0, 0.0), 0, "puppet_workpro")
    fixed = WechatySettings.from_env(
        {"WECHATY_PUPPET_SERVICE_ENDPOINT": "h:1", "WECHATY_PUPPET_SERVICE_TOKEN": "t", "BOT_SEND_GAP_SECONDS": "8"}
    )
    assert (fixed.gap_seconds, fixed.hourly_cap) == ((8.0, 8.0), 120)


def test_every_bad_variable_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        WechatySettings.from_env(
            {
                "WECHATY_PUPPET_SERVICE_ENDPOINT": "nohostport",
                "BOT_SEND_GAP_SECONDS": "15-5",
                "BOT_SEND_HOURLY_CAP": "x",
            }
        )
    names = [p.file for p in caught.value.problems]
    assert names == [
        "WECHATY_PUPPET_SERVICE_ENDPOINT",
        "WECHATY_PUPPET_SERVICE_TOKEN",
        "BOT_SEND_GAP_SECONDS",
        "BOT_SEND_HOURLY_CAP",
    ]
    with pytest.raises(ConfigError, match="没有设置微信网关地址"):
        WechatySettings.from_env({})


def test_server_name_from_token() -> None:
    assert server_name("insecure_5f2b-11") == "insecure"
    assert server_name("my_sni_name_uuid") == "my_sni_name"
    assert server_name("plain") == "plain"


def test_timestamps_in_seconds_or_milliseconds() -> None:
    assert timestamp_seconds(1_716_000_000) == 1_716_000_000.0
    assert timestamp_seconds(1_716_000_000_123) == pytest.approx(1_716_000_000.123)


def test_filebox_json_as_gateways_write_it() -> None:
    box = filebox.from_bytes("海报.png", b"\x89PNG data")
    raw = json.loads(box.to_json())
    assert raw["type"] == raw["boxType"] == 1 and raw["name"] == "海报.png" and raw["size"] == 9
    assert filebox.parse(box.to_json()).data() == b"\x89PNG data"
    uuid_box = filebox.parse('{"boxType": 7, "uuid": "u-1", "name": "a.jpg", "metadata": {}}')
    assert (uuid_box.type, uuid_box.uuid) == (filebox.BoxType.UUID, "u-1")
    url_box = filebox.parse('{"type": 2, "remoteUrl": "https://x/y.jpg", "name": "y.jpg"}')
    assert url_box.url == "https://x/y.jpg"
    with pytest.raises(filebox.FileBoxError):
        uuid_box.data()
    with pytest.raises(filebox.FileBoxError):
        filebox.parse('{"type": 99}')
    with pytest.raises(filebox.FileBoxError):
        filebox.parse("not json")


def test_the_wechaty_ca_ships_in_the_package() -> None:
    assert cert_path("wechaty-ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")

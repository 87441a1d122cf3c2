"""The sandbox refuses what another site could make a browser send: a forged `Host` (DNS rebinding) gets 421, a
state-changing request from another origin or without the page's token gets 403 and changes nothing; the page's
own requests (with its token) still work. Against the real `python -m bot sandbox` process, over loopback."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.sandbox.test_page import sandbox_url as sandbox_url  # the running sandbox (same fixture as the page test)


def call(url: str, method: str = "GET", body: bytes | None = None, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # loopback only
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def state(url: str) -> dict[str, Any]:
    status, text = call(url + "api/state")
    assert status == 200
    result: dict[str, Any] = json.loads(text)
    return result


def token_of(url: str) -> str:
    status, page = call(url)
    assert status == 200
    found = re.search(r'<meta name="laba-token" content="([^"]+)">', page)
    assert found is not None and len(found.group(1)) >= 40
    return found.group(1)


def test_a_forged_host_is_refused(sandbox_url: str) -> None:
    port = sandbox_url.rsplit(":", 1)[1].strip("/")
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.nip.io:{port}"):
        status, text = call(sandbox_url, Host=host)
        assert status == 421 and "请用 http://127.0.0.1:" in text, host
        assert call(sandbox_url + "api/state", Host=host)[0] == 421
    assert call(sandbox_url.replace("127.0.0.1", "localhost"))[0] == 200


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("api/say", b'{"room": "x", "sender": "y", "text": "#\\u6682\\u505c"}', "text/plain"),  # a form's body
        ("api/next", b"", "text/plain"),
        ("api/photo", b"--b--\r\n", "multipart/form-data; boundary=b"),
    ],
)
def test_cross_site_and_tokenless_requests_are_refused_and_change_nothing(
    sandbox_url: str, path: str, body: bytes, content_type: str
) -> None:
    before = state(sandbox_url)
    token = token_of(sandbox_url)
    origin = sandbox_url.rstrip("/")
    refused = [
        call(sandbox_url + path, "POST", body, **{"Content-Type": content_type, "Origin": "http://evil.example"}),
        call(sandbox_url + path, "POST", body, **{"Content-Type": content_type, "Origin": "null"}),
        call(sandbox_url + path, "POST", body, **{"Content-Type": content_type, "Origin": origin}),  # no token
        call(sandbox_url + path, "POST", body, **{"Content-Type": content_type, "X-Laba-Token": token[:-1] + "x"}),
        call(sandbox_url + path, "POST", body, **{"Origin": "http://evil.example", "X-Laba-Token": token}),
    ]
    assert [status for status, _ in refused] == [403] * 5
    assert "别的网站" in refused[0][1] and "刷新沙盒页面" in refused[2][1]
    after = state(sandbox_url)
    assert (after["seq"], after["next"], after["heard"]) == (before["seq"], before["next"], before["heard"])


def test_the_pages_own_requests_work(sandbox_url: str) -> None:
    token = token_of(sandbox_url)
    origin = sandbox_url.rstrip("/")
    status, text = call(sandbox_url + "api/next", "POST", b"", Origin=origin, **{"X-Laba-Token": token})
    assert status == 200 and "发出 7 条" in json.loads(text)["message"]
    group = next(g for g in state(sandbox_url)["groups"] if not g["robot"] and "工作群" in g["name"])
    said = json.dumps({"chat": group["chat"], "sender": group["members"][0]["id"], "text": "收到"}).encode()
    headers = {"Content-Type": "application/json", "X-Laba-Token": token}  # no Origin: a script on this machine
    assert call(sandbox_url + "api/say", "POST", said, **headers)[0] == 200

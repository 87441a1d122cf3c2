"""The units' upload page over HTTP: the link from the proof request, photos filed through the chat intake, a
token that only adds to its own unit and activity, bounded bodies, bombs and non-images refused."""

from __future__ import annotations

import socket
import tracemalloc
import uuid
from typing import Any

from bot.store.evidence import EvidenceStatus, Flag
from tests.proof.conftest import at, photo, png_bomb
from tests.web.conftest import Client, Site


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def send_photo(
    client: Client, link: str, data: bytes, client_id: str = "", name: str = "p.jpg", **extra: str
) -> dict[str, Any]:
    body, kind = multipart({"id": client_id or uuid.uuid4().hex, **extra}, [("photo", name, data)])
    reply = client.request("POST", f"{link}/photo", body, {"Content-Type": kind})
    return {"http": reply.status, **reply.json()}


def test_the_proof_request_carries_the_units_link_and_the_page_shows_the_unit(april: Site) -> None:
    sent = april.channel.texts_to("changchun-work")
    assert sent and "https://laba.example.cn/u/" in sent[-1]
    link = april.link("changchun")
    assert link in sent[-1]
    page = april.client().get(link)
    assert page.status == 200
    assert "长春村" in page.text and "敲门" in page.text and "至少 3 张" in page.text
    assert "杉岭村" not in page.text


def test_the_chase_carries_the_same_link(april: Site) -> None:
    april.run_jobs("chase", 4)
    assert april.link("changchun") in april.channel.texts_to("changchun-work")[-1]


def test_photos_are_filed_for_the_links_unit_once_each(april: Site) -> None:
    client = april.client()
    link = april.link("changchun")
    first = send_photo(client, link, photo(1), "a1")
    assert first["http"] == 200 and first["status"] == "ok" and first["counted"] == 1
    assert "已收到 长春村" in first["text"] and "还差 2 张" in first["text"]
    again = send_photo(client, link, photo(1), "a1")  # the same request sent twice: filed once
    assert again["counted"] == 1
    dup = send_photo(client, link, photo(1), "a2")  # the same photo again: kept, flagged, not counted
    assert dup["status"] == "flagged" and "同一张照片" in dup["text"] and dup["counted"] == 1
    junk = send_photo(client, link, b"%PDF-1.4 not a photo", "a3", name="表格.pdf")
    assert junk["status"] == "refused" and "不是能打开的图片" in junk["text"]
    items = april.console.evidence.items(["2024-04"])
    assert {i.unit_id for i in items} == {"changchun"}
    assert [i.status for i in items] == [EvidenceStatus.ACCEPTED, EvidenceStatus.ACCEPTED, EvidenceStatus.REFUSED]
    assert Flag.DUPLICATE in items[1].flags


def test_a_token_adds_only_to_its_own_unit(april: Site) -> None:
    client = april.client()
    send_photo(client, april.link("changchun"), photo(5), unit="shanling", activity="2024-05")
    items = april.console.evidence.items()
    assert [(i.unit_id, i.activity_id) for i in items] == [("changchun", "2024-04")]
    assert april.console.evidence.count("2024-04", "shanling") == 0


def test_unknown_revoked_and_expired_links_are_refused(april: Site) -> None:
    client = april.client()
    assert client.get("/u/not-a-token").status == 404
    link = april.link("changchun")
    april.console.web.revoke_link(link.removeprefix("/u/"), "admin-ran", april.clock.now())
    assert client.get(link).status == 410
    assert (
        client.request("POST", f"{link}/photo", b"", {"Content-Type": "multipart/form-data; boundary=x"}).status == 410
    )
    other = april.link("shanling")
    april.clock.set(at(5, 20))  # long after April's window closed
    gone = client.get(other)
    assert gone.status == 410 and "截止" in gone.text


def test_a_declared_100_mb_upload_is_refused_before_it_is_read(april: Site) -> None:
    link = april.link("changchun")
    with socket.create_connection(("127.0.0.1", april.client().port), timeout=30) as s:
        head = (
            f"POST {link}/photo HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
        )
        s.sendall(head.encode() + b"x" * 1024)  # the rest is never sent: the answer must not wait for it
        answer = s.recv(65536).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413")
    assert april.console.evidence.items() == []


def test_a_100_mb_chunked_upload_is_cut_off_at_the_photo_limit(april: Site) -> None:
    link = april.link("changchun")
    boundary = "b0undary"
    head = (
        f"POST {link}/photo HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="big.jpg"\r\n\r\n'.encode()
    chunk = b"\xff" * (1024 * 1024)
    sent = 0
    tracemalloc.start()  # the server runs in this process: its Python allocations are traced too
    with socket.create_connection(("127.0.0.1", april.client().port), timeout=60) as s:
        s.sendall(head.encode() + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        try:
            while sent < 100:
                s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: it stopped reading
        answer = s.recv(65536).decode(errors="replace")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "照片太大" in answer
    # At most one photo's worth (25 MB) was ever held; whatever the client sent past it was discarded unread.
    limit = april.intake.settings.limits.max_bytes
    assert peak < limit + 10 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB after sending {sent} MB"
    assert april.console.evidence.items() == []


def test_a_decompression_bomb_is_refused_with_a_reason(april: Site) -> None:
    result = send_photo(april.client(), april.link("changchun"), png_bomb(), name="bomb.png")
    assert result["status"] == "refused" and "像素太多" in result["text"]
    assert april.console.evidence.count("2024-04", "changchun") == 0


def test_the_form_without_script_files_several_photos(april: Site) -> None:
    client = april.client()
    link = april.link("shanling")
    body, kind = multipart(
        {}, [("photo", "1.jpg", photo(31)), ("photo", "2.jpg", photo(32)), ("photo", "x.txt", b"hi")]
    )
    page = client.request("POST", link, body, {"Content-Type": kind})
    assert page.status == 200
    assert page.text.count("已收到 杉岭村") == 2 and "没收下" in page.text
    assert april.console.evidence.count("2024-04", "shanling") == 2

"""`WechatySender`: hands texts and files to the gateway, one at a time through the pacer.

Contracts:
- A send waits (at most `wait_seconds` for each of: the gateway, the login, the rooms) rather than failing at once.
- A send that certainly did not go out is a transient `DeliveryError` (the pipeline retries it); a refused
  connection is retried here after the supervisor reconnects, since nothing reached the gateway. A send that may
  have reached the gateway before the connection broke is an *uncertain* `DeliveryError`: never resent blindly.
- The ids of our own sends are remembered (`OwnMessages`), so the gateway's echoes of them are dropped.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable

from grpclib.const import Cardinality
from wechaty_grpc.wechaty import PuppetStub

from bot.channels.base import Handoff, OutgoingFile, no_handoff
from bot.channels.pacing import RateLimiter
from bot.channels.wechaty import filebox
from bot.channels.wechaty.connection import GatewayConnection
from bot.channels.wechaty.directory import WechatyDirectory
from bot.channels.wechaty.faults import GatewayUnreachable, gateway_errors
from bot.channels.wechaty.protocol import UploadRequest, UploadResponse
from bot.channels.wechaty.runtime import Changes
from bot.core.planner import Target
from bot.errors import DeliveryError

log = logging.getLogger(__name__)

RPC_TIMEOUT = 30.0
UPLOAD_ABOVE = 3 * 1024 * 1024  # gRPC refuses messages over 4 MB by default; base64 adds a third
CHUNK = 256 * 1024

Call = Callable[[PuppetStub], Awaitable[str | None]]


class OwnMessages:
    """Ids of our recent sends. Gateways may echo a send before its reply arrives: `is_own` then waits for the
    send in flight to finish (once: a stranger's message is never held up by more than one send)."""

    def __init__(self, size: int = 512) -> None:
        self._ids: collections.deque[str] = collections.deque(maxlen=size)
        self._set: set[str] = set()
        self.in_flight = False  # an RPC is on the wire (not merely waiting for its pacing gap)
        self._finished = asyncio.Event()

    def add(self, message_id: str) -> None:
        if len(self._ids) == self._ids.maxlen:
            self._set.discard(self._ids[0])
        self._ids.append(message_id)
        self._set.add(message_id)

    def send_finished(self) -> None:
        self._finished.set()
        self._finished = asyncio.Event()

    async def is_own(self, message_id: str) -> bool:
        if message_id in self._set:
            return True
        if self.in_flight:
            await self._finished.wait()
        return message_id in self._set


class WechatySender:
    def __init__(
        self,
        link: GatewayConnection,
        directory: WechatyDirectory,
        pacer: RateLimiter,
        changes: Changes,
        state_text: Callable[[], str],
        wait_seconds: float,
    ) -> None:
        self._link = link
        self._directory = directory
        self.pacer = pacer
        self._changes = changes
        self._state_text = state_text
        self.wait_seconds = wait_seconds
        self.own = OwnMessages()

    async def send_text(self, target: Target, text: str, handoff: Handoff = no_handoff) -> str:
        conversation, mentions, prefix = await self._address(target)

        async def call(stub: PuppetStub) -> str | None:
            resp = await stub.message_send_text(conversation_id=conversation, text=prefix + text, mentonal_ids=mentions)
            return str(resp.id) if resp.id else None

        return await self._send(target, call, handoff)

    async def send_file(self, target: Target, file: OutgoingFile, handoff: Handoff = no_handoff) -> str:
        try:
            data = await asyncio.to_thread(file.path.read_bytes)
        except OSError as exc:
            raise DeliveryError(f"读不到要发送的文件 {file.path}: {exc}", permanent=True) from exc
        conversation, _, _ = await self._address(target)

        async def call(stub: PuppetStub) -> str | None:
            if len(data) > UPLOAD_ABOVE:
                box = filebox.from_uuid(file.name, await self._upload(data), len(data))
            else:
                box = filebox.from_bytes(file.name, data)
            resp = await stub.message_send_file(conversation_id=conversation, filebox=box.to_json())
            return str(resp.id) if resp.id else None

        return await self._send(target, call, handoff)

    # --- waiting and addressing -------------------------------------------------------------------------------

    async def _wait(self, predicate: Callable[[], bool], what: str) -> None:
        try:
            await self._changes.wait_until(predicate, self.wait_seconds)
        except TimeoutError:
            raise DeliveryError(f"{what}（等了 {self.wait_seconds:.0f} 秒）：{self._state_text()}") from None

    async def wait_online(self) -> None:
        await self._wait(lambda: self._link.connected, "连不上微信网关")
        await self._wait(lambda: self._link.online, "微信没有登录")

    async def _address(self, target: Target) -> tuple[str, list[str], str]:
        """(conversation id, mention ids, visible @prefix). Raises DeliveryError."""
        await self.wait_online()
        directory = self._directory
        if target.kind != "group":
            cid = await directory.find_contact(target.wechat)
            if cid is None:
                raise DeliveryError(
                    f"微信好友里找不到 {target.name}（微信号 {target.wechat or '未填写'}）：请先加好友，或核对微信号",
                    permanent=True,
                )
            return cid, [], ""
        await self._wait(lambda: directory.ready, "微信群还没加载完")
        room_id = directory.group_rooms.get(target.id)
        if room_id is None:
            why = directory.missing.get(target.id, "units.yaml 里没有这个群")
            raise DeliveryError(f"微信里找不到群“{target.name}”：{why}", permanent=True)
        ids: list[str] = []
        prefix = ""
        if target.mentions:
            members = await directory.room_members(room_id)
            for person in target.mentions:
                cid = await directory.find_contact(person.wechat, list(members))
                if cid is not None:
                    ids.append(cid)
                    prefix += f"@{members.get(cid) or person.name}\u2005"
                else:
                    log.warning("%s（%s）不在群 %s 里：只写了 @，没能真正提醒到", person.name, person.wechat, target.id)
                    prefix += f"@{person.name}\u2005"
        return room_id, ids, prefix

    # --- the call -----------------------------------------------------------------------------------------------

    async def _send(self, target: Target, call: Call, handoff: Handoff) -> str:
        try:
            message_id = await self.pacer.process(lambda: self._call_when_online(call, handoff))
            if message_id:
                self.own.add(message_id)
        finally:
            self.own.send_finished()  # wake an echo check waiting on this send, whatever its outcome
        return message_id or f"wechaty:{target.id}:{self.pacer.sent_count}"

    async def _call_when_online(self, call: Call, handoff: Handoff) -> str | None:
        """Called by the pacer when this send's turn has come: the handoff is recorded here, after the pacing wait,
        immediately before the request is written."""
        while True:
            await self.wait_online()
            stub = self._link.stub
            if stub is None:
                raise GatewayUnreachable("没有连接")
            await handoff(True)
            self.own.in_flight = True
            try:
                # A timer per send, not grpclib's per-call deadline (that costs a header on every request).
                with gateway_errors(sending=True):
                    async with asyncio.timeout(RPC_TIMEOUT):
                        return await call(stub)
            except GatewayUnreachable:
                # Nothing reached the gateway: wait for the supervisor to reconnect, then send.
                await handoff(False)
                self._link.refused()
            finally:
                self.own.in_flight = False

    async def _upload(self, data: bytes) -> str:
        stream = self._link.request("Upload", Cardinality.STREAM_UNARY, UploadRequest, UploadResponse, RPC_TIMEOUT * 4)
        async with stream:
            for i in range(0, len(data), CHUNK):
                await stream.send_message(UploadRequest(chunk=data[i : i + CHUNK]))
            await stream.end()
            resp = await stream.recv_message()
        if resp is None or not resp.id:
            raise DeliveryError("网关没有返回上传文件的编号")
        return str(resp.id)

"""FileBox JSON (file-box v1), the way current gateways write it: `type` duplicated as `boxType`, `url` (not
`remoteUrl`), type 7 boxes that carry only a uuid to fetch with `Download`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class BoxType(IntEnum):
    BASE64 = 1
    URL = 2
    QRCODE = 3
    BUFFER = 4
    FILE = 5
    STREAM = 6
    UUID = 7


class FileBoxError(ValueError):
    pass


@dataclass(frozen=True)
class FileBox:
    type: BoxType
    name: str
    base64: str = ""
    url: str = ""
    uuid: str = ""
    qrcode: str = ""
    size: int | None = None

    def to_json(self) -> str:
        out: dict[str, Any] = {"type": int(self.type), "boxType": int(self.type), "name": self.name, "metadata": {}}
        if self.size is not None:
            out["size"] = self.size
        if self.type is BoxType.BASE64:
            out["base64"] = self.base64
        elif self.type is BoxType.URL:
            out["url"] = self.url
        elif self.type is BoxType.UUID:
            out["uuid"] = self.uuid
        elif self.type is BoxType.QRCODE:
            out["qrCode"] = self.qrcode
        return json.dumps(out, ensure_ascii=False)

    def data(self) -> bytes:
        """The bytes of a base64 box. Raises FileBoxError for other kinds (fetch those by uuid or url)."""
        if self.type is not BoxType.BASE64:
            raise FileBoxError(f"file box of type {self.type.name} has no inline data")
        try:
            return base64.b64decode(self.base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FileBoxError(f"bad base64 in file box {self.name!r}: {exc}") from exc


def from_bytes(name: str, data: bytes) -> FileBox:
    return FileBox(BoxType.BASE64, name, base64=base64.b64encode(data).decode("ascii"), size=len(data))


def from_uuid(name: str, uuid: str, size: int | None = None) -> FileBox:
    return FileBox(BoxType.UUID, name, uuid=uuid, size=size)


def parse(text: str) -> FileBox:
    """Parse a gateway's FileBox JSON. Raises FileBoxError on anything it can't use."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileBoxError(f"file box is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise FileBoxError("file box is not a JSON object")
    kind = raw.get("type", raw.get("boxType"))
    try:
        box_type = BoxType(int(str(kind)))
    except (TypeError, ValueError):
        raise FileBoxError(f"unknown file box type {kind!r}") from None
    size = raw.get("size")
    return FileBox(
        box_type,
        str(raw.get("name") or ""),
        base64=str(raw.get("base64") or ""),
        url=str(raw.get("url") or raw.get("remoteUrl") or ""),
        uuid=str(raw.get("uuid") or ""),
        qrcode=str(raw.get("qrCode") or ""),
        size=size if isinstance(size, int) else None,
    )

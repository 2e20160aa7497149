"""What the Slack stand-in refuses and how it takes files, as Slack documents it.

* :func:`message_error`: the limits of a posted message. Slack answers
  ``invalid_blocks`` for more than 50 blocks or a section text over 3,000
  characters (Block Kit reference: "blocks" and "section"), ``msg_too_long`` for a
  ``text`` over 40,000 characters (chat.postMessage: "Slack will truncate messages
  containing more than 40,000 characters"; it refuses them with this code), and
  ``msg_blocks_too_long`` when the text of all blocks together is too long. That
  last limit is documented only for markdown blocks ("the cumulative limit for all
  markdown blocks in a single payload is 12,000 characters"); Slack's staff said
  in slackapi/bolt-js#2509 that it holds for blocks in general ("12,000 text
  characters with a buffer for block containers"), and that report measured the
  refusal at about 13,200. The stand-in refuses past the documented 12,000.
* :class:`FileUploads`: Slack's external upload. ``files.getUploadURLExternal``
  gives an ``upload_url`` (here on the stand-in itself), the bytes are POSTed to it,
  and ``files.completeUploadExternal`` shares the uploaded files in a channel (or a
  thread). Every step is recorded.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

#: Block Kit: at most 50 blocks in a message.
MAX_BLOCKS = 50
#: Block Kit: a section's text (and each of its fields) at most 3,000 characters.
MAX_SECTION_TEXT = 3000
#: chat.postMessage: a message's ``text`` over 40,000 characters is refused.
MAX_MESSAGE_TEXT = 40000
#: The cumulative text of a message's blocks (see the module docstring).
MAX_BLOCKS_TEXT = 12000


def _texts(node: Any) -> list[str]:
    """Every ``text`` of a text object (mrkdwn, plain_text) anywhere in a block tree."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            if isinstance(value, dict | list):
                found += _texts(value)
    elif isinstance(node, list):
        for item in node:
            found += _texts(item)
    return found


def message_error(args: dict[str, Any]) -> str | None:
    """Slack's error code for a message that breaks a documented limit, else None."""
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return "invalid_blocks_format"
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") != "section":
            continue
        parts = [block.get("text") or {}, *(block.get("fields") or [])]
        if any(len(str(p.get("text", ""))) > MAX_SECTION_TEXT for p in parts):
            return "invalid_blocks"
    if len(str(args.get("text") or "")) > MAX_MESSAGE_TEXT:
        return "msg_too_long"
    if sum(len(t) for t in _texts(blocks)) > MAX_BLOCKS_TEXT:
        return "msg_blocks_too_long"
    return None


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    #: Where files.completeUploadExternal shared it: (channel_id, thread_ts or "").
    shared: list[tuple[str, str]] = field(default_factory=list)
    title: str = ""


class FileUploads:
    """The stand-in's side of Slack's external file upload."""

    def __init__(self) -> None:
        self.files: dict[str, UploadedFile] = {}
        self._ids = itertools.count(1)

    def shared(self) -> list[UploadedFile]:
        """Files shared in a channel, in upload order."""
        return [f for f in self.files.values() if f.shared]

    def get_upload_url(self, args: dict[str, Any], base: str) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        try:
            length = int(args.get("length", ""))
        except ValueError:
            length = -1
        if not filename or length < 0:
            return {"ok": False, "error": "invalid_arguments"}
        file = UploadedFile(f"F{next(self._ids):08d}", filename, length)
        self.files[file.id] = file
        return {"ok": True, "upload_url": f"{base}upload/{file.id}", "file_id": file.id}

    def receive(self, file_id: str, body: bytes) -> int:
        """The POST of the bytes to the upload URL: 200, or 404 for an unknown URL."""
        file = self.files.get(file_id)
        if file is None:
            return 404
        file.content = body
        return 200

    def complete(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            files = json.loads(args.get("files") or "[]")
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(args.get("channel_id") or "")
        if channel and not (channel[:1] in ("C", "D", "G") and channel.isupper()):
            return {"ok": False, "error": "channel_not_found"}  # an id, never a name
        done = []
        for entry in files:
            file = self.files.get(str(entry.get("id", "")))
            if file is None or file.content is None or len(file.content) != file.length:
                return {"ok": False, "error": "file_not_found"}
            file.title = str(entry.get("title") or file.filename)
            if channel:
                file.shared.append((channel, str(args.get("thread_ts") or "")))
            done.append({"id": file.id, "title": file.title, "name": file.filename})
        return {"ok": True, "files": done}

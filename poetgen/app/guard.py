"""Gradio's routes that the page never uses, refused before Gradio sees them."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("poetgen.page")


class DirectRoutesRefused:
    """ASGI middleware: Gradio's direct routes (`/gradio_api/run/…`, `/gradio_api/api/…`) would
    run an event outside the queue, past its limits and concurrency; the page never uses them
    (its toggles run in the browser), so they answer 404 with a message in Chinese. A queue call
    must name an event with a server function (`served`): the browser-only toggles have none,
    and an unknown index would otherwise be a 500."""

    PREFIXES = ("/gradio_api/run/", "/gradio_api/api/", "/run/", "/api/")
    QUEUE_ONLY = "请通过页面或 gradio_client 调用（走队列）"
    JOIN = "/gradio_api/queue/join"
    MAX_BODY = 1 << 20

    def __init__(self, app, served: frozenset[int] = frozenset()):
        self.app, self.served = app, served

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"].startswith(self.PREFIXES):
            return await self.refuse(send, f"direct route {scope['path'][:80]}", self.QUEUE_ONLY)
        if scope["path"] == self.JOIN and scope["method"] == "POST":
            body, more = b"", True
            while more and len(body) <= self.MAX_BODY:
                message = await receive()
                body, more = body + message.get("body", b""), message.get("more_body", False)
            if len(body) > self.MAX_BODY:
                return await self.refuse(send, "queue call too large", "请求太大", 413)
            fn_index = _fn_index(body)
            if fn_index is not None and fn_index not in self.served:
                return await self.refuse(send, f"queue call of event {fn_index!r}", "没有这个操作")
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    @staticmethod
    async def refuse(send, what: str, message: str, status: int = 404) -> None:
        log.warning("rejected request: %s", what)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json; charset=utf-8")]})
        await send({"type": "http.response.body", "body": json.dumps({"error": message}, ensure_ascii=False).encode()})


def _fn_index(body: bytes):
    """The event a queue call names; None where the body is not a JSON object with one (Gradio
    refuses those itself, with a 422)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data.get("fn_index") if isinstance(data, dict) else None


def _replay(body: bytes, receive):
    """The request's body, read once already, handed to the app as if it arrived now."""
    sent = False

    async def again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again

"""A real HTTP server on 127.0.0.1 that receives callbacks in tests: the one seam where
the merchant's systems are faked.

    with Receiver() as receiver:
        receiver.answer(500, 500, 200)      # then the default, 200
        ...
        receiver.requests[0].headers["webhook-id"]

`answer()` takes status codes or `Answer`s; `Receiver.HANG` accepts the request and
never answers (until the receiver is closed), so the sender's timeout fires.

Set `receiver.accept_secrets = [secret, ...]` to make it verify signatures as a merchant
would (standardwebhooks' `Webhook.verify`, timestamp tolerance included): a request that
no listed secret verifies is answered 401, and each request records `verified`.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "ok"
    delay: float = 0.0  # seconds to wait before answering
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    verified: bool | None = None  # None: the receiver was not verifying


class Receiver:
    HANG = Answer(status=0)

    def __init__(self, *, tls: tuple[str, str] | None = None) -> None:
        """`tls`: (certificate file, key file) to answer https instead of http."""
        self.requests: list[Received] = []
        self.accept_secrets: list[str] = []
        self._answers: list[Answer] = []
        self._default = Answer()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}/hooks/kontor"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()  # releases hanging handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def answer(self, *answers: int | Answer, then: int | Answer | None = None) -> None:
        """Answer the next requests in this order, and later ones with `then` (or as
        before)."""
        with self._lock:
            self._answers = [_as_answer(a) for a in answers]
            if then is not None:
                self._default = _as_answer(then)

    def hang(self) -> None:
        """From now on, accept every request and never answer it."""
        self.answer(then=self.HANG)

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def _next_answer(self, received: Received) -> Answer:
        with self._lock:
            self.requests.append(received)
            return self._answers.pop(0) if self._answers else self._default

    def _verify(self, body: bytes, headers: dict[str, str]) -> bool | None:
        secrets = list(self.accept_secrets)
        if not secrets:
            return None
        for secret in secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True
        return False

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                headers = {name.lower(): value for name, value in self.headers.items()}
                body = self.rfile.read(length)
                verified = receiver._verify(body, headers)
                received = Received(
                    method="POST", path=self.path, headers=headers, body=body, verified=verified
                )
                answer = receiver._next_answer(received)
                if verified is False:
                    answer = Answer(401, body="signature not verified")
                if answer is Receiver.HANG:
                    receiver._closing.wait(timeout=30)
                    return
                if answer.delay:
                    receiver._closing.wait(timeout=answer.delay)
                body = answer.body.encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args) -> None:
                pass  # quiet tests

        return Handler


def _as_answer(answer: int | Answer) -> Answer:
    return answer if isinstance(answer, Answer) else Answer(status=answer)

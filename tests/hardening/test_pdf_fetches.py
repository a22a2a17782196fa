"""Issue 10, outgoing requests: rendering a PDF fetches only our own static files. A
real local HTTP server counts every request; markup smuggled into a customer's name or
address, and hostile markup handed to the renderer directly, fetch nothing."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from billing.pdf import html_to_pdf, render_invoice_pdf, static_only_fetcher
from tests.billing.invoicing import issue_invoice, make_customer, pdf_text

pytestmark = pytest.mark.django_db

LOGO = Path(settings.BASE_DIR) / "static" / "img" / "kontor-logo.svg"


class CountingServer:
    """An HTTP server on 127.0.0.1 that answers every GET with a small PNG and counts."""

    PNG = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )

    def __init__(self) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(CountingServer.PNG)))
                self.end_headers()
                self.wfile.write(CountingServer.PNG)

            def log_message(self, *args) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> CountingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def server():
    with CountingServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_server_counts_what_an_unguarded_renderer_fetches(server):
    """The control: WeasyPrint's own fetcher would have fetched the image."""
    from weasyprint import HTML

    HTML(string=f'<img src="{server.url}/control.png">').write_pdf()
    assert server.paths == ["/control.png"]


def test_an_invoice_whose_customer_carries_markup_fetches_nothing(server):
    customer = make_customer(
        name=f'Evil <img src="{server.url}/name.png"> GmbH',
        address_line1='<img src="file:///etc/passwd">',
        address_line2=f'<link rel="stylesheet" href="{server.url}/x.css">',
    )
    invoice = issue_invoice(customer)

    text = pdf_text(render_invoice_pdf(invoice))

    assert server.paths == []
    assert 'Evil <img src="http://127.0.0.1' in " ".join(text.split())  # printed, not fetched
    assert "root:x:0:0" not in text


def test_hostile_markup_given_to_the_renderer_fetches_nothing(server, caplog):
    html = f"""<html><head>
      <link rel="stylesheet" href="{server.url}/sheet.css">
      <link rel="stylesheet" href="file:///etc/passwd">
      <style>@import url("{server.url}/import.css");
             body {{ background: url("{server.url}/bg.png") }}</style></head>
      <body><img src="{server.url}/img.png"><img src="https://127.0.0.1:1/tls.png">
      <img src="file:///etc/passwd"><img src="static/../config/settings.py">
      <img src="ftp://127.0.0.1/x.png"><iframe src="{server.url}/frame"></iframe>
      <p>Invoice</p></body></html>"""

    content = html_to_pdf(html)

    assert content.startswith(b"%PDF")
    assert server.paths == []
    refused = [r.getMessage() for r in caplog.records if "refused to fetch" in r.getMessage()]
    for url in (f"{server.url}/sheet.css", "file:///etc/passwd", f"{server.url}/img.png",
                f"{server.url}/bg.png", "https://127.0.0.1:1/tls.png"):  # fmt: skip
        assert any(url in message for message in refused), (url, refused)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "https://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "file:///proc/self/environ",
        f"file://{LOGO.parent}/../../config/settings.py",  # climbs out of static/
        "file://evil.example/static/img/kontor-logo.svg",  # a file URL with a host
        "ftp://127.0.0.1/x",
        "data:text/plain,hello",
        f"file://{LOGO.parent}/missing.svg",
    ],
)
def test_the_fetcher_refuses_everything_but_our_static_files(url):
    fetcher = static_only_fetcher()
    with pytest.raises(ValueError, match="Only our own static files"):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_the_fetcher_serves_our_static_files():
    fetcher = static_only_fetcher()
    response = fetcher.fetch(LOGO.as_uri())
    assert response.read() == LOGO.read_bytes()
    assert response.content_type == "image/svg+xml"
    assert fetcher.refused == []

"""The HTTP side of ``starmill view``: the standard library's ``ThreadingHTTPServer``, GET and HEAD only.

On a loopback address no token is needed, but the Host header must name the loopback (a page on
another site cannot reach the viewer through DNS rebinding). Anywhere else a token is required: a
request without it (``Authorization: Bearer T``, the cookie set by one visit to ``/?token=T``, or
``?token=T``) gets 403. Every other method gets 405: nothing here writes. Pages send a Content
Security Policy that allows only the viewer's own scripts (vendored KaTeX and ``viewer.js``).
"""

from __future__ import annotations

import hmac
import ipaddress
import mimetypes
import re
import sys
import traceback
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from starmill.schemas.errors import StarmillError
from starmill.viewer import pages
from starmill.viewer.catalog import Catalog, NotFound
from starmill.viewer.render import pygments_css

DEFAULT_PORT = 8765
COOKIE = "starmill_view_token"
STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ROUTES = [  # (pattern, page); groups are URL-decoded path segments
    (re.compile(r"/"), "index"),
    (re.compile(r"/datasets/([^/]+)/?"), "dataset"),
    (re.compile(r"/datasets/([^/]+)/v([0-9]{1,9})/?"), "version"),
    (re.compile(r"/problems/([^/]+)/?"), "problem"),
    (re.compile(r"/diff/?"), "diff"),
]


class ViewerError(StarmillError):
    """A setting the viewer refuses (a non-loopback bind without a token)."""


def check_bind(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise ViewerError(
            f"binding {host} makes the warehouse readable from other machines: "
            "give a --token (requests without it get 403), or keep the default 127.0.0.1"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every vendored asset, read once: only these paths are served under /static/."""
    files = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.suffix in (".css", ".js", ".woff2"):
            kind = "font/woff2" if path.suffix == ".woff2" else mimetypes.guess_type(path.name)[0] or "text/plain"
            files["/static/" + path.relative_to(STATIC).as_posix()] = (path.read_bytes(), kind)
    files["/static/pygments.css"] = (pygments_css().encode(), "text/css")
    return files


class ViewerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, catalog: Catalog, host: str, port: int, token: str | None, log: bool = False):
        check_bind(host, token)
        self.catalog, self.token, self.log = catalog, token, log
        self.static = _static_files()
        super().__init__((host, port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"


class Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "starmill-view"
    sys_version = ""

    def log_message(self, format, *args) -> None:  # noqa: A002 (the base class's name)
        if self.server.log:
            super().log_message(format, *args)

    # methods --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _refuse(self) -> None:
        if self._allowed():
            self._send(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "405 method not allowed: the viewer is read-only (GET, HEAD)\n",
                "text/plain; charset=utf-8",
                extra={"Allow": "GET, HEAD"},
            )

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = do_CONNECT = _refuse

    # access ---------------------------------------------------------------------------------
    def _allowed(self) -> bool:
        """Whether the request may see anything; answers 403 itself when not."""
        token = self.server.token
        if token is None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if is_loopback(host):
                return True
            self._send(
                HTTPStatus.FORBIDDEN,
                "403 forbidden: the Host header does not name this machine\n",
                "text/plain; charset=utf-8",
            )
            return False
        given = [
            self.headers.get("Authorization", "").removeprefix("Bearer ").strip(),
            dict(parse_qsl(urlsplit(self.path).query)).get("token", ""),
        ]
        cookie = SimpleCookie()
        try:
            cookie.load(self.headers.get("Cookie", ""))
        except Exception:  # a malformed cookie header is no token
            pass
        if COOKIE in cookie:
            given.append(cookie[COOKIE].value)
        if any(g and hmac.compare_digest(g.encode(), token.encode()) for g in given):
            return True
        self._send(
            HTTPStatus.FORBIDDEN,
            "403 forbidden: this viewer needs its token (open /?token=… once)\n",
            "text/plain; charset=utf-8",
        )
        return False

    # pages ----------------------------------------------------------------------------------
    def _respond(self, head: bool) -> None:
        if not self._allowed():
            return
        parts = urlsplit(self.path)
        args = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "token" in args and self.server.token:  # keep the token in a cookie, out of the address bar
            rest = {k: v for k, v in args.items() if k != "token"}
            cookie = f"{COOKIE}={self.server.token}; HttpOnly; SameSite=Strict; Path=/"
            self._send(
                HTTPStatus.SEE_OTHER,
                "",
                "text/plain",
                head=head,
                extra={
                    "Location": "/" + parts.path.lstrip("/") + (f"?{urlencode(rest)}" if rest else ""),
                    "Set-Cookie": cookie,
                },
            )  # "//host" would leave this site
            return
        if parts.path in self.server.static:
            body, kind = self.server.static[parts.path]
            self._send(HTTPStatus.OK, body, kind, head=head, extra={"Cache-Control": "max-age=3600"})
            return
        cat = self.server.catalog
        try:
            status, html = HTTPStatus.OK, self._page(parts.path, args)
        except NotFound as exc:
            status, html = HTTPStatus.NOT_FOUND, pages.not_found(cat, str(exc))
        except (ValueError, StarmillError) as exc:
            status, html = HTTPStatus.BAD_REQUEST, pages.error(cat, "Bad request", str(exc))
        except Exception:  # a bug: the page says so, the terminal gets the traceback
            traceback.print_exc(file=sys.stderr)
            status, html = (
                HTTPStatus.INTERNAL_SERVER_ERROR,
                pages.error(cat, "Internal error", "the viewer failed on this page; its traceback is in the terminal"),
            )
        self._send(status, html, "text/html; charset=utf-8", head=head)

    def _page(self, path: str, args: dict[str, str]) -> str:
        cat = self.server.catalog
        for pattern, page in ROUTES:
            match = pattern.fullmatch(path)
            if not match:
                continue
            groups = [unquote(g) for g in match.groups()]
            if page == "index":
                return pages.index(cat)
            if page == "dataset":
                return pages.version(cat, groups[0], None, args)
            if page == "version":
                return pages.version(cat, groups[0], int(groups[1]), args)
            if page == "problem":
                return pages.problem(cat, groups[0])
            return pages.diff(cat, args)
        raise NotFound(f"no page {path!r}")

    def _send(
        self, status: HTTPStatus, body: str | bytes, kind: str, head: bool = False, extra: dict[str, str] | None = None
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in {**SECURITY_HEADERS, "Cache-Control": "no-store", **(extra or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the browser went away
            pass


def make_server(
    warehouse: str | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    options: dict | None = None,
    log: bool = False,
) -> ViewerServer:
    """The viewer over ``warehouse``, bound and ready for ``serve_forever`` (port 0: any free port)."""
    check_bind(host, token)  # before the warehouse is read
    return ViewerServer(Catalog(warehouse, options), host, port, token, log)

"""The web console's files, served by the gateway at /console/ on the REST port.

The console is a single page (hash routes such as `#/schedules`), so the server needs one
index and the few files it names; `make console` builds them from console/src into the
package folder `console/` beside this module, committed like gen/ (`make check-console`
fails on a stale build), so a wheel serves the console with no Node.js at run time.

Built files carry a content hash in their name and are cached for a year; index.html is
revalidated on every load (ETag), so a new release is picked up at once. The page talks
only to this origin's REST API: the CSP allows nothing but self, so even an injected script
tag or an attacker's stylesheet would not load."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

CONSOLE_PREFIX = "/console"
INDEX = "index.html"
ASSET_FOLDER = Path(__file__).with_name("console")

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"
# 'self' only: the bundle and its stylesheet come from this origin, the API calls too.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)


@dataclass(frozen=True, slots=True)
class ConsoleFile:
    """One file as served: its bytes, type, validator and caching rule."""

    body: bytes
    content_type: str
    etag: str
    cache_control: str


class ConsoleAssets:
    """The built console, read once at start (a few hundred KB) so requests touch no disk."""

    def __init__(self, folder: Path = ASSET_FOLDER) -> None:
        self._files: dict[str, ConsoleFile] = {}
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            content_type = _CONTENT_TYPES.get(path.suffix)
            if not path.is_file() or content_type is None:
                continue
            name = path.relative_to(folder).as_posix()
            body = path.read_bytes()
            self._files[name] = ConsoleFile(
                body=body,
                content_type=content_type,
                etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
                cache_control=_REVALIDATE if name == INDEX else _IMMUTABLE,
            )

    @property
    def available(self) -> bool:
        return INDEX in self._files

    def find(self, path: str) -> ConsoleFile | None:
        """The file for a request path under /console/: the index for the folder itself,
        None for anything not built (a missing asset is a 404, not the index, so that a
        stale page asking for an old bundle fails loudly instead of parsing HTML as JS)."""
        name = path.removeprefix(CONSOLE_PREFIX).lstrip("/") or INDEX
        return self._files.get(name)


def is_console_path(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def not_modified(file: ConsoleFile, if_none_match: str) -> bool:
    """Whether the browser's cached copy (If-None-Match, RFC 9110 section 13.1.2) is this
    file; a weak comparison, as the header allows `W/` and lists."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return file.etag in tags or "*" in tags

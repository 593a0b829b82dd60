"""The reports site as a FastAPI app, for the Airflow plugin in ``plugins/socialaudit_ui.py``.

Serves the static reports folder (``$SOCIALAUDIT_OUTPUT/reports``, default ``output/reports``) to
authenticated Airflow users only (``requires_authenticated``: the UI's ``_token`` cookie or a
Bearer JWT). Paths that leave the folder (``..`` in any encoding, symlinks pointing out) and file
types the site does not contain are answered 404. Imported on the first request only: it pulls in
FastAPI and Airflow's API security module.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from socialaudit import settings

# File types the reports site contains; anything else is not served even if it sits in the folder.
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json", ".png": "image/png",
                 ".txt": "text/plain; charset=utf-8"}
# The pages carry the same policy in a meta tag; the header also covers JSON and PNG files, and adds
# frame-ancestors (which a meta tag cannot set) so only the Airflow UI itself may frame the reports.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data: 'self'; script-src {script}; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

def reports_root() -> Path:
    """The folder served: ``$SOCIALAUDIT_OUTPUT/reports`` (read per request, so tests and deployments can set it)."""
    return settings.output_dir().resolve() / "reports"


def resolve(root: Path, path: str) -> Path | None:
    """The file under ``root`` that ``path`` names, or None if it escapes ``root`` or does not exist."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." or "\x00" in p or ":" in p for p in parts):
        return None
    target = root.joinpath(*parts).resolve() if parts else root
    if target.is_dir():
        target = target / "index.html"
    if not target.is_relative_to(root) or not target.is_file() or target.suffix not in CONTENT_TYPES:
        return None
    return target


def build_app() -> FastAPI:
    """The FastAPI app: every route depends on an authenticated Airflow user."""
    from airflow.api_fastapi.core_api.security import requires_authenticated

    app = FastAPI(title="Social media audit reports", dependencies=[Depends(requires_authenticated())],
                  docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/{path:path}")
    def serve(path: str, request: Request) -> Response:
        if not path and not request.url.path.endswith("/"):
            # relative links in the pages need the trailing slash
            return RedirectResponse(request.url.path + "/", status_code=307)
        target = resolve(reports_root(), path)
        if target is None:
            raise HTTPException(status_code=404, detail="Not found")
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": _page_csp(target)}
        return FileResponse(target, media_type=CONTENT_TYPES[target.suffix], headers=headers)

    return app


def _page_csp(target: Path) -> str:
    """The header policy: nothing external; an HTML page's inline script is allowed by the hash in its own meta tag."""
    script = "'none'"
    if target.suffix == ".html":
        head = html.unescape(target.read_text(encoding="utf-8", errors="replace")[:4000])
        marker = "script-src "
        if marker in head:
            candidate = head.split(marker, 1)[1].split(";", 1)[0].strip()
            if candidate.startswith("'sha256-") and candidate.endswith("'") and " " not in candidate:
                script = candidate
    return CSP.format(script=script)



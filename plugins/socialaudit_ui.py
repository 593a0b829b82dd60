"""The Airflow plugin: the reports site inside the Airflow 3 UI, behind Airflow's own login.

It mounts a small FastAPI app on the api-server at ``/socialaudit`` (``fastapi_apps``) that serves
the static reports folder (``$SOCIALAUDIT_OUTPUT/reports``, default ``output/reports``), and adds a
menu entry under Browse (``external_views``) that shows it in the UI. Every request needs an
authenticated Airflow user (``requires_authenticated``: the UI's ``_token`` cookie or a Bearer
JWT): 401 without one, 403 with a bad token. Paths that leave the reports folder (``..``,
encoded or not, symlinks pointing out) are answered 404. The app itself is in
``socialaudit/webapp.py``.

This is the only AirflowPlugin module: ``plugins/.airflowignore`` keeps the loader out of the
packages. Airflow imports this file in every component, so the FastAPI app (and Airflow's API
security module, which pulls in the metadata models) is built on the first request, not at import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/socialaudit"
Scope = MutableMapping[str, Any]


class LazyApp:
    """An ASGI app that builds the real one on its first request (no heavy imports at plugin load)."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._app: Any = None

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        if self._app is None:
            self._app = self._factory()
        await self._app(scope, receive, send)


def _build() -> Any:
    # local: Airflow loads this plugin module in every process; FastAPI and the app are built on first request
    from socialaudit.webapp import build_app

    return build_app()


reports_app = LazyApp(_build)


class SocialAuditPlugin(AirflowPlugin):
    """Mounts the reports site in the api-server and links it from the UI's Browse menu."""

    name = "socialaudit"
    fastapi_apps = [{"app": reports_app, "url_prefix": URL_PREFIX, "name": "Social media audit reports"}]
    external_views = [{"name": "Social media audit", "href": URL_PREFIX + "/", "url_route": "socialaudit",
                       "destination": "nav", "category": "browse"}]

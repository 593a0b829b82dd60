"""Fixtures for the reports and delivery tests: the demo weeks rendered from the simulator, findings
carrying hostile text, a real SMTP server on loopback (aiosmtpd) and the Airflow connection to it."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from socialaudit.models import CheckResult, Finding, Severity, Status
from socialaudit.weeks import IsoWeek
from tests.conftest import write_demo_config

WEEK = IsoWeek.parse("2026-W47")
# A child's full name as it appears in a post; findings carry only the masked form.
CHILD_NAME = "Amelia Hartley-Quinn"
CHILD_MASKED = "A*** H***"


def render_week(env: Any, week: IsoWeek, run_id: str = "test_run") -> None:
    """Collect, check and render every school of the demo trust for a week, then the Trust report."""
    from socialaudit import pipeline

    config = env.load()
    rendered = []
    for school in config.schools:
        pipeline.collect_school(school.id, week, run_id, env)
        pipeline.check_school(school.id, week, run_id, env)
        rendered.append(pipeline.render_school(school.id, week, run_id, env))
    pipeline.trust_report(week, run_id, rendered, env)


def rerender(env: Any, week: IsoWeek, run_id: str = "test_run") -> None:
    """Render reports and emails again from the store (after findings were added)."""
    from socialaudit import pipeline

    rendered = [pipeline.render_school(s.id, week, run_id, env) for s in env.load().schools]
    pipeline.trust_report(week, run_id, rendered, env)


def add_findings(store: Any, week: IsoWeek, school: str, findings: list[Finding], *, check: str = "injected_probe",
                 policy: str = "4.1", status: Status = Status.FAIL, summary: str = "Injected by the test.") -> None:
    """Add one check result with ``findings`` to a school's stored results (what a content check would store)."""
    results = [r for r in store.results_for(week, school) if r.check != check]
    results.append(CheckResult(check=check, policy=policy, school=school, status=status, summary=summary,
                               findings=tuple(findings)))
    store.save_results(week, school, results, run_id="test_inject")


def finding(school: str, **overrides: Any) -> Finding:
    """A valid finding; override only what the test is about."""
    values: dict[str, Any] = {"check": "injected_probe", "severity": Severity.BREACH, "status": Status.FAIL,
                              "school": school, "policy": "4.1", "message": "A post breaks the policy.",
                              "post_url": f"https://{school}.example.sch.uk/news/1/", "action": "Edit the post."}
    values.update(overrides)
    return Finding(**values)


def critical_named_child(school: str) -> Finding:
    return finding(school, check="injected_probe", severity=Severity.CRITICAL, policy="4.1",
                   message=f"A child is named under a photo: {CHILD_MASKED}.", evidence=CHILD_MASKED,
                   post_url=f"https://{school}.example.sch.uk/news/sports-day/",
                   action="Remove the name from the post today and tell your DSL.")


def hostile_findings(school: str, probe: str) -> list[Finding]:
    """Findings quoting post text and alt text that carry HTML, script and a javascript: permalink.

    ``probe`` is a loopback URL that records any request: if anything were fetched, it would show.
    """
    return [
        finding(school, message="Post text quoted: <script>window.__pwned = 'script'; fetch('" + probe + "/script')</script>",
                evidence="<b>bold</b> & <i>more</i>", post_url="javascript:window.__pwned='permalink'"),
        finding(school, message="Alt text quoted: <img src=\"" + probe + "/img.png\" onerror=\"window.__pwned='img'\">",
                evidence="<a href=\"javascript:window.__pwned='link'\">click me</a>",
                post_url=probe + "/post?q=\"><script>window.__pwned='attr'</script>"),
        finding(school, message="Styled: <style>body{background:url(" + probe + "/css.png)}</style><link rel=stylesheet href=" + probe + "/x.css>",
                evidence="<iframe src=\"" + probe + "/frame\"></iframe>", post_url="data:text/html,<script>alert(1)</script>"),
    ]


@dataclass
class Probe:
    """A loopback HTTP server that records every request made to it."""

    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def probe() -> Iterator[Probe]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"recorded")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default stderr log
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Probe(url=f"http://127.0.0.1:{server.server_address[1]}", requests=seen)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def demo_template(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2026-W46 and 2026-W47 of the demo trust, rendered once per session from the simulator."""
    from socialaudit.pipeline import Environment

    base = tmp_path_factory.mktemp("demo-template")
    config = write_demo_config(simulator.url, base / "trust.yaml")
    env = Environment(config=config, output=base / "output", db_url=f"sqlite:///{base / 'output' / 'socialaudit.db'}")
    render_week(env, WEEK - 1)
    render_week(env, WEEK)
    return base


@pytest.fixture
def demo_week(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A private copy of the rendered demo weeks (W46 gives 'last week'); tests may change it freely."""
    from socialaudit.pipeline import Environment

    base = tmp_path / "demo"
    shutil.copytree(demo_template, base)
    output = base / "output"
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(base / "trust.yaml"))
    monkeypatch.setenv("SOCIALAUDIT_OUTPUT", str(output))
    monkeypatch.setenv("SOCIALAUDIT_DB_URL", f"sqlite:///{output / 'socialaudit.db'}")
    return Environment.from_env()


# --- SMTP --------------------------------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any = None  # the client's (host, port): one per connection

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Sink:
    """What the server accepted, and the connections it saw (``connections``: one EHLO/HELO each). A test may
    make it refuse recipients (``refuse``: address -> reply), end a connection after ``messages_per_connection``
    messages, at the next MAIL: by closing it without a word (``drop="close"``) or with a 421 reply, or stop
    listening after ``stop_listening_after`` messages in all."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.connections: list[Any] = []
        self.refuse: dict[str, str] = {}
        self.messages_per_connection = 0  # 0: no limit
        self.drop = "close"
        self.stop_listening_after = 0  # > 0: after that many messages, no new connection is accepted
        self.controller: Any = None
        self._count: dict[Any, int] = {}

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.connections.append(session.peer)
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,  # noqa: N802 - aiosmtpd's hook name
                          responses: list[str]) -> list[str]:
        self.connections.append(session.peer)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 - aiosmtpd's hook name
                          mail_options: list[str]) -> str:
        if self.messages_per_connection and self._count.get(session.peer, 0) >= self.messages_per_connection:
            if self.drop == "421":
                return "421 4.7.0 Too many messages on this connection, closing"
            server.transport.abort()  # gone without a reply, as a server restarting would
            return "250 OK"  # never reaches the client
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 - aiosmtpd's hook name
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content,
                                      session.peer))
        self._count[session.peer] = self._count.get(session.peer, 0) + 1
        if self.stop_listening_after and len(self.received) >= self.stop_listening_after:
            self.controller.server.close()  # stops listening; the open connection stays until dropped
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on loopback; ``.received`` lists what it accepted."""
    from aiosmtpd.controller import Controller

    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    sink.port = controller.port  # type: ignore[attr-defined]
    sink.controller = controller
    yield sink
    controller.stop()


@pytest.fixture
def smtp_connection(smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``smtp_default`` as an Airflow connection in JSON form, pointing at the loopback server."""
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": smtp_server.port,
        "extra": {"from_email": "Audit <audit@stoswins-trust.example.org>", "disable_ssl": True,
                  "disable_tls": True, "timeout": 5, "retry_limit": 0},
    }))
    return smtp_server

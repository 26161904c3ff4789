"""The HTTP API (JSON under /api/v1, described by /openapi.json), the public keys at a
well-known URL, and a few pages. Handlers are thin: each calls the service and maps its errors
to statuses (400 input, 401/403 tokens, 404 missing, 413 too large, 429 too many requests)."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections import deque
from typing import Annotated, Any

from fastapi import Body, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from compat_diff import __version__
from compat_diff.errors import InputError
from compat_diff.service import db
from compat_diff.service.attest import KEYS_PATH
from compat_diff.service.finalize import describe_run, diff_runs, operation_verdicts, timeline
from compat_diff.service.keys import public_keys, rotate_key
from compat_diff.service.pages import TEMPLATES, public_router
from compat_diff.service.public import run_provenance
from compat_diff.service.runs import cancel_run, create_run, run_row
from compat_diff.service.store import (
    MAX_ENDPOINT_RATE,
    MIN_ENDPOINT_RATE,
    Forbidden,
    NotFound,
    Principal,
    Service,
)

Authorization = Annotated[str | None, Header(description="Bearer TOKEN (admin or provider)")]
RunId = Annotated[int, PathParam(ge=1, le=2**62, description="a run's id")]


class ProviderIn(BaseModel):
    name: str = Field(description="lowercase letters, digits, '-' and '_'", max_length=60)


class EndpointIn(BaseModel):
    name: str = Field(max_length=60)
    endpoint: str = Field(max_length=2000, description="the default URL for every service")
    region: str = Field("us-east-1", max_length=50)
    access_key: str = Field(max_length=500)
    secret_key: str = Field(max_length=500, description="stored encrypted; never returned")
    services: list[str] = Field(default_factory=list, description="the services this endpoint claims")
    endpoints: dict[str, str] = Field(default_factory=dict, description="per-service URLs")
    s3_addressing: str = Field("path", pattern="^(path|virtual)$")
    declared_version: str | None = Field(None, max_length=100)
    schedule: str | None = Field(None, max_length=100, description="cron-like: minute hour day month weekday")
    suite: str | None = Field(
        None, max_length=150, description="the suite scheduled runs use (default bundled)"
    )
    max_rate: float | None = Field(
        None,
        ge=MIN_ENDPOINT_RATE,
        le=MAX_ENDPOINT_RATE,
        description="requests per second the service sends this endpoint at most, over all its "
        "shards (default: the service's endpoint_max_rate)",
    )


class RunIn(BaseModel):
    provider: str = Field(max_length=60)
    endpoint: str = Field(max_length=60)
    suite: str = Field("bundled", max_length=150, description="name or name@version")


class CapabilityIn(BaseModel):
    service: str = Field(max_length=100)
    operation: str = Field(max_length=200)
    state: str = Field(pattern="^(required|advisory|deprecated)$")


class RateLimiter:
    """At most ``per_minute`` requests per client address in any sliding minute."""

    def __init__(self, per_minute: int, clock: Any = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = self.clock()
        with self._lock:
            window = self._seen.setdefault(client, deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return False
            window.append(now)
            if len(self._seen) > 10000:
                self._seen = {k: v for k, v in self._seen.items() if v}
            return True


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(service: Service) -> FastAPI:
    app = FastAPI(
        title="compat_diff compatibility service",
        version=__version__,
        description="Suites, providers, endpoints and runs; scores, history and signed attestations.",
    )
    limiter = RateLimiter(service.config.rate_limit_per_minute)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        client = request.client.host if request.client else "unknown"
        if not limiter.allow(client):
            return _error(429, "too many requests; slow down.")
        length = request.headers.get("content-length")
        limit = service.config.max_upload_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            return _error(413, f"the request body is larger than {limit} bytes.")
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()
            if len(body) > limit:
                return _error(413, f"the request body is larger than {limit} bytes.")
        return await call_next(request)

    @app.exception_handler(InputError)
    async def input_error(_request: Request, error: InputError) -> JSONResponse:
        if isinstance(error, NotFound):
            return _error(404, str(error))
        if isinstance(error, Forbidden):
            return _error(403, str(error))
        return _error(400, str(error))

    def who(authorization: str | None) -> Principal:
        return service.authenticate(authorization)

    def admin(authorization: str | None) -> Principal:
        principal = who(authorization)
        if not principal.admin:
            raise Forbidden("this needs the admin token.")
        return principal

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(KEYS_PATH, tags=["attestations"])
    def keys() -> dict[str, Any]:
        """Every public key the service signs (and signed) attestations with."""
        return public_keys(service)

    @app.get("/api/v1/suites", tags=["suites"])
    def suites() -> list[dict[str, Any]]:
        return service.suites()

    @app.put("/api/v1/suites/{suite}/capabilities", tags=["suites"])
    def set_capability(suite: str, body: CapabilityIn, authorization: Authorization = None) -> dict[str, str]:
        """Change an operation's capability state; old runs are re-scored from their stored rows."""
        admin(authorization)
        service.set_capability(suite, body.service, body.operation, body.state)
        return {"suite": suite, "operation": f"{body.service}.{body.operation}", "state": body.state}

    @app.post("/api/v1/providers", tags=["providers"], status_code=201)
    def create_provider(body: ProviderIn, authorization: Authorization = None) -> dict[str, str]:
        """Register a provider; its token is shown once, here."""
        admin(authorization)
        token = service.create_provider(body.name)
        return {"name": body.name, "token": token}

    @app.post("/api/v1/providers/{provider}/tokens", tags=["providers"], status_code=201)
    def new_token(
        provider: str, authorization: Authorization = None, days: Annotated[int, Query(ge=1, le=3650)] = 90
    ) -> dict[str, str]:
        admin(authorization)
        return {"name": provider, "token": service.issue_token(provider, days)}

    @app.get("/api/v1/providers/{provider}/endpoints", tags=["providers"])
    def list_endpoints(provider: str, authorization: Authorization = None) -> list[dict[str, Any]]:
        return service.endpoints(who(authorization), provider)

    @app.post("/api/v1/providers/{provider}/endpoints", tags=["providers"], status_code=201)
    def add_endpoint(provider: str, body: EndpointIn, authorization: Authorization = None) -> dict[str, Any]:
        return service.add_endpoint(who(authorization), provider, body.model_dump())

    @app.put("/api/v1/providers/{provider}/declared", tags=["providers"])
    async def declared(
        provider: str, request: Request, authorization: Authorization = None
    ) -> dict[str, Any]:
        """The provider's own support table: JSON {service: {operation: state}}, or CSV lines
        service,operation,state."""
        raw = await request.body()
        table = _declared_table(raw, request.headers.get("content-type") or "")
        count = service.set_declared(who(authorization), provider, table)
        return {"provider": provider, "operations": count}

    @app.get("/api/v1/providers/{provider}/timeline", tags=["history"])
    def provider_timeline(provider: str) -> list[dict[str, Any]]:
        """Every finished run of the provider's endpoints with its score and per-service scores."""
        return timeline(service, service.provider_row(provider).id)

    @app.post("/api/v1/runs", tags=["runs"], status_code=201)
    def start_run(body: RunIn, authorization: Authorization = None) -> dict[str, Any]:
        return create_run(service, who(authorization), body.provider, body.endpoint, body.suite)

    @app.get("/api/v1/runs", tags=["runs"])
    def list_runs(
        provider: str | None = None,
        endpoint: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[dict[str, Any]]:
        query = select(db.runs.c.id).order_by(db.runs.c.id.desc()).limit(limit)
        if provider:
            row = service.provider_row(provider)
            query = query.join(db.endpoints, db.endpoints.c.id == db.runs.c.endpoint_id).where(
                db.endpoints.c.provider_id == row.id
            )
            if endpoint:
                query = query.where(db.endpoints.c.name == endpoint)
        with service.engine.connect() as conn:
            ids = conn.execute(query).scalars().all()
        return [describe_run(service, run_id) for run_id in ids]

    @app.get("/api/v1/runs/{run_id}", tags=["runs"])
    def get_run(run_id: RunId) -> dict[str, Any]:
        return describe_run(service, run_id)

    @app.post("/api/v1/runs/{run_id}/cancel", tags=["runs"])
    def cancel(run_id: RunId, authorization: Authorization = None) -> dict[str, Any]:
        return cancel_run(service, who(authorization), run_id)

    @app.get("/api/v1/runs/{run_id}/operations", tags=["runs"])
    def operations(run_id: RunId) -> dict[str, Any]:
        run_row(service, run_id)
        return operation_verdicts(service, run_id)

    @app.get("/api/v1/runs/{run_id}/diff", tags=["history"])
    def diff(run_id: RunId, against: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> dict[str, Any]:
        """New, fixed and still failing operations against another run of the same endpoint."""
        return diff_runs(service, run_id, against)

    @app.get("/api/v1/runs/{run_id}/attestation", tags=["attestations"])
    def attestation(run_id: RunId) -> dict[str, Any]:
        return dict(_attestation(run_id).envelope)

    @app.get("/api/v1/runs/{run_id}/results-bundle", tags=["attestations"])
    def bundle(run_id: RunId) -> Response:
        return Response(_attestation(run_id).bundle, media_type="application/json")

    @app.get("/api/v1/runs/{run_id}/previous-attestation", tags=["attestations"])
    def previous(run_id: RunId) -> dict[str, Any]:
        """The attestation this run's attestation chains to (404 for an endpoint's first)."""
        row = _attestation(run_id)
        with service.engine.connect() as conn:
            earlier = conn.execute(
                select(db.attestations.c.envelope).where(
                    db.attestations.c.endpoint_id == row.endpoint_id, db.attestations.c.digest == row.previous
                )
            ).scalar_one_or_none()
        if earlier is None:
            raise NotFound(f"the attestation of run {run_id} is the first of its endpoint.")
        return dict(earlier)

    def _attestation(run_id: RunId) -> Any:
        with service.engine.connect() as conn:
            row = conn.execute(select(db.attestations).where(db.attestations.c.run_id == run_id)).first()
        if row is None:
            raise NotFound(f"run {run_id} has no attestation (it is not finished, or does not exist).")
        return row

    @app.get("/api/v1/runs/{run_id}/report/{name}", tags=["runs"])
    def report_file(run_id: RunId, name: str) -> Response:
        """A file of the run's report directory: index.html, report.json, junit.xml, summary.md, badges."""
        folder = (service.config.data / "runs" / str(run_id) / "report").resolve()
        path = (folder / name).resolve()
        if path.parent != folder or not path.is_file():
            raise NotFound(f"run {run_id} has no report file {name!r}.")
        return FileResponse(path)

    @app.post("/api/v1/admin/keys/rotate", tags=["attestations"])
    def rotate(authorization: Authorization = None) -> dict[str, str]:
        """Retire the signing key (it stays published) and sign from now on with a new one."""
        admin(authorization)
        return {"keyid": rotate_key(service).keyid}

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/leaderboard")

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(request: Request) -> Response:
        with service.engine.connect() as conn:
            ids = conn.execute(select(db.runs.c.id).order_by(db.runs.c.id.desc()).limit(30)).scalars().all()
        return TEMPLATES.TemplateResponse(
            request,
            "home.html",
            {"suites": service.suites(), "runs": [describe_run(service, i) for i in ids]},
        )

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, run_id: RunId) -> Response:
        return TEMPLATES.TemplateResponse(
            request,
            "run.html",
            {
                "run": describe_run(service, run_id),
                "operations": operation_verdicts(service, run_id),
                "provenance": run_provenance(service, run_id),
                "base": str(request.base_url).rstrip("/"),
            },
        )

    app.include_router(public_router(service, service.authenticate))
    return app


def _declared_table(raw: bytes, content_type: str) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the declared support table must be UTF-8 text.") from None
    if "csv" in content_type:
        for row in csv.reader(io.StringIO(text)):
            if not row or row[0].strip().lower() == "service":
                continue
            if len(row) < 3:
                raise InputError("each CSV line is service,operation,state.")
            table.setdefault(row[0].strip(), {})[row[1].strip()] = row[2].strip()
        return table
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise InputError(
            "the declared support table must be JSON {service: {operation: state}} or CSV."
        ) from None
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise InputError("the declared support table must be JSON {service: {operation: state}}.")
    return {str(s): {str(o): str(st) for o, st in ops.items()} for s, ops in document.items()}


__all__ = ["Body", "create_app"]

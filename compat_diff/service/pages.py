"""The public face: leaderboard, provider pages, the status page of a mark, badges, the signed
revocation list and the dataset export, as server-rendered pages and their JSON twins.

Pages are plain HTML readable without JavaScript; the only script sorts a table in place. Every
fact on a page comes from ``service.public``, as does its JSON twin under /api/v1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from compat_diff.report.result import format_score
from compat_diff.service import public
from compat_diff.service.runs import run_row
from compat_diff.service.store import Forbidden, NotFound, Principal, Service
from compat_diff.service.svg import history_chart, mark_badge

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["score"] = format_score
BADGE_CACHE = "public, max-age=300"
Authorization = Annotated[str | None, Header(description="Bearer TOKEN (admin)")]


class RevocationIn(BaseModel):
    provider: str = Field(max_length=60)
    suite: str = Field(max_length=150, description="a suite name, or '*' for every suite")
    reason: str = Field(max_length=public.REASON_LIMIT)


def public_router(service: Service, authenticate: Callable[[str | None], Principal]) -> APIRouter:
    router = APIRouter()

    def admin(authorization: str | None) -> None:
        if not authenticate(authorization).admin:
            raise Forbidden("this needs the admin token.")

    def status_link(request: Request, provider: str, suite: str) -> str:
        return str(request.url_for("status_page", provider=provider, suite=suite))

    # ------------------------------------------------------------------ JSON

    @router.get("/api/v1/leaderboard", tags=["public"])
    def leaderboard_json(
        suite: str | None = None,
        service_name: Annotated[str | None, Query(alias="service", max_length=100)] = None,
        sort: str = "score",
    ) -> dict[str, Any]:
        """Every endpoint's newest rating for a suite, with per-service scores and capability profile."""
        return public.leaderboard(service, suite, service_name, sort)

    @router.get("/api/v1/providers/{provider}/rating", tags=["public"])
    def provider_json(provider: str, suite: str | None = None) -> dict[str, Any]:
        """What a provider page shows: ratings, history, runs, changes, divergences, declared vs observed."""
        return public.provider_page(service, provider, suite)

    @router.get("/api/v1/marks/{provider}/{suite}", tags=["public"])
    def mark_json(provider: str, suite: str) -> dict[str, Any]:
        """Whether the provider's mark for the suite is valid now, until when, and why."""
        return public.mark(service, provider, suite).facts()

    @router.get("/api/v1/revocations", tags=["public"])
    def revocations_json() -> dict[str, Any]:
        """The revocation list, signed (DSSE) with the service's current key."""
        return public.signed_revocations(service)

    @router.post("/api/v1/admin/revocations", tags=["public"], status_code=201)
    def revoke(body: RevocationIn, authorization: Authorization = None) -> dict[str, Any]:
        admin(authorization)
        return public.revoke(service, body.provider, body.suite, body.reason)

    @router.post("/api/v1/admin/revocations/{revocation_id}/lift", tags=["public"])
    def lift(
        revocation_id: Annotated[int, PathParam(ge=1, le=2**62)], authorization: Authorization = None
    ) -> dict[str, Any]:
        admin(authorization)
        return public.lift(service, revocation_id)

    @router.get("/api/v1/dataset.jsonl", tags=["public"], response_class=StreamingResponse)
    def dataset() -> StreamingResponse:
        """Every finished run as a JSON line, with its per-operation results and attestation digest."""
        return StreamingResponse(public.dataset(service), media_type="application/x-ndjson")

    # ---------------------------------------------------------------- badges

    def badge(request: Request, provider: str, suite: str, service_name: str | None) -> Response:
        facts = public.mark(service, provider, suite).facts()
        if service_name is not None:
            # The service's score in the run behind the mark, not the whole leaderboard's.
            run = run_row(service, facts["run"]) if facts["run"] else None
            scores = (run.summary or {}).get("services", {}) if run is not None else {}
            facts["score"] = scores.get(service_name)
            if service_name not in scores and facts["state"] == "valid":
                facts["state"] = "none"
        label = f"{suite} {service_name}" if service_name else suite
        svg = mark_badge(label, facts, status_link(request, provider, suite))
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": BADGE_CACHE})

    @router.get("/badge/{provider}/{suite}.svg", tags=["public"], response_class=Response)
    def badge_svg(request: Request, provider: str, suite: str) -> Response:
        """A shields-style badge: the score while the mark is valid, else its state."""
        return badge(request, provider, suite, None)

    @router.get("/badge/{provider}/{suite}/{service_name}.svg", tags=["public"], response_class=Response)
    def badge_service_svg(request: Request, provider: str, suite: str, service_name: str) -> Response:
        return badge(request, provider, suite, service_name)

    @router.get("/badge/{provider}/{suite}.json", tags=["public"])
    def badge_json(request: Request, provider: str, suite: str, response: Response) -> dict[str, Any]:
        """The badge's facts with the attestation digest, to check a badge against a signed statement."""
        response.headers["Cache-Control"] = BADGE_CACHE
        facts = public.mark(service, provider, suite).facts()
        facts["status_page"] = status_link(request, provider, suite)
        return facts

    # ----------------------------------------------------------------- pages

    def page(request: Request, template: str, context: dict[str, Any]) -> Response:
        return TEMPLATES.TemplateResponse(request, template, context)

    @router.get("/leaderboard", response_class=HTMLResponse, include_in_schema=False)
    def leaderboard_page(
        request: Request,
        suite: str | None = None,
        service_name: Annotated[str | None, Query(alias="service", max_length=100)] = None,
        sort: str = "score",
    ) -> Response:
        board = public.leaderboard(service, suite, service_name or None, sort)
        return page(request, "leaderboard.html", {"board": board})

    @router.get("/providers/{provider}", response_class=HTMLResponse, include_in_schema=False)
    def provider_page(request: Request, provider: str, suite: str | None = None) -> Response:
        facts = public.provider_page(service, provider, suite)
        charts = {
            entry["name"]: history_chart(entry["history"], f"Score history of {provider} / {entry['name']}")
            for entry in facts["endpoints"]
        }
        return page(request, "provider.html", {"p": facts, "charts": charts})

    @router.get("/status/{provider}/{suite}", response_class=HTMLResponse, include_in_schema=False)
    def status_page(request: Request, provider: str, suite: str) -> Response:
        facts = public.mark(service, provider, suite).facts()
        base = str(request.base_url).rstrip("/")
        return page(request, "status.html", {"m": facts, "base": base})

    @router.get("/revocations", response_class=HTMLResponse, include_in_schema=False)
    def revocations_page(request: Request) -> Response:
        return page(request, "revocations.html", {"revocations": public.revocations(service)})

    return router


__all__ = ["NotFound", "public_router"]

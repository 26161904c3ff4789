"""The repairs a botocore client makes to an answer outside its parsers, applied to our parsed view.

botocore registers event handlers that change what a program receives: S3 ``GetBucketLocation``'s
location is the text of the root element, which no model can describe, so the parser returns
nothing for it and an ``after-call`` handler fills ``LocationConstraint`` in; IAM policy documents
arrive URL-encoded and are decoded into objects; EC2 console output is base64-decoded; an S3
``Expires`` header is kept as ``ExpiresString`` before parsing. Without these a difference there is
invisible to the comparison, for every candidate.

botocore's own handler table (``BUILTIN_HANDLERS``) is used, so a customization botocore adds is
applied here too, with botocore's event-name matching (the handlers of each event name found once).
Only the ``before-parse`` and ``after-call`` handlers run, the ones that change the answer;
``after-call`` only for successful answers, so an error stays its code and message.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.model
from botocore.handlers import BUILTIN_HANDLERS

_EVENTS = ("before-parse.", "after-call.")
# S3's "200 with an error body" check makes botocore retry the call, not read it otherwise; an
# answer that does not parse is reported as such (for the reference: a recording problem).
_SKIPPED = frozenset({"_handle_200_error"})


@cache
def _handlers(event: str) -> tuple[Any, ...]:
    """botocore's handlers for one event name, in registration order (botocore's matching: a
    registered name is a prefix of the event's parts, ``*`` standing for any one part)."""
    parts = event.split(".")
    found = []
    for spec in BUILTIN_HANDLERS:
        pattern, handler = spec[0], spec[1]
        if not pattern.startswith(_EVENTS) or getattr(handler, "__name__", "") in _SKIPPED:
            continue
        wanted = pattern.split(".")
        if len(wanted) <= len(parts) and all(w in ("*", p) for w, p in zip(wanted, parts, strict=False)):
            found.append(handler)
    return tuple(found)


def _event_service(operation_model: botocore.model.OperationModel) -> str:
    # botocore names events after the hyphenized service id ("s3", "cloudformation", "sso-oidc").
    return _hyphenized(operation_model.service_model)


@cache
def _hyphenized(service_model: botocore.model.ServiceModel) -> str:
    return str(service_model.service_id.hyphenize())


class _RawAnswer:
    """What ``after-call`` handlers read of the HTTP answer: its bytes (``raw`` only says it has some)."""

    def __init__(self, status: int, headers: Any, content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content
        self.raw = content


def before_parse(operation_model: botocore.model.OperationModel, wire: dict[str, Any]) -> dict[str, Any]:
    """Run the ``before-parse`` handlers on ``wire`` (changed in place, as botocore does); the members
    they add to the parsed answer."""
    customized: dict[str, Any] = {}
    for handler in _handlers(f"before-parse.{_event_service(operation_model)}.{operation_model.name}"):
        handler(operation_model=operation_model, response_dict=wire, customized_response_dict=customized)
    return customized


def after_call(
    operation_model: botocore.model.OperationModel,
    parsed: dict[str, Any],
    status: int,
    headers: Any,
    body: bytes,
) -> None:
    """Run the ``after-call`` handlers on a successful answer's parsed dict (changed in place)."""
    handlers = _handlers(f"after-call.{_event_service(operation_model)}.{operation_model.name}")
    if not handlers:
        return
    answer = _RawAnswer(status, headers, body)
    for handler in handlers:
        handler(http_response=answer, parsed=parsed, model=operation_model, context={}, exception=None)

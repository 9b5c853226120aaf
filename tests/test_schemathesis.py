"""Schemathesis against the live server (issue 18, item 13): every operation of the OpenAPI
document, with parameters, headers and bodies generated from the document itself.

* Input the document allows is answered with a status, a content type and a body that the
  document declares, never a 5xx, and is not refused as invalid (a 400) unless
  :data:`TOLERATED_REFUSALS` names the rule the document cannot say.
* Input the document forbids (an unknown key, a value out of range, a wrong type...) is
  refused with a 4xx, also in the documented shape.

Bounded and repeatable: ``PATCHBAY_SCHEMATHESIS_EXAMPLES`` allowed cases per operation
(default 4) and half as many forbidden ones, derandomised unless
``PATCHBAY_SCHEMATHESIS_RANDOM`` is set (README "Fuzzing the API"). The path ids are
alice's real objects, so cases reach the handlers and not only the 404 of an unknown id;
deletions run last. A failure tolerated is in :data:`TOLERATED`, with its reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from embed.services import connect_session_create
from tests.conftest import Actor, _actor
from tests.connections import factories as f
from tests.embed.conftest import make_hub
from tests.proxy.conftest import Reply, Upstream, upstream  # noqa: F401 - the fixture
from webhooks.services import endpoint_create, event_emit

pytestmark = [pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("PATCHBAY_SCHEMATHESIS_EXAMPLES", "4"))
NEGATIVE_EXAMPLES = max(1, EXAMPLES // 2)
CREDENTIAL = "/api/v2/o/{organisation_id}/credentials/{credential_id}"
INITIALISE = (
    "POST /api/v2/o/{organisation_id}/connectors/{connector_id}/oauth2/initialise",
    "POST /api/v2/embed/{hub_id}/connector/{connector_id}/oauth2/initialise",
)

#: ``(operation, check)`` pairs a run may fail, each with its reason. Empty: none may.
TOLERATED: dict[tuple[str, str], str] = {}

#: Refusals of input the document allows, by error ``code`` or field name (in one operation
#: when the key starts with its label), with the rule the document cannot say.
TOLERATED_REFUSALS: dict[str, str] = {
    f"PATCH {CREDENTIAL} data": "A body's variant is the stored credential's type, which the "
    "body may leave out: the document's oneOf cannot say which one applies.",
    f"PUT {CREDENTIAL} data": "As for PATCH: the variant is the stored credential's type.",
    "oauth2.issuer": "Required when issParameterSupported is true: a rule across keys.",
    **{
        f"{label} {field}": "The credential pointer is open (other keys of a credential copied "
        "there are ignored), and NUL characters are refused anywhere in a body."
        for label in INITIALISE
        for field in ("credential", "credential.")
    },
    "data.certificate.": "A certificate credential's PEM must be a real X.509 certificate and "
    "key that match: no schema can say that.",
    "signingKeys.": "A JWK must be a real public key (an RSA modulus of 2048-4096 bits, a point "
    "on P-256 or Ed25519): no schema can say that.",
    "not_an_end_user_token": "This operation takes a company-signed end-user token; the "
    "embed bearer here is a connect session token (tests/embed cover the exchange).",
    "after": "A cursor is opaque: only an endCursor this API returned is one.",
    "invalid_state": "A state is opaque: only one Patchbay issued (and not yet used) is one.",
    "type_immutable": "A credential keeps its type: which one is the stored credential's.",
    "unsupported_grant": "The grant a config uses is stored with the config.",
    "expiresAt": "Must be in the future: the document cannot know the clock.",
    "systemId": "A connection keeps its connector: compared with the stored connection.",
    "externalId": "An end user keeps its externalId: compared with the stored end user.",
    "redirect_url_not_allowed": "The allowed redirect URLs are the organisation's own list.",
    "oauth2.authorizeUrl": "Required by the authorizationCode grant only: a rule across keys.",
    "oauth2.tokenAuthMethod": "tls_client_auth needs mtlsEnabled: a rule across keys.",
    "id": "An auth scheme config's id in a PUT body must be the one in its path.",
    "data.default.": "A default credential's keys are 1-200 characters: OpenAPI 3.0 has no "
    "propertyNames to say so.",
}

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Input the document forbids: refused (4xx), and still never a 5xx or an undocumented answer.
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]


@dataclass
class World:
    alice: Actor
    ids: dict[str, str]
    session_token: str


@pytest.fixture
def world(upstream: Upstream, transactional_db: Any) -> World:  # noqa: F811
    """Alice's objects, every URL of them on the loopback ``upstream``: no case leaves the
    machine (the proxy's target, the token endpoint, the webhook)."""
    upstream.reply(
        lambda seen: Reply(
            400, [("Content-Type", "application/json")], b'{"error": "invalid_grant"}'
        )
    )
    alice = _actor("Alice Ltd")
    hub = make_hub(
        alice,
        authorize_url=f"{upstream.url}/authorize",
        token_url=f"{upstream.url}/token",
        client_id="client-123",
        client_secret="cs-hub-client-secret-0123456789",
    )
    token = f.token_credential(alice.organisation)
    connection = f.connection(alice.organisation, hub.oauth2, links=[(hub.oauth2_config, token)])
    connection.base_url = f"{upstream.url}/v1"
    connection.save(update_fields=["base_url"])
    minted = connect_session_create(hub=hub.hub, external_id="user-1", display_name="User One")
    endpoint = endpoint_create(organisation=alice.organisation, url=f"{upstream.url}/hook").endpoint
    event_emit(organisation=alice.organisation, type="connection.created", data={"id": "x"})
    delivery = endpoint.deliveries.get()
    ids = {
        "organisation_id": alice.org_id,
        "connector_id": str(hub.oauth2.pk),
        "config_id": hub.oauth2_config.config_id,
        "credential_id": str(token.pk),
        "connection_id": str(connection.pk),
        "hub_id": str(hub.hub.pk),
        "user_id": str(minted.session.end_user_id),
        "webhook_id": str(endpoint.pk),
        "delivery_id": str(delivery.pk),
    }
    return World(alice=alice, ids=ids, session_token=minted.token)


def _operations(schema: Any) -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda op: (op.method.upper() == "DELETE", op.label))


def _tolerated(label: str, field: str) -> bool:
    """A key names a top-level field, or (with a dot) the end of a nested field's path, or
    (ending in ``.``) the start of the paths below a field; in one operation when it starts
    with the operation's label."""
    for key in TOLERATED_REFUSALS:
        if key.startswith(label + " "):
            key = key.removeprefix(label + " ")
        elif " " in key:
            continue
        if (
            field == key
            or ("." in key and field.endswith("." + key))
            or (key.endswith(".") and field.startswith(key))
        ):
            return True
    return False


def _refused_valid_input(label: str, response: requests.Response) -> str | None:
    """For a case the document allows: why its 400 is a failure of the document, or None
    (another status, or a refusal :data:`TOLERATED_REFUSALS` explains)."""
    if response.status_code != 400:
        return None
    body = response.json()
    fields = [item["field"] for item in body.get("fields", [])] or ["body"]
    if body["code"] in TOLERATED_REFUSALS or all(_tolerated(label, field) for field in fields):
        return None
    details = [f"{item['field']}: {item['message']}" for item in body.get("fields", [])]
    return f"{body['code']}: {body['message']} {details}"


@dataclass
class Run:
    """One run over the document: where it sends, as whom, and what failed."""

    base_url: str
    world: World
    session: requests.Session
    failures: dict[tuple[str, str], str]
    cases: dict[GenerationMode, int]

    def record(self, label: str, title: str, detail: str) -> None:
        self.failures.setdefault((label, title), detail[:3000])

    def fuzz(self, operation: Any, mode: GenerationMode, examples: int) -> None:
        embed = operation.path.startswith("/api/v2/embed/")
        key = self.world.session_token if embed else self.world.alice.key
        headers = {"Authorization": f"Bearer {key}"}
        checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=not os.environ.get("PATCHBAY_SCHEMATHESIS_RANDOM"),
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            path = case.meta.components.get(ParameterLocation.PATH)
            if path is None or path.mode is GenerationMode.POSITIVE:
                for name in case.path_parameters or {}:
                    if name in self.world.ids:
                        case.path_parameters[name] = self.world.ids[name]
            self.cases[mode] += 1
            try:
                response = case.call_and_validate(
                    base_url=self.base_url, session=self.session, headers=headers, checks=checks
                )
            except FailureGroup as group:
                for failure in group.exceptions:
                    self.record(operation.label, failure.title, str(group))
                return
            if mode is GenerationMode.POSITIVE:
                refused = _refused_valid_input(operation.label, response)
                if refused is not None:
                    curl = case.as_curl_command(headers=headers)
                    self.record(operation.label, "valid input refused", f"{refused}\n{curl}")

        run()


def test_every_operation_answers_as_the_document_says(live_server: Any, world: World) -> None:
    document = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30).json()
    operations = _operations(schemathesis.openapi.from_dict(document))
    run = Run(live_server.url, world, requests.Session(), {}, dict.fromkeys(GenerationMode, 0))
    for operation in operations:
        run.fuzz(operation, GenerationMode.POSITIVE, EXAMPLES)
        run.fuzz(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)

    unexpected = {k: v for k, v in run.failures.items() if k not in TOLERATED}
    assert not unexpected, "\n\n".join(f"{k}:\n{v}" for k, v in unexpected.items())
    assert run.cases[GenerationMode.POSITIVE] >= len(operations)
    assert run.cases[GenerationMode.NEGATIVE] >= len(operations)


def test_the_run_catches_a_document_that_lies(live_server: Any, world: World) -> None:
    """The harness is not vacuous: with one status taken out of the document (rotate-secret's
    400), the forbidden bodies it generates are answered with an undocumented status."""
    document = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30).json()
    path = "/api/v2/o/{organisation_id}/webhooks/{webhook_id}/rotate-secret"
    del document["paths"][path]["post"]["responses"]["400"]
    (operation,) = [
        op for op in _operations(schemathesis.openapi.from_dict(document)) if op.path == path
    ]
    run = Run(live_server.url, world, requests.Session(), {}, dict.fromkeys(GenerationMode, 0))
    run.fuzz(operation, GenerationMode.NEGATIVE, 4)
    assert (operation.label, "Undocumented status code") in run.failures

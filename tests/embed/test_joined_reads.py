"""core.rows: hand-written joins must give back exactly what the ORM would.

These run on whichever database the suite runs on (SQLite locally, PostgreSQL in CI), and
the converters differ between the two (SQLite hands back text UUIDs and naive datetimes),
so comparing with the ORM's own instances checks both.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Model

from connectors.models import AuthSchemeConfig
from core.fields import Sealed
from core.rows import Join, Source
from credentials.models import Credential
from embed.authentication import _SESSION_JOIN, session_for_token
from embed.models import ConnectSession, EndUser, Hub
from organisations.models import Organisation
from tests.embed.conftest import EmbedHub

pytestmark = pytest.mark.django_db


def values(instance: Model) -> dict[str, object]:
    """Every concrete field as the instance holds it (encrypted ones still sealed)."""
    return {f.attname: instance.__dict__[f.attname] for f in instance._meta.concrete_fields}


def test_a_session_read_equals_the_orm_read(hub: EmbedHub, session_token: str) -> None:
    expected = ConnectSession.objects.select_related("hub__organisation", "end_user").get()
    session = session_for_token(session_token)
    assert session is not None
    assert values(session) == values(expected)
    assert values(session.hub) == values(expected.hub)
    assert values(session.hub.organisation) == values(expected.hub.organisation)
    assert values(session.end_user) == values(expected.end_user)
    assert session.hub.allowed_origins == ["https://app.example.com"]  # JSON decoded
    assert session.pk.__class__.__name__ == "UUID"
    assert session.expires_at.tzinfo is not None


def test_a_session_read_is_one_query_and_links_its_objects(
    hub: EmbedHub, session_token: str, django_assert_num_queries
) -> None:
    with django_assert_num_queries(1):
        session = session_for_token(session_token)
    assert session is not None
    with django_assert_num_queries(0):
        assert session.hub.organisation.name == "Alice Ltd"
        assert session.organisation is session.hub.organisation
        assert session.end_user.hub is session.hub
        assert session.end_user.organisation is session.hub.organisation
        assert session.end_user.external_id == "user-1"


def test_an_unknown_token_reads_nothing(hub: EmbedHub, session_token: str) -> None:
    assert session_for_token(session_token + "x") is None
    assert session_for_token("") is None


def test_a_left_join_that_matched_nothing_gives_none(hub: EmbedHub) -> None:
    join = Join(Source(AuthSchemeConfig, "config"), Source(Credential, "client"))
    config, client = join.sources
    sql = (
        f"SELECT {join.select_list()} FROM {config.table()}"
        f" LEFT JOIN {client.table()} ON client.id = %s WHERE config.id = %s"
    )
    pk = AuthSchemeConfig._meta.pk
    assert pk is not None

    def read(credential_id: object) -> list[Model | None]:
        ids = (credential_id, hub.oauth2_config.pk)
        (row,) = join.fetch(sql, [pk.get_db_prep_value(i, connection) for i in ids])
        return row

    found_config, missing = read(hub.api_key_config.pk)  # not a credential's id
    assert missing is None
    assert isinstance(found_config, AuthSchemeConfig)
    assert values(found_config) == values(AuthSchemeConfig.objects.get(pk=hub.oauth2_config.pk))

    found_config, credential = read(hub.client_credential.pk)
    assert isinstance(credential, Credential)
    # The secret stays sealed until read, then decrypts bound to its own row.
    assert isinstance(credential.__dict__["data"], Sealed)
    assert credential.data["clientSecret"] == "cs-hub-client-secret-0123456789"


def test_the_row_must_have_the_joined_width() -> None:
    with pytest.raises(ValueError, match="columns"):
        _SESSION_JOIN.instances((1, 2, 3))


@pytest.mark.parametrize("aliases", [("a", "a"), ("a", "b c"), ("a", "b;--")])
def test_aliases_must_be_distinct_identifiers(aliases: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="Aliases"):
        Join(Source(Hub, aliases[0]), Source(EndUser, aliases[1]))


def test_the_select_list_names_every_column_once(hub: EmbedHub) -> None:
    listed = _SESSION_JOIN.select_list().split(", ")
    models: list[type[Model]] = [ConnectSession, Hub, Organisation, EndUser]
    assert len(listed) == sum(len(m._meta.concrete_fields) for m in models)
    assert len(set(listed)) == len(listed)

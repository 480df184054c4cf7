"""The committed subgraph SDL files and the supergraph must match the code (`crm schemas`)."""

from __future__ import annotations

import pytest

from crm.schemas import SUPERGRAPH, composed_supergraph, sdl_file, subgraph_sdl
from crm.stack import available_services
from crmkit.settings import Settings

SERVICES = available_services()


@pytest.mark.parametrize("service", SERVICES)
def test_subgraph_sdl_file_is_up_to_date(service: str) -> None:
    assert sdl_file(service).read_text() == subgraph_sdl(service), (
        f"services/{service}/schema.graphql is stale: run `crm schemas`"
    )


def test_supergraph_file_is_up_to_date() -> None:
    assert SERVICES, "no service found"
    settings = Settings.model_construct()  # defaults, whatever the environment says
    assert SUPERGRAPH.read_text() == composed_supergraph(settings), (
        "gateway/supergraph.graphql is stale: run `crm schemas`"
    )

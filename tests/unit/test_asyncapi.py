"""The committed event catalogue (docs/asyncapi.yaml) must match the contract modules."""

from __future__ import annotations

import yaml

from crm.asyncapi import CATALOGUE, asyncapi_yaml
from crmkit.contracts import REGISTRY


def test_event_catalogue_is_up_to_date() -> None:
    assert CATALOGUE.read_text() == asyncapi_yaml(), (
        "docs/asyncapi.yaml is stale: run `crm schemas`"
    )


def test_catalogue_lists_every_contract_event_with_its_envelope() -> None:
    spec = yaml.safe_load(asyncapi_yaml())
    contract_types = {
        t for t, e in REGISTRY.items() if e.__module__.startswith("crmkit.contracts.")
    }
    assert contract_types <= set(spec["channels"])
    assert {
        "crm.leads.lead.converted",
        "crm.documents.offer.issued",
        "crm.pipeline.opportunity.stage_changed",
    } <= contract_types
    schemas = spec["components"]["schemas"]
    envelope = schemas["LeadConvertedEnvelope"]
    assert {"id", "type", "org_id", "aggregate_id", "aggregate_version", "payload"} <= set(
        envelope["properties"]
    )

"""No org reaches another's rows; bad input gets typed errors, never a 500."""

from __future__ import annotations

import base64
import uuid

import pytest

from crmkit.testing.plugin import Org
from services.documents.domain import MAX_CONTENT_BYTES

from .conftest import (
    ADD_VERSION,
    CREATE_FOLDER,
    DOCUMENTS,
    ISSUE_OFFER,
    OFFER_VALUES,
    OFFERS,
    SET_DOCUMENT_ACCESS,
    SET_FOLDER_ACCESS,
    UPLOAD,
    Api,
    make_document,
    make_folder,
)

pytestmark = pytest.mark.integration


async def test_an_org_never_reads_or_changes_another_orgs_library_or_offers(
    api: Api, org: Org, other_org: Org
) -> None:
    ours = org.token("admin")
    folder_id = await make_folder(api, ours)
    template_id = await make_document(api, ours, folder_id)
    opportunity = str(uuid.uuid4())
    offer = (
        await api.data(
            ours, ISSUE_OFFER, opportunity=opportunity, template=template_id, values=OFFER_VALUES
        )
    )["issueOffer"]["offer"]

    theirs = other_org.token("admin")
    assert (await api.data(theirs, "{ folders { id } }"))["folders"] == []
    assert (await api.data(theirs, DOCUMENTS))["documents"]["edges"] == []
    for query, key, value in (
        ("query($id: ID!) { document(id: $id) { id } }", "document", template_id),
        ("query($id: ID!) { folder(id: $id) { id } }", "folder", folder_id),
        ("query($id: ID!) { offer(id: $id) { id } }", "offer", offer["id"]),
    ):
        assert (await api.data(theirs, query, id=value))[key] is None
    assert (await api.data(theirs, OFFERS, opportunity=opportunity))["offers"] == []

    attempts: list[tuple[str, str, dict[str, object]]] = [
        ("setFolderAccess", SET_FOLDER_ACCESS, {"id": folder_id, "groups": []}),
        (
            "uploadDocument",
            UPLOAD,
            {"folder": folder_id, "name": "x", "kind": "OTHER", "content": "x"},
        ),
        ("addDocumentVersion", ADD_VERSION, {"id": template_id, "content": "x"}),
        ("setDocumentAccess", SET_DOCUMENT_ACCESS, {"id": template_id, "groups": []}),
        (
            "issueOffer",
            ISSUE_OFFER,
            {"opportunity": opportunity, "template": template_id, "values": OFFER_VALUES},
        ),
    ]
    for field, mutation, variables in attempts:
        result = (await api.data(theirs, mutation, **variables))[field]
        assert result["__typename"] == "NotFound", field
    assert (await api.events(org_id=other_org.id)) == []
    # Our rows are untouched.
    listed = (await api.data(ours, OFFERS, opportunity=opportunity))["offers"]
    assert [o["id"] for o in listed] == [offer["id"]]


async def test_bad_input_gets_typed_errors(api: Api, org: Org) -> None:
    admin = org.token("admin")
    folder_id = await make_folder(api, admin)
    template_id = await make_document(api, admin, folder_id)
    too_big = base64.b64encode(b"x" * (MAX_CONTENT_BYTES + 1)).decode()
    cases: list[tuple[str, str, dict[str, object], list[list[str]]]] = [
        (
            "createFolder",
            CREATE_FOLDER,
            {"name": "  ", "groups": [""]},
            [
                ["name"],
                ["allowedGroups", "0"],
            ],
        ),
        ("setFolderAccess", SET_FOLDER_ACCESS, {"id": "nope", "groups": []}, [["folderId"]]),
        (
            "uploadDocument",
            UPLOAD,
            {"folder": folder_id, "name": "t", "kind": "OFFER_TEMPLATE", "content": "cost $5"},
            [["content"]],
        ),
        (
            "uploadDocument",
            UPLOAD,
            {"folder": folder_id, "name": "", "kind": "OTHER", "content": "", "media": "bad"},
            [["name"], ["mediaType"], ["content"]],
        ),
        (
            "uploadDocument",
            UPLOAD,
            {
                "folder": folder_id,
                "name": "big",
                "kind": "OTHER",
                "content": too_big,
                "encoding": "BASE64",
            },
            [["content"]],
        ),
        (
            "uploadDocument",
            UPLOAD,
            {
                "folder": folder_id,
                "name": "b64",
                "kind": "OTHER",
                "content": "%%%",
                "encoding": "BASE64",
            },
            [["content"]],
        ),
        ("addDocumentVersion", ADD_VERSION, {"id": "1", "content": "x"}, [["documentId"]]),
        (
            "issueOffer",
            ISSUE_OFFER,
            {"opportunity": "x", "template": "y", "values": []},
            [["opportunityId"], ["templateId"]],
        ),
        (
            "issueOffer",
            ISSUE_OFFER,
            {
                "opportunity": str(uuid.uuid4()),
                "template": template_id,
                "values": OFFER_VALUES,
                "amount": "-5",
                "currency": "euros",
                "title": "",
                "templateVersion": 0,
            },
            [["title"], ["amount"], ["currency"], ["templateVersion"]],
        ),
    ]
    for field, mutation, variables, paths in cases:
        result = (await api.data(admin, mutation, **variables))[field]
        assert result["__typename"] == "ValidationError", (field, variables, result)
        assert [f["path"] for f in result["fields"]] == paths, (field, result)


async def test_unknown_ids_answer_not_found(api: Api, org: Org) -> None:
    admin = org.token("admin")
    missing = str(uuid.uuid4())
    cases: list[tuple[str, str, dict[str, object], str]] = [
        ("setFolderAccess", SET_FOLDER_ACCESS, {"id": missing, "groups": []}, "Folder"),
        (
            "uploadDocument",
            UPLOAD,
            {"folder": missing, "name": "x", "kind": "OTHER", "content": "x"},
            "Folder",
        ),
        ("addDocumentVersion", ADD_VERSION, {"id": missing, "content": "x"}, "Document"),
        (
            "issueOffer",
            ISSUE_OFFER,
            {"opportunity": missing, "template": missing, "values": []},
            "Document",
        ),
    ]
    for field, mutation, variables, entity in cases:
        result = (await api.data(admin, mutation, **variables))[field]
        assert (result["__typename"], result["entity"], result["id"]) == (
            "NotFound",
            entity,
            missing,
        )


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"first": 1000}, "first"), ({"first": -1}, "first"), ({"after": "garbage"}, "after"),
     ({"after": "YXxi"}, "after"), ({"folder": "x"}, "folderId")],
    ids=["first-too-big", "first-negative", "after-garbage", "after-tampered", "folder-id"],
)
async def test_bad_query_arguments_are_graphql_errors_not_500s(
    api: Api, org: Org, variables: dict[str, object], field: str
) -> None:
    body = await api.call(org.token("rep"), DOCUMENTS, **variables)
    assert body["data"] == {"documents": None}  # root fields are nullable: only it is lost
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert [f["path"] for f in error["extensions"]["fields"]] == [[field]]


async def test_an_unknown_enum_value_is_a_graphql_error_not_a_500(api: Api, org: Org) -> None:
    admin = org.token("admin")
    body = await api.call(
        admin, UPLOAD, folder=str(uuid.uuid4()), name="x", kind="SPREADSHEET", content="x"
    )
    assert body["data"] is None
    [error] = body["errors"]
    assert "SPREADSHEET" in error["message"] and "DocumentKind" in error["message"]

"""The document library: group access, who manages it, versions, paging."""

from __future__ import annotations

import base64
import hashlib
import uuid

import pytest

from crmkit.testing.plugin import Org

from .conftest import (
    ADD_VERSION,
    CREATE_FOLDER,
    DOCUMENTS,
    SET_DOCUMENT_ACCESS,
    SET_FOLDER_ACCESS,
    UPLOAD,
    Api,
    make_document,
    make_folder,
)

pytestmark = pytest.mark.integration

FOLDERS = "{ folders { id name allowedGroups } }"
DOCUMENT = "query($id: ID!) { document(id: $id) { id name } }"


async def test_group_access_matrix(api: Api, org: Org) -> None:
    admin = org.token("admin")
    open_folder = await make_folder(api, admin)
    legal_folder = await make_folder(api, admin, ["legal"])
    ids = {
        "open": await make_document(api, admin, open_folder, name="open", kind="NDA"),
        "finance-only": await make_document(
            api, admin, open_folder, name="finance-only", kind="PRICE_LIST", groups=["finance"]
        ),
        "legal-folder": await make_document(api, admin, legal_folder, name="legal-folder"),
        "legal-folder-finance": await make_document(
            api, admin, legal_folder, name="legal-folder-finance", groups=["finance"]
        ),
    }
    matrix = {
        "rep without groups": (org.token("rep"), {"open"}, {open_folder}),
        "rep in legal": (
            org.token("rep", groups=("legal",)),
            {"open", "legal-folder"},
            {open_folder, legal_folder},
        ),
        "rep in finance": (
            org.token("rep", groups=("finance",)),
            {"open", "finance-only"},
            {open_folder},
        ),
        "rep in legal and finance": (
            org.token("rep", groups=("legal", "finance")),
            set(ids),
            {open_folder, legal_folder},
        ),
        "manager in sales": (
            org.token("manager", groups=("sales",)),
            {"open"},
            {open_folder},
        ),
        "admin without groups": (org.token("admin"), set(ids), {open_folder, legal_folder}),
    }
    for who, (token, documents, folders) in matrix.items():
        listed = await api.data(token, DOCUMENTS, first=50)
        names = {e["node"]["name"] for e in listed["documents"]["edges"]}
        assert names == documents, who
        seen_folders = {f["id"] for f in (await api.data(token, FOLDERS))["folders"]}
        assert seen_folders == folders, who
        for name, document_id in ids.items():
            found = (await api.data(token, DOCUMENT, id=document_id))["document"]
            assert (found is not None) is (name in documents), (who, name)


async def test_only_managers_and_admins_manage_folders_and_access(api: Api, org: Org) -> None:
    rep = org.token("rep", groups=("writers",))
    manager = org.token("manager")
    refused = await api.data(rep, CREATE_FOLDER, name="Mine")
    assert refused["createFolder"]["__typename"] == "Forbidden"
    folder_id = await make_folder(api, manager, writers=["writers"])
    refused = await api.data(rep, SET_FOLDER_ACCESS, id=folder_id, groups=["legal"])
    assert refused["setFolderAccess"]["__typename"] == "Forbidden"
    restricted = await api.data(
        rep, UPLOAD, folder=folder_id, name="x", kind="OTHER", content="x", groups=["legal"]
    )
    assert restricted["uploadDocument"]["__typename"] == "Forbidden"
    document_id = await make_document(api, rep, folder_id, kind="OTHER", content="mine")
    refused = await api.data(rep, SET_DOCUMENT_ACCESS, id=document_id, groups=["legal"])
    assert refused["setDocumentAccess"]["__typename"] == "Forbidden"

    changed = await api.data(manager, SET_FOLDER_ACCESS, id=folder_id, groups=["legal", " sales"])
    assert changed["setFolderAccess"]["folder"]["allowedGroups"] == ["legal", "sales"]
    assert changed["setFolderAccess"]["folder"]["version"] == 2
    # The rep is in neither group now: the folder is hidden, exactly as if it did not exist.
    hidden = await api.data(rep, UPLOAD, folder=folder_id, name="x", kind="OTHER", content="x")
    assert hidden["uploadDocument"]["__typename"] == "NotFound"
    assert (await api.data(rep, DOCUMENT, id=document_id))["document"] is None


async def test_folder_access_changes_are_optimistically_concurrent(api: Api, org: Org) -> None:
    admin = org.token("admin")
    folder_id = await make_folder(api, admin)
    first = await api.data(admin, SET_FOLDER_ACCESS, id=folder_id, groups=["a"], expected=1)
    assert first["setFolderAccess"]["folder"]["version"] == 2
    stale = await api.data(admin, SET_FOLDER_ACCESS, id=folder_id, groups=["b"], expected=1)
    assert stale["setFolderAccess"] == {
        "__typename": "VersionConflict",
        "message": stale["setFolderAccess"]["message"],
        "currentVersion": 2,
    }


async def test_folder_names_are_unique_per_org_ignoring_case(api: Api, org: Org) -> None:
    admin = org.token("admin")
    name = f"Offers {uuid.uuid4().hex[:6]}"
    assert (await api.data(admin, CREATE_FOLDER, name=name))["createFolder"]["folder"]
    again = (await api.data(admin, CREATE_FOLDER, name=name.upper()))["createFolder"]
    assert again["__typename"] == "ValidationError"
    assert again["fields"] == [{"path": ["name"], "message": "a folder with this name exists"}]


async def test_new_content_makes_a_new_version_with_its_hash_author_and_time(
    api: Api, org: Org
) -> None:
    manager_id = uuid.uuid4()
    manager = org.token("manager", member_id=manager_id)
    folder_id = await make_folder(api, manager)
    document_id = await make_document(api, manager, folder_id, kind="NDA", content="v1")

    added = (await api.data(manager, ADD_VERSION, id=document_id, content="v2", expected=1))[
        "addDocumentVersion"
    ]
    assert added["document"]["currentVersion"] == 2
    assert added["version"] == {
        "number": 2,
        "sizeBytes": 2,
        "sha256": hashlib.sha256(b"v2").hexdigest(),
        "text": "v2",
    }
    stale = (await api.data(manager, ADD_VERSION, id=document_id, content="v3", expected=1))[
        "addDocumentVersion"
    ]
    assert (stale["__typename"], stale["currentVersion"]) == ("VersionConflict", 2)

    versions = await api.data(
        manager,
        """query($id: ID!) { document(id: $id) {
             latestVersion { number text }
             versions { number text createdBy createdAt sha256 } } }""",
        id=document_id,
    )
    document = versions["document"]
    assert document["latestVersion"] == {"number": 2, "text": "v2"}
    assert [(v["number"], v["text"]) for v in document["versions"]] == [(2, "v2"), (1, "v1")]
    assert {v["createdBy"] for v in document["versions"]} == {str(manager_id)}
    assert all(v["createdAt"] for v in document["versions"])


async def test_reps_version_documents_where_they_may_write(api: Api, org: Org) -> None:
    admin = org.token("admin")
    writer, reader = org.token("rep", groups=("sales",)), org.token("rep")
    folder_id = await make_folder(api, admin, writers=["sales"])
    theirs = await make_document(api, admin, folder_id, kind="OTHER", content="a")
    refused = await api.data(reader, ADD_VERSION, id=theirs, content="b")
    assert refused["addDocumentVersion"]["__typename"] == "Forbidden"
    accepted = await api.data(writer, ADD_VERSION, id=theirs, content="b")
    assert accepted["addDocumentVersion"]["version"]["number"] == 2


async def test_binary_content_round_trips_through_base64(api: Api, org: Org) -> None:
    admin = org.token("admin")
    folder_id = await make_folder(api, admin)
    data = b"%PDF-1.7\n" + bytes(range(256)) * 10
    uploaded = (
        await api.data(
            admin,
            UPLOAD,
            folder=folder_id,
            name="price list.pdf",
            kind="PRICE_LIST",
            content=base64.b64encode(data).decode(),
            encoding="BASE64",
            media="application/pdf",
        )
    )["uploadDocument"]
    assert uploaded["version"]["sizeBytes"] == len(data)
    assert uploaded["version"]["sha256"] == hashlib.sha256(data).hexdigest()
    read = await api.data(
        admin,
        "query($id: ID!) { document(id: $id) { latestVersion { base64 text mediaType } } }",
        id=uploaded["document"]["id"],
    )
    latest = read["document"]["latestVersion"]
    assert base64.b64decode(latest["base64"]) == data
    assert latest["text"] is None
    assert latest["mediaType"] == "application/pdf"


async def test_documents_page_by_cursor_and_filter_by_folder_and_kind(api: Api, org: Org) -> None:
    admin = org.token("admin")
    folder_id = await make_folder(api, admin)
    other_folder = await make_folder(api, admin)
    names = [f"doc {i}" for i in range(5)]
    for name in names:
        await make_document(api, admin, folder_id, name=name, kind="CONTRACT", content="c")
    await make_document(api, admin, folder_id, name="nda", kind="NDA", content="n")
    await make_document(api, admin, other_folder, name="elsewhere", kind="CONTRACT", content="e")

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (
            await api.data(
                admin, DOCUMENTS, folder=folder_id, kind="CONTRACT", first=2, after=after
            )
        )["documents"]
        seen += [e["node"]["name"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == names
    assert pages == 3

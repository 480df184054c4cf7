"""Folders and documents managed over GraphQL: the read/write access matrix per group, one level
of nesting, archiving, and documents renamed, moved and soft-deleted (who and when)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crmkit.testing.plugin import Org

from .conftest import ERRORS, Api, make_document, make_folder

pytestmark = pytest.mark.integration

FOLDER = """query($id: ID!) { folder(id: $id) { id name parentId writeGroups canWrite
  archivedAt archivedBy parent { id } } }"""
FOLDERS = """query($archived: Boolean! = false) {
  folders(includeArchived: $archived) { id name } }"""
CAN_UPLOAD = """mutation($folder: ID!) {
  requestDocumentUpload(folderId: $folder, name: "x", kind: OTHER, mediaType: "text/plain") {
    __typename } }"""
RENAME_FOLDER = f"""mutation($id: ID!, $name: String!, $expected: Int) {{
  renameFolder(folderId: $id, name: $name, expectedVersion: $expected) {{
    __typename ... on ChangeFolderPayload {{ folder {{ name version }} }} {ERRORS} }} }}"""
MOVE_FOLDER = f"""mutation($id: ID!, $parent: ID) {{
  moveFolder(folderId: $id, parentId: $parent) {{
    __typename ... on ChangeFolderPayload {{ folder {{ parentId }} }} {ERRORS} }} }}"""
ARCHIVE_FOLDER = f"""mutation($id: ID!, $archived: Boolean!) {{
  archiveFolder(folderId: $id, archived: $archived) {{
    __typename ... on ChangeFolderPayload {{ folder {{ archivedAt archivedBy }} }} {ERRORS} }} }}"""
RENAME_DOCUMENT = f"""mutation($id: ID!, $name: String!) {{
  renameDocument(documentId: $id, name: $name) {{
    __typename ... on ChangeDocumentPayload {{ document {{ name }} }} {ERRORS} }} }}"""
MOVE_DOCUMENT = f"""mutation($id: ID!, $folder: ID!) {{
  moveDocument(documentId: $id, folderId: $folder) {{
    __typename ... on ChangeDocumentPayload {{ document {{ folderId }} }} {ERRORS} }} }}"""
DELETE_DOCUMENT = f"""mutation($id: ID!) {{
  deleteDocument(documentId: $id) {{
    __typename ... on ChangeDocumentPayload {{ document {{ deletedAt deletedBy }} }}
    {ERRORS} }} }}"""
DOCUMENT = "query($id: ID!) { document(id: $id) { id name folderId } }"
DOCUMENTS = """query($folder: ID, $deleted: Boolean! = false) {
  documents(folderId: $folder, deleted: $deleted) {
    edges { node { id name deletedAt deletedBy } } } }"""


async def typename(api: Api, token: str, query: str, field: str, **variables: Any) -> str:
    return str((await api.data(token, query, **variables))[field]["__typename"])


async def test_the_read_and_write_access_matrix(api: Api, org: Org, other_org: Org) -> None:
    admin = org.token("admin")
    shared = await make_folder(api, admin, writers=["sales"])
    legal = await make_folder(api, admin, ["legal"], writers=["legal-editors"])
    inside = await make_folder(api, admin, writers=["sales"], parent=legal)
    folders = {"shared": shared, "legal": legal, "legal/inside": inside}
    people = {
        "rep": org.token("rep"),
        "rep in sales": org.token("rep", groups=("sales",)),
        "rep in legal": org.token("rep", groups=("legal",)),
        "legal editor": org.token("rep", groups=("legal", "legal-editors")),
        "rep in legal and sales": org.token("rep", groups=("legal", "sales")),
        "manager": org.token("manager"),
        "manager in legal": org.token("manager", groups=("legal",)),
        "admin": admin,
        "another org's admin": other_org.token("admin"),
    }
    everything = {"shared": "rw", "legal": "rw", "legal/inside": "rw"}
    expected = {
        "rep": {"shared": "r"},
        "rep in sales": {"shared": "rw"},
        "rep in legal": {"shared": "r", "legal": "r", "legal/inside": "r"},
        "legal editor": {"shared": "r", "legal": "rw", "legal/inside": "r"},
        "rep in legal and sales": {"shared": "rw", "legal": "r", "legal/inside": "rw"},
        "manager": {"shared": "rw"},
        "manager in legal": everything,
        "admin": everything,
        "another org's admin": {},
    }
    found: dict[str, dict[str, str]] = {}
    for who, token in people.items():
        found[who] = {}
        listed = {f["id"] for f in (await api.data(token, FOLDERS))["folders"]}
        for name, folder_id in folders.items():
            seen = (await api.data(token, FOLDER, id=folder_id))["folder"]
            assert (seen is not None) == (folder_id in listed), (who, name)
            upload = await typename(api, token, CAN_UPLOAD, "requestDocumentUpload",
                                    folder=folder_id)
            assert upload in ("RequestUploadPayload", "Forbidden", "NotFound"), upload
            assert (upload == "NotFound") == (seen is None), (who, name, upload)
            if seen is not None:
                assert seen["canWrite"] == (upload == "RequestUploadPayload"), (who, name)
                found[who][name] = "rw" if upload == "RequestUploadPayload" else "r"
    assert found == expected


async def test_folders_are_renamed_nested_one_level_and_archived(api: Api, org: Org) -> None:
    admin, manager, rep = org.token("admin"), org.token("manager"), org.token("rep")
    top = await make_folder(api, admin)
    child = await make_folder(api, admin)
    other = await make_folder(api, admin)
    name = f"Offers {uuid.uuid4().hex[:6]}"
    renamed = (await api.data(manager, RENAME_FOLDER, id=top, name=f"  {name} ", expected=1))[
        "renameFolder"]
    assert renamed["folder"] == {"name": name, "version": 2}
    taken = await api.data(manager, RENAME_FOLDER, id=other, name=name.upper())
    assert taken["renameFolder"]["fields"] == [{"path": ["name"],
                                                 "message": "a folder with this name exists"}]
    stale = await api.data(manager, RENAME_FOLDER, id=top, name="x", expected=1)
    assert stale["renameFolder"]["__typename"] == "VersionConflict"
    assert await typename(api, rep, RENAME_FOLDER, "renameFolder", id=top,
                          name="y") == "Forbidden"

    nested = (await api.data(admin, MOVE_FOLDER, id=child, parent=top))["moveFolder"]
    assert nested["folder"] == {"parentId": top}
    seen = (await api.data(rep, FOLDER, id=child))["folder"]
    assert seen["parent"] == {"id": top}
    deeper = (await api.data(admin, MOVE_FOLDER, id=other, parent=child))["moveFolder"]
    assert deeper["fields"][0]["message"] == "folders nest one level: the parent is a subfolder"
    has_child = (await api.data(admin, MOVE_FOLDER, id=top, parent=other))["moveFolder"]
    assert has_child["fields"][0]["message"] == (
        "folders nest one level: this folder has subfolders")
    itself = (await api.data(admin, MOVE_FOLDER, id=other, parent=other))["moveFolder"]
    assert itself["__typename"] == "ValidationError"
    back = (await api.data(admin, MOVE_FOLDER, id=child, parent=None))["moveFolder"]
    assert back["folder"] == {"parentId": None}

    document = await make_document(api, admin, other, kind="OTHER", content="kept")
    archived = (await api.data(manager, ARCHIVE_FOLDER, id=other, archived=True))[
        "archiveFolder"]
    assert archived["folder"]["archivedAt"] and archived["folder"]["archivedBy"]
    assert other not in {f["id"] for f in (await api.data(rep, FOLDERS))["folders"]}
    assert other in {f["id"] for f in (await api.data(rep, FOLDERS, archived=True))["folders"]}
    assert (await api.data(rep, DOCUMENT, id=document))["document"]["id"] == document
    refused = (await api.data(admin, CAN_UPLOAD, folder=other))["requestDocumentUpload"]
    assert refused == {"__typename": "Forbidden"}
    restored = (await api.data(manager, ARCHIVE_FOLDER, id=other, archived=False))[
        "archiveFolder"]
    assert restored["folder"] == {"archivedAt": None, "archivedBy": None}
    assert (await api.data(admin, CAN_UPLOAD, folder=other))["requestDocumentUpload"] == {
        "__typename": "RequestUploadPayload"}


async def test_documents_are_renamed_moved_and_soft_deleted(api: Api, org: Org) -> None:
    admin = org.token("admin")
    writer, reader = org.token("rep", groups=("sales",)), org.token("rep")
    source = await make_folder(api, admin, writers=["sales"])
    target = await make_folder(api, admin, writers=["sales"])
    closed = await make_folder(api, admin)
    document = await make_document(api, writer, source, kind="OTHER", content="v1")

    assert (await api.data(writer, RENAME_DOCUMENT, id=document, name=" Cennik "))[
        "renameDocument"]["document"] == {"name": "Cennik"}
    assert await typename(api, reader, RENAME_DOCUMENT, "renameDocument", id=document,
                          name="x") == "Forbidden"
    assert await typename(api, writer, MOVE_DOCUMENT, "moveDocument", id=document,
                          folder=closed) == "Forbidden"
    moved = (await api.data(writer, MOVE_DOCUMENT, id=document, folder=target))["moveDocument"]
    assert moved["document"] == {"folderId": target}
    assert (await api.data(reader, DOCUMENTS, folder=source))["documents"]["edges"] == []

    assert await typename(api, reader, DELETE_DOCUMENT, "deleteDocument",
                          id=document) == "Forbidden"
    deleted = (await api.data(writer, DELETE_DOCUMENT, id=document))["deleteDocument"]
    assert deleted["document"]["deletedAt"] and deleted["document"]["deletedBy"]
    assert (await api.data(admin, DOCUMENT, id=document))["document"] is None
    assert (await api.data(admin, DOCUMENTS, folder=target))["documents"]["edges"] == []
    assert await typename(api, admin, DELETE_DOCUMENT, "deleteDocument",
                          id=document) == "NotFound"
    trash = (await api.data(admin, DOCUMENTS, folder=target, deleted=True))["documents"]
    assert [e["node"]["id"] for e in trash["edges"]] == [document]
    assert trash["edges"][0]["node"]["deletedBy"] == deleted["document"]["deletedBy"]
    refused = await api.call(reader, DOCUMENTS, folder=target, deleted=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

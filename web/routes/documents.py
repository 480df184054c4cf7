"""Documents: folders with the groups that may see them, documents and their versions,
upload, new versions and download.

Bytes never travel through GraphQL here: an upload asks the API for a signed URL (the answer
is JSON for the page's script), the browser PUTs the file there on this origin (``/files/``,
forwarded to the gateway, up to 50 MB) and goes on to the document; a download is a redirect
to a signed GET URL. The upload forms are shown only where the member may write."""

from __future__ import annotations

import mimetypes
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from web import i18n
from web.context import form_of, query, redirect, render, session_of, text
from web.errors import Problem, problem_of

ERRORS = """... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message }
  ... on VersionConflict { message currentVersion }"""
KINDS = ("OFFER_TEMPLATE", "PRICE_LIST", "NDA", "CONTRACT", "OTHER")

Q_LIBRARY = """query Library($folder: ID) { folders { id name allowedGroups version canWrite }
  documents(folderId: $folder, first: 200) { edges { node { id name kind allowedGroups
    currentVersion updatedAt folderId latestVersion { mediaType sizeBytes } } } } }"""
Q_DOCUMENT = """query Document($id: ID!) { document(id: $id) { id name kind allowedGroups
  currentVersion createdAt updatedAt folder { id name allowedGroups canWrite }
  versions { number mediaType sizeBytes sha256 createdAt createdBy } } members { id name } }"""
M_FOLDER = f"""mutation Folder($name: String!, $groups: [String!]) {{
  createFolder(name: $name, allowedGroups: $groups) {{ __typename
  ... on CreateFolderPayload {{ folder {{ id }} }} {ERRORS} }} }}"""
M_FOLDER_ACCESS = f"""mutation FolderAccess($id: ID!, $groups: [String!]!, $version: Int) {{
  setFolderAccess(folderId: $id, allowedGroups: $groups, expectedVersion: $version) {{
  __typename ... on SetFolderAccessPayload {{ folder {{ id }} }} {ERRORS} }} }}"""
UPLOAD = """__typename ... on RequestUploadPayload { upload { url maxBytes } }"""
M_UPLOAD = f"""mutation Upload($folder: ID!, $name: String!, $kind: DocumentKind!,
  $media: String!, $groups: [String!]) {{
  requestDocumentUpload(folderId: $folder, name: $name, kind: $kind, mediaType: $media,
    allowedGroups: $groups) {{ {UPLOAD} {ERRORS} }} }}"""
M_VERSION = f"""mutation Version($id: ID!, $media: String, $version: Int) {{
  requestDocumentVersionUpload(documentId: $id, mediaType: $media,
    expectedVersion: $version) {{ {UPLOAD} {ERRORS} }} }}"""
M_DOWNLOAD = f"""mutation Download($id: ID!, $version: Int) {{
  requestDocumentDownload(documentId: $id, version: $version) {{ __typename
  ... on RequestDownloadPayload {{ download {{ url }} }} {ERRORS} }} }}"""
M_DOCUMENT_ACCESS = f"""mutation DocumentAccess($id: ID!, $groups: [String!]!) {{
  setDocumentAccess(documentId: $id, allowedGroups: $groups) {{ __typename
  ... on SetDocumentAccessPayload {{ document {{ id }} }} {ERRORS} }} }}"""


def groups_of(form: FormData) -> list[str]:
    return [g.strip() for g in (text(form, "groups") or "").split(",") if g.strip()]


def media_type(form: FormData) -> str:
    """The file's type as the browser declared it, else guessed from its name (the service
    sniffs the bytes and refuses a type they do not match)."""
    declared = (text(form, "mediaType") or "").strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    return mimetypes.guess_type(text(form, "fileName") or "")[0] or "application/octet-stream"


def upload_answer(result: dict[str, Any]) -> JSONResponse:
    """Where the page's script PUTs the file, or why it may not (422, the problem's text and
    the fields at fault)."""
    problem = problem_of(result)
    if problem is not None:
        return JSONResponse({"message": problem.message, "fields": problem.fields},
                            status_code=422)
    return JSONResponse({"url": result["upload"]["url"],
                         "maxBytes": result["upload"]["maxBytes"]})


async def _library(request: Request, problem: Problem | None = None,
                   values: dict[str, Any] | None = None, message: str | None = None) -> Response:
    folder = request.query_params.get("folder") or None
    data = await query(request, Q_LIBRARY, folder=folder)
    folders = data["folders"]
    chosen = next((f for f in folders if f["id"] == folder), None)
    return render(request, "documents/library.html", folders=folders, folder=chosen,
                  documents=[e["node"] for e in data["documents"]["edges"]], kinds=KINDS,
                  writable=[f for f in folders if f["canWrite"]],
                  problem=problem, values=values or {}, message=message,
                  can_manage=session_of(request).is_manager)


async def library(request: Request) -> Response:
    return await _library(request)


async def create_folder(request: Request) -> Response:
    form = await form_of(request)
    result = (await query(request, M_FOLDER, name=text(form, "name") or "",
                          groups=groups_of(form)))["createFolder"]
    problem = problem_of(result)
    if problem is None:
        return redirect(request, f"/documents?folder={result['folder']['id']}")
    return await _library(request, problem, dict(form))


async def folder_access(request: Request) -> Response:
    form = await form_of(request)
    version = text(form, "version")
    result = (await query(request, M_FOLDER_ACCESS, id=str(request.path_params["id"]),
                          groups=groups_of(form),
                          version=int(version) if version and version.isdigit() else None))[
        "setFolderAccess"]
    problem = problem_of(result)
    return await _library(request, problem,
                          message=None if problem else i18n.gettext("Access saved."))


async def upload(request: Request) -> Response:
    form = await form_of(request)
    result = (await query(request, M_UPLOAD, folder=text(form, "folder") or "",
                          name=text(form, "name") or text(form, "fileName") or "",
                          kind=text(form, "kind") or "OTHER", media=media_type(form),
                          groups=groups_of(form) or None))["requestDocumentUpload"]
    return upload_answer(result)


async def _document(request: Request, problem: Problem | None = None,
                    message: str | None = None) -> Response:
    data = await query(request, Q_DOCUMENT, id=str(request.path_params["id"]))
    document = data["document"]
    if document is None:
        return render(request, "error.html", status=404,
                      message=i18n.gettext("It no longer exists or you cannot see it."))
    names = {m["id"]: m["name"] for m in data["members"]}
    return render(request, "documents/document.html", document=document, names=names,
                  problem=problem, message=message, can_manage=session_of(request).is_manager)


async def document_page(request: Request) -> Response:
    saved = request.query_params.get("saved") == "1"
    return await _document(request, message=i18n.gettext("The new version is saved.")
                           if saved else None)


async def add_version(request: Request) -> Response:
    form = await form_of(request)
    version = text(form, "version")
    result = (await query(request, M_VERSION, id=str(request.path_params["id"]),
                          media=media_type(form),
                          version=int(version) if version and version.isdigit() else None))[
        "requestDocumentVersionUpload"]
    return upload_answer(result)


async def document_access(request: Request) -> Response:
    form = await form_of(request)
    result = (await query(request, M_DOCUMENT_ACCESS, id=str(request.path_params["id"]),
                          groups=groups_of(form)))["setDocumentAccess"]
    problem = problem_of(result)
    return await _document(request, problem, None if problem else i18n.gettext("Access saved."))


async def download(request: Request) -> Response:
    number = request.path_params["number"]
    result: dict[str, Any] = {}
    if 0 < number < 2**31:  # a GraphQL Int; a larger one in an address was a 500
        result = (await query(request, M_DOWNLOAD, id=str(request.path_params["id"]),
                              version=number))["requestDocumentDownload"]
    if not result or problem_of(result) is not None:
        return render(request, "error.html", status=404,
                      message=i18n.gettext("It no longer exists or you cannot see it."))
    return redirect(request, result["download"]["url"])


routes = [
    Route("/documents", library, methods=["GET"]),
    Route("/documents/uploads", upload, methods=["POST"]),
    Route("/documents/folders", create_folder, methods=["POST"]),
    Route("/documents/folders/{id:uuid}/access", folder_access, methods=["POST"]),
    Route("/documents/{id:uuid}", document_page, methods=["GET"]),
    Route("/documents/{id:uuid}/uploads", add_version, methods=["POST"]),
    Route("/documents/{id:uuid}/access", document_access, methods=["POST"]),
    Route("/documents/{id:uuid}/versions/{number:int}", download, methods=["GET"]),
]

"""Documents: folders with the groups that may see them, documents and their versions,
upload, new versions and download."""

from __future__ import annotations

import base64
import binascii
import mimetypes
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.context import form_of, query, redirect, render, session_of, text
from web.errors import Problem, problem_of

ERRORS = """... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message }
  ... on VersionConflict { message currentVersion }"""
KINDS = ("OFFER_TEMPLATE", "PRICE_LIST", "NDA", "CONTRACT", "OTHER")
MAX_UPLOAD = 5 * 1024 * 1024

Q_LIBRARY = """query Library($folder: ID) { folders { id name allowedGroups version }
  documents(folderId: $folder, first: 200) { edges { node { id name kind allowedGroups
    currentVersion updatedAt folderId latestVersion { mediaType sizeBytes } } } } }"""
Q_DOCUMENT = """query Document($id: ID!) { document(id: $id) { id name kind allowedGroups
  currentVersion createdAt updatedAt folder { id name allowedGroups }
  versions { number mediaType sizeBytes sha256 createdAt createdBy } } members { id name } }"""
Q_CONTENT = """query Content($id: ID!) { document(id: $id) { id name
  versions { number mediaType base64 } } }"""

M_FOLDER = f"""mutation Folder($name: String!, $groups: [String!]) {{
  createFolder(name: $name, allowedGroups: $groups) {{ __typename
  ... on CreateFolderPayload {{ folder {{ id }} }} {ERRORS} }} }}"""
M_FOLDER_ACCESS = f"""mutation FolderAccess($id: ID!, $groups: [String!]!, $version: Int) {{
  setFolderAccess(folderId: $id, allowedGroups: $groups, expectedVersion: $version) {{
  __typename ... on SetFolderAccessPayload {{ folder {{ id }} }} {ERRORS} }} }}"""
M_UPLOAD = f"""mutation Upload($folder: ID!, $name: String!, $kind: DocumentKind!,
  $content: String!, $media: String!, $groups: [String!]) {{
  uploadDocument(folderId: $folder, name: $name, kind: $kind, content: $content,
    contentEncoding: BASE64, mediaType: $media, allowedGroups: $groups) {{ __typename
  ... on UploadDocumentPayload {{ document {{ id }} }} {ERRORS}
  ... on ContentRefused {{ message }} }} }}"""
M_VERSION = f"""mutation Version($id: ID!, $content: String!, $media: String, $version: Int) {{
  addDocumentVersion(documentId: $id, content: $content, contentEncoding: BASE64,
    mediaType: $media, expectedVersion: $version) {{ __typename
  ... on AddDocumentVersionPayload {{ document {{ id }} }} {ERRORS}
  ... on ContentRefused {{ message }} }} }}"""
M_DOCUMENT_ACCESS = f"""mutation DocumentAccess($id: ID!, $groups: [String!]!) {{
  setDocumentAccess(documentId: $id, allowedGroups: $groups) {{ __typename
  ... on SetDocumentAccessPayload {{ document {{ id }} }} {ERRORS} }} }}"""


def groups_of(form: FormData) -> list[str]:
    return [g.strip() for g in (text(form, "groups") or "").split(",") if g.strip()]


async def _file(form: FormData) -> tuple[str, str, str] | Problem:
    """(base64 content, media type, file name) of the uploaded file, or why not."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return Problem("ValidationError", i18n.gettext("Choose a file."),
                       {"file": i18n.gettext("Choose a file.")})
    raw = await upload.read()
    if len(raw) > MAX_UPLOAD:
        return Problem("ValidationError", i18n.gettext("The file is larger than 5 MB."),
                       {"file": i18n.gettext("The file is larger than 5 MB.")})
    media = upload.content_type or mimetypes.guess_type(upload.filename)[0]
    if not media or media == "application/octet-stream":
        media = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
    return base64.b64encode(raw).decode("ascii"), media, upload.filename


async def _library(request: Request, problem: Problem | None = None,
                   values: dict[str, Any] | None = None, message: str | None = None) -> Response:
    folder = request.query_params.get("folder") or None
    data = await query(request, Q_LIBRARY, folder=folder)
    folders = data["folders"]
    chosen = next((f for f in folders if f["id"] == folder), None)
    return render(request, "documents/library.html", folders=folders, folder=chosen,
                  documents=[e["node"] for e in data["documents"]["edges"]], kinds=KINDS,
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
    got = await _file(form)
    if isinstance(got, Problem):
        return await _library(request, got, dict(form))
    content, media, file_name = got
    result = (await query(request, M_UPLOAD, folder=text(form, "folder") or "",
                          name=text(form, "name") or file_name, kind=text(form, "kind") or "OTHER",
                          content=content, media=media,
                          groups=groups_of(form) or None))["uploadDocument"]
    problem = problem_of(result)
    if problem is None:
        return redirect(request, f"/documents/{result['document']['id']}")
    return await _library(request, problem, dict(form))


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
    return await _document(request)


async def add_version(request: Request) -> Response:
    form = await form_of(request)
    got = await _file(form)
    if isinstance(got, Problem):
        return await _document(request, got)
    content, media, _ = got
    version = text(form, "version")
    result = (await query(request, M_VERSION, id=str(request.path_params["id"]), content=content,
                          media=media,
                          version=int(version) if version and version.isdigit() else None))[
        "addDocumentVersion"]
    problem = problem_of(result)
    return await _document(request, problem,
                           None if problem else i18n.gettext("The new version is saved."))


async def document_access(request: Request) -> Response:
    form = await form_of(request)
    result = (await query(request, M_DOCUMENT_ACCESS, id=str(request.path_params["id"]),
                          groups=groups_of(form)))["setDocumentAccess"]
    problem = problem_of(result)
    return await _document(request, problem, None if problem else i18n.gettext("Access saved."))


async def download(request: Request) -> Response:
    document = (await query(request, Q_CONTENT, id=str(request.path_params["id"])))["document"]
    number = request.path_params["number"]
    version = next((v for v in (document or {}).get("versions", []) if v["number"] == number),
                   None)
    if document is None or version is None:
        return render(request, "error.html", status=404,
                      message=i18n.gettext("It no longer exists or you cannot see it."))
    try:
        content = base64.b64decode(version["base64"])
    except (binascii.Error, ValueError):
        return render(request, "error.html", status=502,
                      message=i18n.gettext("The CRM service could not answer this request"))
    extension = mimetypes.guess_extension(version["mediaType"]) or ""
    name = document["name"]
    if extension and not name.lower().endswith(extension):
        name += extension
    return Response(content, media_type=version["mediaType"], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff",
    })


routes = [
    Route("/documents", library, methods=["GET"]),
    Route("/documents", upload, methods=["POST"]),
    Route("/documents/folders", create_folder, methods=["POST"]),
    Route("/documents/folders/{id:uuid}/access", folder_access, methods=["POST"]),
    Route("/documents/{id:uuid}", document_page, methods=["GET"]),
    Route("/documents/{id:uuid}/versions", add_version, methods=["POST"]),
    Route("/documents/{id:uuid}/access", document_access, methods=["POST"]),
    Route("/documents/{id:uuid}/versions/{number:int}", download, methods=["GET"]),
]

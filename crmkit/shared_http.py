"""HTTP clients that serve every caller keep no cookies.

The gateway's subgraph client, the file proxies, the web app's API client and the webhook
sender each keep one pool of connections for every member and org. A cookie jar would keep
what one answer set (a load balancer's affinity cookie, a webhook receiver's session) and send
it with the next request to that host, whoever it is for."""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy

import aiohttp


def no_httpx_cookies() -> CookieJar:
    """For ``httpx.AsyncClient(cookies=...)``: a jar whose policy takes none and sends none
    (the jar itself: httpx copies a ``Cookies`` it is given into a jar of its own)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def no_aiohttp_cookies() -> aiohttp.DummyCookieJar:
    """For ``aiohttp.ClientSession(cookie_jar=...)``."""
    return aiohttp.DummyCookieJar()

"""Where a webhook attempt connects once its host was checked (DNS rebinding)."""

from urllib.parse import urlsplit

from services.notifications.webhook_http import pinned


def test_https_keeps_the_name_for_the_certificate_and_the_host_header() -> None:
    target = pinned(urlsplit("https://erp.example.com/hooks/crm?x=1"), "203.0.113.7")
    assert target.url == "https://203.0.113.7/hooks/crm?x=1"
    assert target.headers == {"host": "erp.example.com"}
    assert target.extensions == {"sni_hostname": "erp.example.com"}


def test_a_port_and_an_ipv6_address() -> None:
    target = pinned(urlsplit("http://erp.example.com:8443/h"), "2001:db8::5")
    assert target.url == "http://[2001:db8::5]:8443/h"
    assert target.headers == {"host": "erp.example.com:8443"}
    assert target.extensions == {}

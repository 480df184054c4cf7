"""An offer's merge data: line items with their net, VAT and gross (per VAT rate and overall,
as Polish offers show them), and everything a template may use, formatted in the org's locale
(Babel). No IO: the handlers pass in what the projections hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, get_currency_symbol

from crmkit.contracts.pipeline import DEFAULT_ORGANIZATION_LOCALE
from crmkit.errors import ProblemCollector
from crmkit.values import clean_text
from services.documents.rendering import LISTS, MERGE_FIELDS

CENT = Decimal("0.01")
MAX_ITEMS = 500
MAX_QUANTITY = Decimal("1000000000")
MAX_PRICE = Decimal("1000000000000")
VAT_EXEMPT = ("zw", "np")
"""Polish VAT markings without a rate: exempt (``zw``) and not subject to VAT (``np``)."""
DEFAULT_LOCALE: str = DEFAULT_ORGANIZATION_LOCALE
"""Until the pipeline announces the org's language, the language the rest of the app assumes."""


@dataclass(frozen=True, slots=True)
class LineItem:
    product: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    """Net price of one unit, before the discount."""
    vat_rate: str
    """A percentage (``23``, ``8``, ``5``, ``0``) or ``zw`` / ``np``."""
    discount: Decimal = Decimal(0)
    """Percent off the net price."""

    @property
    def rate(self) -> Decimal:
        return Decimal(0) if self.vat_rate in VAT_EXEMPT else Decimal(self.vat_rate)

    @property
    def net(self) -> Decimal:
        factor = (Decimal(100) - self.discount) / Decimal(100)
        return (self.quantity * self.unit_price * factor).quantize(CENT, ROUND_HALF_UP)

    @property
    def vat(self) -> Decimal:
        return (self.net * self.rate / Decimal(100)).quantize(CENT, ROUND_HALF_UP)

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True, slots=True)
class RateTotal:
    vat_rate: str
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True, slots=True)
class Totals:
    by_rate: tuple[RateTotal, ...]

    @property
    def net(self) -> Decimal:
        return sum((r.net for r in self.by_rate), Decimal(0))

    @property
    def vat(self) -> Decimal:
        return sum((r.vat for r in self.by_rate), Decimal(0))

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def totals(items: Iterable[LineItem]) -> Totals:
    """VAT per rate on the sum of that rate's net amounts (how Polish invoices and offers
    compute it), rates from the highest; overall the sums."""
    nets: dict[str, Decimal] = {}
    for item in items:
        nets[item.vat_rate] = nets.get(item.vat_rate, Decimal(0)) + item.net

    def order(rate: str) -> tuple[int, Decimal]:
        return (1, Decimal(0)) if rate in VAT_EXEMPT else (0, -Decimal(rate))

    return Totals(tuple(
        RateTotal(rate, net, (net * (Decimal(0) if rate in VAT_EXEMPT else Decimal(rate))
                              / Decimal(100)).quantize(CENT, ROUND_HALF_UP))
        for rate, net in sorted(nets.items(), key=lambda pair: order(pair[0]))
    ))


# --- input --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineItemInput:
    product: str
    quantity: Decimal | str
    unit_price: Decimal | str
    vat_rate: str
    unit: str = "szt."
    discount: Decimal | str | None = None


def _decimal(value: Decimal | str, path: str, problems: ProblemCollector, *, places: int,
             low: Decimal, high: Decimal, low_open: bool = False) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        problems.add(path, "must be a number")
        return Decimal(0)
    if not number.is_finite():
        problems.add(path, "must be a number")
        return Decimal(0)
    if number < low or (low_open and number == low) or number > high:
        problems.add(path, f"must be {'above' if low_open else 'at least'} {low} and at most "
                           f"{high}")
    elif -number.as_tuple().exponent > places:  # type: ignore[operator]
        problems.add(path, f"must have at most {places} decimal places")
    return number


def check_items(items: Sequence[LineItemInput], problems: ProblemCollector) -> list[LineItem]:
    """The line items, every problem noted under ``items.<index>.<field>``."""
    if len(items) > MAX_ITEMS:
        problems.add("items", f"must hold at most {MAX_ITEMS} line items")
        return []
    checked = []
    for index, raw in enumerate(items):
        path = f"items.{index}"
        product = problems.value(f"{path}.product", partial(clean_text, raw.product,
                                                             max_length=500))
        unit = problems.value(f"{path}.unit", partial(clean_text, raw.unit, max_length=20))
        quantity = _decimal(raw.quantity, f"{path}.quantity", problems, places=3,
                            low=Decimal(0), high=MAX_QUANTITY, low_open=True)
        price = _decimal(raw.unit_price, f"{path}.unitPrice", problems, places=2,
                         low=Decimal(0), high=MAX_PRICE)
        discount = (Decimal(0) if raw.discount is None else
                    _decimal(raw.discount, f"{path}.discount", problems, places=2,
                             low=Decimal(0), high=Decimal(100)))
        rate = raw.vat_rate.strip().lower().removesuffix("%")
        if rate not in VAT_EXEMPT:
            if not rate.isdigit() or int(rate) > 100:
                problems.add(f"{path}.vatRate", "must be a percentage (23, 8, 5, 0) or zw / np")
                rate = "0"
            else:
                rate = str(int(rate))
        checked.append(LineItem(product=product or "", quantity=quantity, unit=unit or "",
                                unit_price=price, vat_rate=rate, discount=discount))
    return checked


# --- the merge data -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    name: str = ""
    email: str = ""
    phone: str = ""
    position: str = ""


@dataclass(frozen=True, slots=True)
class DealFacts:
    """What documents knows of a deal and its client, from the pipeline's and leads' events."""

    opportunity_id: uuid.UUID
    name: str = ""
    amount: Decimal | None = None
    currency: str | None = None
    expected_close_date: date | None = None
    stage: str = ""
    status: str = "open"
    owner_id: uuid.UUID | None = None
    owner: Party = field(default_factory=Party)
    account_id: uuid.UUID | None = None
    client_name: str = ""
    client_nip: str = ""
    client_address: str = ""
    contact: Party = field(default_factory=Party)


@dataclass(frozen=True, slots=True)
class OfferFacts:
    number: str
    title: str
    revision: int
    valid_until: date
    currency: str
    today: date
    org_name: str = ""
    locale: str = DEFAULT_LOCALE


def locale_of(name: str | None) -> Locale:
    try:
        return Locale.parse(name or DEFAULT_LOCALE)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


def money(amount: Decimal, currency: str, locale: Locale) -> str:
    """The amount with its currency, with CLDR's currency spacing, which Babel leaves out: a
    symbol made of letters (a code such as ``PLN``) is kept apart from the digits by a
    no-break space (``PLN 1,234.50``), a sign (``€1,234.50``) is not."""
    text = format_currency(amount, currency, locale=locale)
    symbol = get_currency_symbol(currency, locale=locale)
    at = text.find(symbol)
    if at < 0 or not symbol:
        return text
    end = at + len(symbol)
    if symbol[-1].isalpha() and end < len(text) and text[end].isdigit():
        text = f"{text[:end]}\xa0{text[end:]}"
    if symbol[0].isalpha() and at > 0 and text[at - 1].isdigit():
        text = f"{text[:at]}\xa0{text[at:]}"
    return text


def amount_in_words(amount: Decimal, currency: str, locale: Locale) -> str:
    """``dwanaście tysięcy ... złotych, ... groszy``; the number in words and the code where
    num2words does not know the currency, empty where it does not know the language."""
    from num2words import num2words  # imports every language's module

    try:
        return str(num2words(amount, lang=locale.language, to="currency", currency=currency))
    except NotImplementedError:
        try:
            whole = str(num2words(int(amount), lang=locale.language))
        except NotImplementedError:
            return ""
        cents = int((amount - int(amount)) * 100)
        return f"{whole} {currency} {cents:02d}/100"


def merge_data(deal: DealFacts, offer: OfferFacts, items: Sequence[LineItem],
               values: Mapping[str, str] = {}) -> dict[str, Any]:
    """Everything a template may use (:data:`services.documents.rendering.MERGE_FIELDS`),
    money, numbers and dates formatted in the org's locale; ``values`` are the rep's: a
    dotted name (``client.address``) overrides that field, any other goes to ``custom``."""
    locale = locale_of(offer.locale)
    code = offer.currency

    def formatted(amount: Decimal | None) -> str:
        return "" if amount is None else money(amount, code, locale)

    def day(value: date | None) -> str:
        return "" if value is None else format_date(value, "long", locale=locale)

    def rate(value: str) -> str:
        return value if value in VAT_EXEMPT else f"{value}%"

    sums = totals(items)
    data: dict[str, Any] = {
        "deal": {"name": deal.name, "amount": formatted(deal.amount) if deal.currency == code
                 else "", "currency": deal.currency or "",
                 "expected_close_date": day(deal.expected_close_date), "stage": deal.stage},
        "client": {"name": deal.client_name, "nip": deal.client_nip,
                   "address": deal.client_address,
                   "contact": {"name": deal.contact.name, "email": deal.contact.email,
                               "phone": deal.contact.phone, "position": deal.contact.position}},
        "owner": {"name": deal.owner.name, "email": deal.owner.email, "phone": deal.owner.phone},
        "org": {"name": offer.org_name},
        "today": day(offer.today),
        "offer": {"number": offer.number, "title": offer.title, "revision": offer.revision,
                  "valid_until": day(offer.valid_until), "currency": code},
        "items": [
            {"position": index, "product": item.product,
             "quantity": format_decimal(item.quantity, locale=locale), "unit": item.unit,
             "unit_price": formatted(item.unit_price),
             "discount": f"{format_decimal(item.discount, locale=locale)}%"
             if item.discount else "",
             "vat_rate": rate(item.vat_rate), "net": formatted(item.net),
             "vat": formatted(item.vat), "gross": formatted(item.gross)}
            for index, item in enumerate(items, 1)
        ],
        "totals": {"net": formatted(sums.net), "vat": formatted(sums.vat),
                   "gross": formatted(sums.gross),
                   "by_rate": [{"rate": rate(r.vat_rate), "net": formatted(r.net),
                                "vat": formatted(r.vat), "gross": formatted(r.gross)}
                               for r in sums.by_rate],
                   "in_words": amount_in_words(sums.gross, code, locale)},
        "custom": {},
    }
    for name, value in values.items():
        _override(data, name, value)
    return data


def override_problem(name: str) -> str | None:
    """Why ``name`` cannot be a rep's value (None: it can)."""
    if not name or len(name) > 100 or not all(p.isidentifier() for p in name.split(".")):
        return "must be a name such as delivery or client.address"
    path = tuple(name.split("."))
    if len(path) == 1 or path[0] == "custom":
        return None
    fields: Any = MERGE_FIELDS
    for depth, part in enumerate(path):
        if path[: depth + 1] in LISTS or not isinstance(fields, Mapping) or part not in fields:
            return f"'{name}' is not a merge field a value can replace"
        fields = fields[part]
    return None if fields is None else f"'{name}' has fields: replace one of them"


def _override(data: dict[str, Any], name: str, value: str) -> None:
    path = name.split(".")
    if len(path) == 1:
        data["custom"][name] = value
        return
    target = data
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value

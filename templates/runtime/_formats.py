"""The standard ``format`` checks, as JSON Schema's format-assertion vocabulary defines them.

Imported only by the model modules whose schemas use one of these formats. Pure Python; every check
is linear in the length of the string (the regular expressions below have no ambiguous repetition, and
each runs anchored once; the IDNA work is bounded by the label and name lengths). Each function takes a
``str`` and says whether it is valid; the generated code calls it only on strings (a format does not
constrain other types).

* ``date-time``, ``date``, ``time``: RFC 3339 (``T``/``Z`` in either case, a fraction of any length, a
  numeric offset ``±HH:MM``; a leap second ``:60`` only where the time is 23:59 in UTC).
* ``duration``: RFC 3339's ISO 8601 duration (``P1Y2M3DT4H5M6S``, ``P2W``; no fractions, no sign).
* ``email``: RFC 5321's mailbox: a dot-atom or quoted local part, and a host name or an address
  literal (``[127.0.0.1]``, ``[IPv6:::1]``).
* ``hostname``: RFC 1123 (letters, digits, hyphens; labels of 1 to 63, at most 253 in all, no final
  dot); an ``xn--`` label must be an IDNA2008 A-label: valid Punycode of a valid U-label.
* ``idn-hostname``: RFC 5890's internationalized host name: labels separated by ``.`` (or U+3002,
  U+FF0E, U+FF61), each an LDH label, an A-label or a U-label, within the same lengths once written in
  A-labels, no final separator.
* IDNA2008 (RFC 5891-5893): a U-label's code points (RFC 5892's tables), its contextual rules (joiners,
  middle dot, Greek keraia, Hebrew geresh, katakana middle dot, Arabic-Indic digits), NFC, hyphens, no
  leading combining mark, and the Bidi rule on every label of a domain that has a right-to-left label.
  The Unicode tables are the ``idna`` package's (a dependency of requests, declared by runcomfy too),
  imported on the first value with an ``xn--`` or non-ASCII label, never before.
* ``ipv4``: a dotted quad of decimal numbers 0-255 without leading zeros; ``ipv6``: RFC 4291's text
  forms (``::`` once, a final dotted quad), no zone and no prefix.
* ``uri``: an absolute URI, ``uri-reference``: a URI or a relative reference (RFC 3986: characters,
  percent-encoding, authority, port, IP literals).
* ``uuid``: RFC 4122's 8-4-4-4-12 hexadecimal form (any version, either case).
* ``regex``: a pattern Python's ``re`` compiles (the generator's own reading of ``pattern``).
"""

from __future__ import annotations

import re
import unicodedata

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))")
_DURATION = re.compile(
    r"P(?:(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)(?:T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?"
    r"|[0-9]+M(?:[0-9]+S)?|[0-9]+S))?|T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)|[0-9]+W)"
)
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_HEX16 = re.compile(r"[0-9A-Fa-f]{1,4}")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_IDN_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # RFC 3490's label separators
_MAX_LABEL = 63
_MAX_NAME = 253
_RTL = frozenset({"R", "AL", "AN"})  # RFC 5893: a label with one of these makes a Bidi domain name
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_QUOTED = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"')
# RFC 3986, Appendix B: the five components of any string (it always matches).
_PARTS = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.DOTALL)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_PCT = r"%[0-9A-Fa-f]{2}"
_UNRESERVED_SUB = r"A-Za-z0-9\-._~!$&'()*+,;="
_PATH = re.compile(rf"(?:[{_UNRESERVED_SUB}:@/]|{_PCT})*")
_QUERY = re.compile(rf"(?:[{_UNRESERVED_SUB}:@/?]|{_PCT})*")
_USERINFO = re.compile(rf"(?:[{_UNRESERVED_SUB}:]|{_PCT})*")
_REG_NAME = re.compile(rf"(?:[{_UNRESERVED_SUB}]|{_PCT})*")
_IPVFUTURE = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED_SUB}:]+")
_PORT = re.compile(r"[0-9]*")

_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# --- dates and times -------------------------------------------------------------------------------


def is_date(value: str) -> bool:
    match = _DATE.fullmatch(value)
    if match is None:
        return False
    year, month, day = (int(group) for group in match.groups())
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS[month - 1]:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return not (month == 2 and day == 29 and not leap)


def is_time(value: str) -> bool:
    match = _TIME.fullmatch(value)
    if match is None:
        return False
    hour, minute, second = int(match[1]), int(match[2]), int(match[3])
    sign, offset_hour, offset_minute = match[4], int(match[5] or 0), int(match[6] or 0)
    if hour > 23 or minute > 59 or second > 60 or offset_hour > 23 or offset_minute > 59:
        return False
    if second == 60:  # a leap second is 23:59:60 UTC
        shift = (offset_hour * 60 + offset_minute) * (-1 if sign == "-" else 1)
        return (hour * 60 + minute - shift) % 1440 == 23 * 60 + 59
    return True


def is_date_time(value: str) -> bool:
    date, separator, time = value[:10], value[10:11], value[11:]
    return separator in ("T", "t") and is_date(date) and is_time(time)


def is_duration(value: str) -> bool:
    return _DURATION.fullmatch(value) is not None


# --- internet names and addresses ------------------------------------------------------------------


def is_ipv4(value: str) -> bool:
    return _IPV4.fullmatch(value) is not None


def is_ipv6(value: str) -> bool:
    if not value.isascii() or value.count("::") > 1:
        return False
    head, double, tail = value.partition("::")
    groups = [*(head.split(":") if head else []), *(tail.split(":") if tail else [])]
    if not double and not head:
        return False
    words = len(groups)
    if groups and "." in groups[-1]:  # a final dotted quad is two words
        if not is_ipv4(groups.pop()):
            return False
        words += 1
    if not all(_HEX16.fullmatch(group) for group in groups):
        return False
    return words < 8 if double else words == 8


def _decode_a_label(label: str) -> str | None:
    """The U-label an ``xn--`` label encodes (``None`` if it is not Punycode that encodes back to itself
    and holds a non-ASCII character). IDNA2008 is checked by :func:`_is_idna_domain`."""
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return None
    if not decoded or decoded.isascii() or decoded.encode("punycode").decode("ascii") != label[4:]:
        return None
    return decoded


def _a_label_length(label: str) -> int:
    """The length of ``label`` written as an A-label (an ASCII label is its own)."""
    return len(label) if label.isascii() else 4 + len(label.encode("punycode"))


def _u_labels(labels: list[str]) -> list[str] | None:
    """The labels in Unicode form (an ``xn--`` label decoded), or ``None`` if one is neither an LDH
    label, an A-label nor a non-ASCII label of at most 63 characters once an A-label."""
    decoded = []
    for label in labels:
        if label.isascii():
            if _LABEL.fullmatch(label) is None:
                return None
            if label[2:4] == "--":  # RFC 5891 4.2.3.1: "??--" is reserved; "xn--" is an A-label
                a_label = _decode_a_label(label) if label[:4] == "xn--" else None
                if a_label is None:
                    return None
                label = a_label
        elif len(label) > _MAX_LABEL or _a_label_length(label) > _MAX_LABEL:  # the first bounds the second's work
            return None
        decoded.append(label)
    return decoded


def _is_idna_domain(labels: list[str]) -> bool:
    """IDNA2008 on a domain's labels in Unicode form: every non-ASCII label is a valid U-label (the
    ``idna`` package: RFC 5892's tables and contextual rules, NFC, hyphens, no leading combining mark, the
    Bidi rule), and if any label is right-to-left, every label obeys RFC 5893's Bidi rule. Each label is
    at most 63 characters here, so the work is linear in the name."""
    if all(label.isascii() for label in labels):
        return True
    import idna  # lazily: the first value with an xn-- or non-ASCII label pays for the tables

    try:
        for label in labels:
            if not label.isascii():
                idna.check_label(label)
        if any(unicodedata.bidirectional(char) in _RTL for label in labels for char in label):
            for label in labels:
                idna.check_bidi(label, check_ltr=True)
    except idna.IDNAError:
        return False
    return True


def is_hostname(value: str) -> bool:
    if not value.isascii() or not 0 < len(value) <= _MAX_NAME:
        return False
    labels = _u_labels(value.split("."))
    return labels is not None and _is_idna_domain(labels)


def is_idn_hostname(value: str) -> bool:
    # A character is at least one octet of the name in A-labels: the bound keeps the work linear.
    if not 0 < len(value) <= _MAX_NAME:
        return False
    labels = _IDN_DOTS.split(value)
    decoded = _u_labels(labels)
    if decoded is None or sum(map(_a_label_length, labels)) + len(labels) - 1 > _MAX_NAME:
        return False
    return _is_idna_domain(decoded)


def is_email(value: str) -> bool:
    if value.startswith('"'):
        match = _QUOTED.match(value)
        if match is None or value[match.end() : match.end() + 1] != "@":
            return False
        domain = value[match.end() + 1 :]
    else:
        local, at, domain = value.partition("@")
        if not at or _ATOM.fullmatch(local) is None:
            return False
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        return is_ipv6(literal[5:]) if literal[:5].lower() == "ipv6:" else is_ipv4(literal)
    return is_hostname(domain)


# --- URIs ------------------------------------------------------------------------------------------


def _is_authority(authority: str) -> bool:
    userinfo, at, host = authority.partition("@")
    if not at:
        userinfo, host = "", authority
    if _USERINFO.fullmatch(userinfo) is None:
        return False
    if host.startswith("["):
        literal, bracket, port = host[1:].partition("]")
        if not bracket or not (is_ipv6(literal) or _IPVFUTURE.fullmatch(literal) is not None):
            return False
        return port == "" or (port[0] == ":" and _PORT.fullmatch(port[1:]) is not None)
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    return _REG_NAME.fullmatch(name) is not None and _PORT.fullmatch(port) is not None


def is_uri_reference(value: str, *, absolute: bool = False) -> bool:
    match = _PARTS.fullmatch(value)
    if match is None:  # pragma: no cover - the pattern matches every string
        return False
    scheme, authority, path, query, fragment = match.groups()
    if scheme is None:
        if absolute or ":" in path.partition("/")[0]:  # a relative path's first segment has no ':'
            return False
    elif _SCHEME.fullmatch(scheme) is None:
        return False
    if authority is not None and not _is_authority(authority):
        return False
    return all(
        part is None or pattern.fullmatch(part) is not None
        for part, pattern in ((path, _PATH), (query, _QUERY), (fragment, _QUERY))
    )


def is_uri(value: str) -> bool:
    return is_uri_reference(value, absolute=True)


# --- the rest --------------------------------------------------------------------------------------


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def is_regex(value: str) -> bool:
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError):
        return False
    return True

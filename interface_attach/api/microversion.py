"""Compute API microversions on /v2.1: negotiation and response headers."""

import re

import microversion_parse

from interface_attach import exception

SERVICE_TYPE = 'compute'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'
HEADER = 'OpenStack-API-Version'
VARY = '%s, %s' % (HEADER, LEGACY_HEADER)

MIN_VERSION = (2, 1)
# 2.49: "tag" on create; 2.70: "tag" in create, show and list responses.
MAX_VERSION = (2, 70)
TAG_ON_CREATE = (2, 49)
TAG_IN_RESPONSE = (2, 70)
# 2.102: list and show refuse any query parameter (Nova 34's highest is
# 2.104; served in Nova mode only).
STRICT_QUERY = (2, 102)

_FORMAT = re.compile(r'^([1-9]\d*)\.([1-9]\d*|0)$')


def to_string(version):
    return '%d.%d' % version


def requested_version(headers, max_version=MAX_VERSION):
    """The version the request asks for; 2.1 when it asks for none.

    :raises InvalidVersion: malformed (400).
    :raises VersionNotSupported: outside MIN_VERSION..max_version (406).
    """
    if HEADER not in headers and LEGACY_HEADER not in headers:
        return MIN_VERSION
    value = microversion_parse.get_version(
        headers, SERVICE_TYPE, legacy_headers=[LEGACY_HEADER])
    if value is None:
        return MIN_VERSION
    value = value.strip()
    if value.lower() == 'latest':
        return max_version
    match = _FORMAT.match(value)
    if match is None:
        raise exception.InvalidVersion(version=value)
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= max_version:
        raise exception.VersionNotSupported(
            version=value, min=to_string(MIN_VERSION),
            max=to_string(max_version))
    return version


def response_headers(version):
    text = to_string(version)
    return {HEADER: '%s %s' % (SERVICE_TYPE, text), LEGACY_HEADER: text,
            'Vary': VARY}

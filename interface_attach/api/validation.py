"""Request body parsing and JSON Schema validation with Nova's messages."""

import json

import jsonschema
import netaddr
from oslo_utils import uuidutils

from interface_attach import exception

JSON_CONTENT_TYPES = ('application/json',
                      'application/vnd.openstack.compute+json')

_formats = jsonschema.FormatChecker(formats=())


@_formats.checks('uuid')
def _is_uuid(value):
    return not isinstance(value, str) or uuidutils.is_uuid_like(value)


@_formats.checks('ip_address')
def _is_ip_address(value):
    if not isinstance(value, str):
        return True
    try:
        netaddr.IPAddress(value, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError):
        return False
    return True


class Validator:
    """A compiled schema; compile once, at application start."""

    def __init__(self, schema):
        jsonschema.Draft202012Validator.check_schema(schema)
        self._validator = jsonschema.Draft202012Validator(
            schema, format_checker=_formats)

    def validate(self, body):
        """:raises ValidationError: with Nova's wording."""
        error = jsonschema.exceptions.best_match(
            self._validator.iter_errors(body))
        if error is None:
            return
        if error.path:
            raise exception.ValidationError(
                'Invalid input for field/attribute %s. Value: %s. %s'
                % (error.path[-1], error.instance, error.message))
        raise exception.ValidationError(error.message)


def json_body(request, require_content_type):
    """The request body as JSON, or None when the body is empty.

    :param require_content_type: refuse a body without a Content-Type
        (legacy v2); otherwise such a body is read as JSON (v2.1).
    :raises UnsupportedContentType: a body declared as something else.
    :raises MalformedBody: a body that does not parse.
    """
    body = request.body
    if not body:
        return None
    if (request.content_type or require_content_type) and (
            request.content_type not in JSON_CONTENT_TYPES):
        raise exception.UnsupportedContentType()
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise exception.MalformedBody()

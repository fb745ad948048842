"""Request body parsing and JSON Schema validation with Nova's messages."""

import json
import re

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


# What no database stores as text: PostgreSQL refuses NUL, and an
# unpaired surrogate (JSON may carry one as an escape, "\ud800") is no
# UTF-8 at all, so every driver fails to encode it.
_UNSTORABLE = re.compile('[\x00\ud800-\udfff]')


def unstorable(text):
    """Why ``text`` cannot be stored, in jsonschema's words; else None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    what = ('a NUL character' if found.group() == '\x00'
            else 'an unpaired surrogate')
    return '%r contains %s' % (text, what)


def printable(value):
    """``value`` for a message: NUL and surrogates escaped, as repr does.

    A fault must not carry them raw: many JSON parsers refuse an unpaired
    surrogate escape in the answer too.
    """
    if not isinstance(value, str):
        return value
    return _UNSTORABLE.sub(lambda c: repr(c.group())[1:-1], value)


def _storable_text(validator, enabled, instance, schema):
    if enabled and isinstance(instance, str):
        reason = unstorable(instance)
        if reason is not None:
            yield jsonschema.exceptions.ValidationError(reason)


# The "storableText" keyword, which Validator puts on every string schema.
_SchemaValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {'storableText': _storable_text})


def _with_storable_text(schema):
    """A copy of ``schema`` with every string checked for storable text."""
    if isinstance(schema, list):
        return [_with_storable_text(node) for node in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _with_storable_text(value)
              for key, value in schema.items()}
    if schema.get('type') == 'string':
        schema['storableText'] = True
    return schema


class Validator:
    """A compiled schema; compile once, at application start.

    Every string the schema takes must be text a database can store: no
    NUL, no unpaired surrogate. That is checked before the rest of the
    schema, so no message echoes such a string.
    """

    def __init__(self, schema):
        jsonschema.Draft202012Validator.check_schema(schema)
        self._validator = _SchemaValidator(_with_storable_text(schema),
                                           format_checker=_formats)

    def validate(self, body):
        """:raises ValidationError: with Nova's wording."""
        errors = list(self._validator.iter_errors(body))
        unstorable_errors = [e for e in errors
                             if e.validator == 'storableText']
        error = (unstorable_errors[0] if unstorable_errors
                 else jsonschema.exceptions.best_match(errors))
        if error is None:
            return
        if error.path:
            raise exception.ValidationError(
                'Invalid input for field/attribute %s. Value: %s. %s'
                % (error.path[-1], printable(error.instance),
                   error.message))
        raise exception.ValidationError(error.message)


def query_parameter(request, name):
    """The last value of query parameter ``name``, or None.

    :raises ValidationError: a value no database can store, in Nova's
        wording for query parameters.
    """
    value = request.GET.get(name)
    reason = None if value is None else unstorable(value)
    if reason is not None:
        raise exception.ValidationError(
            'Invalid input for query parameters %s. Value: %s. %s'
            % (name, printable(value), reason))
    return value


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

"""JSON responses, and faults in Nova's shape {"<name>": {code, message}}."""

import json
import re

import webob

# Nova's fault names (nova/api/openstack/wsgi.py); anything else, 500
# included, is a computeFault.
FAULT_NAMES = {
    400: 'badRequest',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'itemNotFound',
    405: 'badMethod',
    409: 'conflictingRequest',
    413: 'overLimit',
    415: 'badMediaType',
    429: 'overLimit',
    501: 'notImplemented',
    503: 'serviceUnavailable',
}

NOT_FOUND = 'The resource could not be found.'
UNAUTHORIZED = 'The request you have made requires authentication.'
SERVER_ERROR = ('The server has either erred or is incapable of performing '
                'the requested operation.')

# Seconds a client is asked to wait after a 503 whose maker did not say
# (keystonemiddleware's, when Keystone cannot be reached).
RETRY_AFTER = 5


def fault_name(code):
    return FAULT_NAMES.get(code, 'computeFault')


def json_response(status, body, headers=None,
                  content_type='application/json'):
    response = webob.Response(status=status,
                              body=json.dumps(body).encode('utf-8'))
    response.headers['Content-Type'] = content_type
    response.headers.update(headers or {})
    return response


def empty_response(status):
    response = webob.Response(status=status, body=b'')
    response.headers['Content-Type'] = 'application/json'
    return response


def fault_response(code, message, headers=None):
    if code == 503 and 'retry-after' not in {
            name.lower() for name in headers or ()}:
        # Every 503 says when to come back: clients back off by it.
        headers = dict(headers or {}, **{'Retry-After': str(RETRY_AFTER)})
    return json_response(
        code, {fault_name(code): {'code': code, 'message': message}},
        headers=headers, content_type='application/json; charset=UTF-8')


def is_fault(response):
    """Whether an error response already has the fault shape."""
    if response.content_type != 'application/json':
        return False
    try:
        body = json.loads(response.body)
    except ValueError:
        return False
    # The name must be Nova's for the status: keystonemiddleware's
    # {"error": {"code", "message", ...}} is not a fault of ours.
    return (isinstance(body, dict) and len(body) == 1
            and next(iter(body)) == fault_name(response.status_int)
            and isinstance(next(iter(body.values())), dict)
            and {'code', 'message'} <= set(next(iter(body.values()))))


def message_of(response):
    """The message of a foreign error response (keystonemiddleware, webob)."""
    try:
        body = json.loads(response.body)
    except ValueError:
        return response.status.split(' ', 1)[-1]
    if isinstance(body, dict):
        for value in [body] + list(body.values()):
            if isinstance(value, dict) and isinstance(
                    value.get('message'), str):
                return _plain_text(value['message'])
    return response.status.split(' ', 1)[-1]


def _plain_text(message):
    # webob's explanation and detail joined by HTML line breaks (as in
    # keystonemiddleware's 503): one line of text.
    return ' '.join(re.sub(r'<br\s*/?>', ' ', message).split())

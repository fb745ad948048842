"""The request context: who is calling, built from the identity headers."""

from oslo_context import context

ENVIRON_KEY = 'interface_attach.context'
# Where nova-api's keystonecontext filter keeps Nova's context.
NOVA_ENVIRON_KEY = 'nova.context'


def from_environ(environ):
    """The caller's context, or None when the identity is not confirmed.

    The context filter stores one. In filter mode the host pipeline
    authenticated the request instead: inside nova-api its context (an
    oslo.context one, which Nova's policy and compute API need as it is),
    elsewhere one built now from the identity headers, which authtoken
    with ``delay_auth_decision`` sets for a token it found invalid too.
    """
    ctx = environ.get(ENVIRON_KEY)
    if ctx is None:
        ctx = environ.get(NOVA_ENVIRON_KEY)
        if ctx is None:
            if environ.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed':
                return None
            ctx = context.RequestContext.from_environ(environ)
        environ[ENVIRON_KEY] = ctx
    return ctx

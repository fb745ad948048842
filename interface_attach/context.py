"""The request context: who is calling, built from the identity headers."""

from oslo_context import context

ENVIRON_KEY = 'interface_attach.context'


def from_environ(environ):
    """The context stored by the context filter, else one built now.

    Built now is the filter-mode case: the host pipeline authenticated the
    request and set the identity headers, but did not run our filter.
    """
    ctx = environ.get(ENVIRON_KEY)
    if ctx is None:
        ctx = context.RequestContext.from_environ(environ)
        environ[ENVIRON_KEY] = ctx
    return ctx

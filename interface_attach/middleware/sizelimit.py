"""Body size limit: oslo.middleware's limiter, answering with a JSON fault.

oslo.middleware raises webob's 413 with an unformatted message
("... max_request_body_size (%s)."); ours says the limit and has the
overLimit shape. Bodies without Content-Length are limited while read.
"""

from oslo_middleware import sizelimit
import webob
import webob.exc

from interface_attach.api import faults


class RequestBodySizeLimiter(sizelimit.RequestBodySizeLimiter):

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        max_size = self._conf_get('max_request_body_size')
        if req.content_length is not None and req.content_length > max_size:
            return too_large(max_size)(environ, start_response)
        if req.content_length is None and req.is_body_readable:
            # Read it here: webob's 413 raised by the reader further down
            # would be rendered by an inner filter, HTML and all.
            req.body_file = sizelimit.LimitingReader(req.body_file, max_size)
            try:
                req.make_body_seekable()
            except webob.exc.HTTPRequestEntityTooLarge:
                return too_large(max_size)(environ, start_response)
        return self.application(environ, start_response)


def too_large(max_size):
    """The 413 fault for a body over ``max_size`` bytes."""
    return faults.fault_response(
        413, 'Request is too large. Larger than max_request_body_size '
             '(%d).' % max_size)

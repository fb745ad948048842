"""gunicorn's threaded worker, giving its threads only whole requests.

gunicorn's workers read a request in the thread that serves it, so a
client that sends nothing, or a byte every few seconds, holds a thread
(all of a sync worker) for as long as it likes. Here the worker's event
loop receives every request, head and body, without blocking, and hands
it to a thread only once it is whole; a connection that has not sent a
whole request within ``request_timeout`` seconds of its first byte (of
being accepted, for a new one) is closed. Errors gunicorn finds in a
request's framing are answered as Nova's JSON faults.

Reads (GET, HEAD) and writes have threads of their own, ``threads`` each:
a write waiting for a database lock never holds up a read.
"""

import collections
from concurrent import futures
import datetime
import io
import selectors
import socket
import time

from gunicorn.http import body as gunicorn_body
from gunicorn.http import errors
from gunicorn.http import message
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn import util
from gunicorn.workers import gthread
from oslo_context import context

from interface_attach.api import faults
from interface_attach.middleware import sizelimit
from interface_attach.wsgi import framing


class MalformedBody(errors.ParseException):
    """A chunked body whose framing is broken, found before it is read."""

    def __str__(self):
        return 'Invalid chunked body'


# gunicorn's parse errors, as a client's fault: status and message. The
# message is gunicorn's description of what it found (cut short below).
# An unknown transfer coding is a request we cannot read, so a 400, not
# the 501 gunicorn answers: no 5xx is ever the client's doing.
PROTOCOL_FAULTS = (
    (errors.LimitRequestLine, 414),
    (errors.LimitRequestHeaders, 431),
    (errors.ExpectationFailed, 417),
    (errors.ForbiddenProxyRequest, 403),
    ((errors.InvalidRequestLine, errors.InvalidRequestMethod,
      errors.InvalidHTTPVersion, errors.InvalidHeader,
      errors.InvalidHeaderName, errors.InvalidProxyLine,
      errors.InvalidSchemeHeaders, errors.UnsupportedTransferCoding,
      errors.ConfigurationProblem, errors.ObsoleteFolding,
      errors.InvalidChunkSize, errors.ChunkMissingTerminator,
      errors.InvalidChunkExtension, errors.InvalidH2CPreface,
      MalformedBody), 400),
)
MAX_MESSAGE = 200
TIMEOUT_MESSAGE = 'The request was not received in time.'
CONTINUE = b'HTTP/1.1 100 Continue\r\n\r\n'
RECV_SIZE = 64 * 1024


def protocol_fault(exc):
    """(status, message) of a parse error; (500, ...) for anything else."""
    for kinds, status in PROTOCOL_FAULTS:
        if isinstance(exc, kinds):
            message = ('Malformed request: %s' % exc)
            if len(message) > MAX_MESSAGE:
                message = message[:MAX_MESSAGE - 3] + '...'
            return status, message
    return 500, faults.SERVER_ERROR


def fault_bytes(status, message):
    """A whole HTTP response: the fault, request ids, ``Connection: close``.

    Made here, not by the pipeline, because the request never reached it.
    """
    return response_bytes(faults.fault_response(status, message))


def response_bytes(response):
    """A webob fault response as bytes, with request ids, closing."""
    request_id = context.generate_request_id()
    lines = ['HTTP/1.1 %s' % response.status,
             'Content-Type: %s' % response.headers['Content-Type'],
             'Content-Length: %d' % len(response.body),
             'Connection: close',
             'x-openstack-request-id: %s' % request_id,
             'x-compute-request-id: %s' % request_id]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + response.body


class RequestTimeout(errors.NoMoreData):
    """A request not received by its deadline: closed, as a hang-up is."""

    def __str__(self):
        return 'not received within the request timeout'


class _DeadlineSocket:
    """The parser's socket: each receive waits at most until the deadline.

    A thread reads from the socket only past what the loop buffered (a
    request the parser must judge); the deadline bounds that too.
    """

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline

    def recv(self, size):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTimeout(b'')
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(size)
        except socket.timeout:
            raise RequestTimeout(b'')
        finally:
            self.sock.settimeout(None)

    def __getattr__(self, name):
        return getattr(self.sock, name)


READ_METHODS = (b'GET', b'HEAD')


class ReadAndWritePools:
    """Two thread pools in place of gthread's one, chosen by method."""

    def __init__(self, threads):
        self.reads = futures.ThreadPoolExecutor(max_workers=threads)
        self.writes = futures.ThreadPoolExecutor(max_workers=threads)

    def submit(self, handle, conn):
        pool = self.reads if conn.reading else self.writes
        return pool.submit(handle, conn)

    def shutdown(self, wait=True):
        self.reads.shutdown(wait=wait)
        self.writes.shutdown(wait=wait)


class BufferingWorker(gthread.ThreadWorker):
    """See the module's docstring; configured by :func:`worker_class`."""

    request_timeout = 10.0
    max_body = 114688

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Connections receiving a request, oldest deadline first (every
        # deadline is its start plus the same timeout).
        self.receiving = collections.OrderedDict()
        self.stopped_at = None

    def get_thread_pool(self):
        return ReadAndWritePools(self.cfg.threads)

    def enqueue_req(self, conn):
        """Every path that gives a connection to a thread comes here."""
        if getattr(conn, 'whole', None) is not None:
            return super().enqueue_req(conn)
        # A new connection, or a kept-alive one that became readable or
        # already holds read-ahead bytes: receive its request first.
        conn.sock.setblocking(False)
        conn.received = bytearray(
            conn.parser.unreader.take_buffered() if conn.parser else b'')
        conn.deadline = time.monotonic() + self.request_timeout
        conn.continued = False
        self.receiving[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             lambda sock, conn=conn: self.receive(conn))
        if conn.received:
            self._check_whole(conn)
        elif conn.initialized:
            # Kept alive and readable: the loop saw it so, read at once.
            self.receive(conn)

    def receive(self, conn):
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        if not data:
            if conn.received:
                self.log.warning('Client %s hung up after sending part of '
                                 'a request (%d bytes)', conn.client[0],
                                 len(conn.received))
            self._drop(conn)
            return
        conn.received += data
        self._check_whole(conn)

    def _check_whole(self, conn):
        state, continues = framing.request_state(conn.received,
                                                 self.max_body)
        if state == framing.WAIT:
            if continues and not conn.continued:
                # The client waits for this before it sends the body.
                conn.continued = True
                self._send(conn, CONTINUE)
            return
        self._stop_receiving(conn)
        if state in (framing.MALFORMED, framing.TOO_LARGE):
            self.nr_conns -= 1
            if state == framing.MALFORMED:
                self.handle_error(None, conn.sock, conn.client,
                                  MalformedBody())
            else:
                self.log.warning('Invalid request from ip=%s: chunked body '
                                 'over %d bytes', conn.client[0],
                                 self.max_body)
                self._send(conn, response_bytes(
                    sizelimit.too_large(self.max_body)))
            conn.close()
            return
        conn.whole = state == framing.COMPLETE
        conn.reading = bytes(conn.received[:5]).split(b' ', 1)[0] in (
            READ_METHODS)
        self.enqueue_req(conn)

    def _stop_receiving(self, conn):
        del self.receiving[conn]
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _drop(self, conn, timed_out=False):
        self._stop_receiving(conn)
        self.nr_conns -= 1
        if timed_out and conn.received:
            self.log.warning('Closing the connection of %s: no whole '
                             'request in %.0f s', conn.client[0],
                             self.request_timeout)
            self._send(conn, fault_bytes(408, TIMEOUT_MESSAGE))
        conn.close()

    @staticmethod
    def _send(conn, data):
        try:
            conn.sock.send(data)
        except OSError:
            pass

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and self.stopped_at is None:
            self.stopped_at = now
        while self.receiving:
            conn = next(iter(self.receiving))
            deadline = conn.deadline
            if self.stopped_at is not None:
                # A stopping worker waits for a request being sent as long
                # as for a kept-alive connection, and no longer.
                deadline = min(deadline, self.stopped_at
                               + gthread.STOP_KEEPALIVE_LINGER)
            if deadline > now:
                break
            self._drop(conn, timed_out=True)

    def handle(self, conn):
        """In a thread: serve the request the loop received."""
        whole, conn.whole = conn.whole, None
        conn.data_ready = True
        conn.sock.setblocking(True)
        conn.init()
        conn.parser.unreader.unread(bytes(conn.received))
        conn.received = None
        unreader = conn.parser.unreader
        if isinstance(unreader.sock, _DeadlineSocket):
            unreader.sock.deadline = conn.deadline
        else:
            unreader.sock = _DeadlineSocket(unreader.sock, conn.deadline)
        conn.keep = whole
        return super().handle(conn)

    def handle_request(self, req, conn):
        if not conn.keep:
            # Said in the answer, as _keepalive_after will do it.
            req.must_close = True
        if conn.continued:
            # Sent already, by the loop.
            req._expected_100_continue = False
            conn.continued = False
        if isinstance(req.body.reader, gunicorn_body.ChunkedReader):
            # Read now (it is all buffered): an error the parser finds in
            # it, a broken trailer say, is then the client's 400 (through
            # handle_error), not an exception in the application (a 500).
            req.body = gunicorn_body.Body(io.BytesIO(req.body.read()))
        return super().handle_request(req, conn)

    def _keepalive_after(self, conn, keepalive):
        # A request the loop did not receive whole may have left a body
        # on the socket; draining it would hold this thread.
        return conn.keep and super()._keepalive_after(conn, keepalive)

    def handle_error(self, req, client, addr, exc):
        """Nova's JSON fault with request ids, instead of gunicorn's HTML."""
        started = time.monotonic()
        addr = addr or ('', -1)
        status, text = protocol_fault(exc)
        if status < 500:
            self.log.warning('Invalid request from ip=%s: %s', addr[0],
                             text)
        else:
            self.log.exception('Error handling request %s',
                               getattr(req, 'uri', '(no URI read)'))
        if req is None:
            # Some errors carry the request, others a string under .req.
            req = getattr(exc, 'req', None)
        body = fault_bytes(status, text)
        if isinstance(req, message.Request):
            environ = gunicorn_wsgi.default_environ(req, client, self.cfg)
            environ['REMOTE_ADDR'] = addr[0]
            environ['REMOTE_PORT'] = str(addr[1])
            resp = gunicorn_wsgi.Response(req, client, self.cfg)
            resp.status = '%d' % status
            resp.response_length = len(body)
            self.log.access(resp, req, environ, _elapsed(started))
        try:
            util.write_nonblock(client, body)
        except Exception:
            self.log.debug('Failed to send error message.')


def _elapsed(started):
    return datetime.timedelta(seconds=time.monotonic() - started)


def worker_class(request_timeout, max_body):
    """The worker class for gunicorn, with these limits."""
    return type('BufferingWorker', (BufferingWorker,), {
        'request_timeout': float(request_timeout),
        'max_body': max_body})

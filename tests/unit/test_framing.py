"""Where a request ends: the table the serving workers' event loop reads."""

from oslotest import base

from interface_attach.wsgi import framing

HEAD = b'POST /v2.1/x HTTP/1.1\r\nHost: x\r\n'
W, C, P, M, L = (framing.WAIT, framing.COMPLETE, framing.PARSE,
                 framing.MALFORMED, framing.TOO_LARGE)

# (received so far, state, 100 Continue due)
CASES = [
    (b'', W, False),
    (b'GET / HTTP/1.1\r\nHost: x\r\n', W, False),
    (b'GET / HTTP/1.1\r\nHost: x\r\n\r\n', C, False),
    (b'GET / HTTP/1.1\nHost: x\n', P, False),
    (b'GET /' + b'a' * (framing.MAX_HEAD + 1), P, False),
    (HEAD + b'Content-Length: 2\r\n\r\n{', W, False),
    (HEAD + b'Content-Length: 2\r\n\r\n{}', C, False),
    (HEAD + b'content-length:  2 \r\n\r\n{}', C, False),
    (HEAD + b'Content-Length: 2\r\nExpect: 100-continue\r\n\r\n', W, True),
    (HEAD + b'Content-Length: 2\r\nExpect: 100-continue\r\n\r\n{}', C,
     False),
    (HEAD.replace(b'1.1', b'1.0') + b'Content-Length: 2\r\n'
     b'Expect: 100-continue\r\n\r\n', W, False),
    (HEAD + b'Content-Length: 200\r\n\r\n', P, False),
    (HEAD + b'Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}', P, False),
    (HEAD + b'Content-Length: -2\r\n\r\n', P, False),
    (HEAD + b'Transfer-Encoding: chunked\r\n\r\n', W, False),
    (HEAD + b'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n', W, False),
    (HEAD + b'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n', C,
     False),
    (HEAD + b'Transfer-Encoding: Chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\n'
     b'T: v\r\n\r\n', C, False),
    (HEAD + b'Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', M,
     False),
    (HEAD + b'Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX', M, False),
    (HEAD + b'Transfer-Encoding: chunked\r\n\r\nff\r\n', L, False),
    (HEAD + b'Transfer-Encoding: chunked\r\n\r\n' + b'1\r\nx\r\n' * 9000,
     L, False),
    (HEAD + b'Transfer-Encoding: xchunked\r\n\r\n', P, False),
    (HEAD + b'Transfer-Encoding: gzip, chunked\r\n\r\n', P, False),
    (HEAD + b'Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n', P,
     False),
]


class RequestStateTest(base.BaseTestCase):

    def test_table(self):
        for data, state, continues in CASES:
            with self.subTest(data):
                self.assertEqual((state, continues),
                                 framing.request_state(data, 100))

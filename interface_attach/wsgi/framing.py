"""Whether bytes received so far hold a whole HTTP/1.x request."""

WAIT = 'wait'          # more bytes are needed
COMPLETE = 'complete'  # one whole request (head and body) is buffered
PARSE = 'parse'        # let the HTTP parser decide: malformed or too large
MALFORMED = 'malformed'  # a chunked body whose framing is broken
TOO_LARGE = 'too large'  # a chunked body larger than the size limit

# A head that has not ended within this many bytes is larger than any the
# parser accepts (it answers 414 or 431 with what it has).
MAX_HEAD = 64 * 1024
_HEX = frozenset(b'0123456789abcdefABCDEF')


def request_state(data, max_body):
    """WAIT, COMPLETE, PARSE or MALFORMED, and whether it expects 100.

    Only what decides where the request ends is read here; everything
    else, and every doubt (duplicate or conflicting framing headers, a
    body over ``max_body``), is left to the parser, so that the answer to
    a malformed head is the parser's. A broken chunked body is told here,
    before the application would find it while reading its body.
    """
    end = data.find(b'\r\n\r\n')
    if end < 0:
        if len(data) > MAX_HEAD or data.count(b'\n') != data.count(b'\r\n'):
            # Too large, or a bare LF (which the parser refuses): it will
            # never end as a head ends.
            return PARSE, False
        return WAIT, False
    lengths, codings, continues = _framing_headers(data[:end])
    body = data[end + 4:]
    if codings:
        if lengths or codings != [b'chunked']:
            return PARSE, False
        size = _chunked_size(body, max_body)
        if size is None:
            return WAIT, continues
        if size == TOO_LARGE:
            return TOO_LARGE, False
        return (COMPLETE if size >= 0 else MALFORMED), False
    if lengths:
        if len(lengths) > 1 or not lengths[0].isdigit():
            return PARSE, False
        length = int(lengths[0])
        if length > max_body:
            return PARSE, False
        if len(body) < length:
            return WAIT, continues
    return COMPLETE, False


def _framing_headers(head):
    """Content-Length values, transfer codings, and whether 100 is due."""
    lines = bytes(head).split(b'\r\n')
    lengths, codings, expect = [], [], []
    for line in lines[1:]:
        name, _, value = line.partition(b':')
        name = name.lower()
        if name == b'content-length':
            lengths.append(value.strip())
        elif name == b'transfer-encoding':
            codings.append(value.strip().lower())
        elif name == b'expect':
            expect.append(value.strip().lower())
    continues = (expect == [b'100-continue']
                 and lines[0].endswith(b'HTTP/1.1'))
    return lengths, codings, continues


def _chunked_size(body, max_body):
    """Bytes of a whole chunked body; None if incomplete, -1 if malformed.

    TOO_LARGE once its chunks add up to more than ``max_body``, or its
    framing (chunks of a byte or two) to four times that: the size
    limit would refuse it, and a thread would wait for the rest of it.
    """
    pos = declared = 0
    while True:
        eol = body.find(b'\r\n', pos)
        if eol < 0:
            # A size line longer than this is no chunk size.
            return None if len(body) - pos < 1024 else -1
        size = bytes(body[pos:eol]).split(b';', 1)[0].strip()
        if not size or not _HEX.issuperset(size):
            return -1
        size = int(size, 16)
        if size == 0:
            trailers_end = body.find(b'\r\n\r\n', eol)
            if trailers_end < 0:
                return None if len(body) - eol < 8192 else -1
            return trailers_end + 4
        data_end = eol + 2 + size
        declared += size
        if declared > max_body or data_end > 4 * max_body + 65536:
            return TOO_LARGE
        if len(body) < data_end + 2:
            return None
        if body[data_end:data_end + 2] != b'\r\n':
            return -1
        pos = data_end + 2

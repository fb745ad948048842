"""A TCP proxy on 127.0.0.1 that a test can cut and restore, or freeze.

Cutting it is a database outage as the service sees one: every open
connection is reset and new ones are refused, until it is restored on the
same port. Freezing it is a server that stopped (SIGSTOP, a hung host):
connections stay open and new ones are accepted, but nothing is forwarded
either way until it is thawed. The database server itself, shared with
other tests, is not touched.

It can also lose one COMMIT (``lose_commit``), as a server killed or a
network cut at that moment would, with or without the server having
committed it.
"""

import select
import socket
import threading

import fixtures

# SO_LINGER on, 0 s: close() resets the connection.
_RESET = b'\x01\x00\x00\x00\x00\x00\x00\x00'


class TcpProxy(fixtures.Fixture):

    def __init__(self, target_host, target_port, fallbacks=()):
        """A proxy to the target, and to ``fallbacks`` in turn.

        ``fallbacks``: (host, port) tried when the target refuses a new
        connection, as a load balancer in front of Galera nodes would.
        """
        super().__init__()
        self.target = (target_host, target_port)
        self.fallbacks = tuple(fallbacks)
        self._lock = threading.Lock()
        self._connections = []
        self._listener = None
        self._flowing = threading.Event()
        self._flowing.set()
        self._commit_trap = None

    def _setUp(self):
        self.port = None
        self.restore()
        # Thawed after the cut: frozen pipes wake up to closed sockets.
        self.addCleanup(self.thaw)
        self.addCleanup(self.cut)

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,),
                         daemon=True).start()

    def cut(self):
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        if listener is not None:
            listener.close()
        for sock in connections:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                sock.close()
            except OSError:
                pass

    def freeze(self):
        self._flowing.clear()

    def thaw(self):
        self._flowing.set()

    # How the next COMMIT is lost: whether the server gets it, and whether
    # its connection is then reset or held open, answering nothing (the
    # client gives up at its statement timeout; the server's session lives
    # on).
    UNSENT, UNANSWERED, UNSENT_HELD, UNANSWERED_HELD = (
        (False, False), (True, False), (False, True), (True, True))

    def lose_commit(self, how, then=None, after=0):
        """Lose the next COMMIT of a write, as ``how`` says.

        A write: a transaction that sent an INSERT, UPDATE or DELETE (not
        a driver's own look at the server, say). ``after``: how many such
        COMMITs to let through first. ``then``: called once it is lost
        (``cut``, say).
        """
        with self._lock:
            self._commit_trap = [how, then, after]

    def commit_lost(self):
        """Whether the COMMIT ``lose_commit`` asked for was lost."""
        return self._commit_trap is None

    def _trapped(self, data, wrote):
        """(how, then) if this chunk is the COMMIT to lose, else None."""
        with self._lock:
            trap = self._commit_trap
            if trap is None or not wrote or b'COMMIT' not in data:
                return None
            if trap[2]:
                trap[2] -= 1
                return None
            self._commit_trap = None
            return trap[:2]

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = None
            for target in (self.target,) + self.fallbacks:
                try:
                    server = socket.create_connection(target, timeout=5)
                    break
                except OSError:
                    pass
            if server is None:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._connections += [client, server]
            threading.Thread(target=self._pipe, args=(client, server),
                             daemon=True).start()

    def _pipe(self, a, b):
        held = False
        wrote = False
        try:
            while True:
                # Frozen: what either side sends stays in the kernel's
                # buffers, as with a stopped server.
                self._flowing.wait()
                readable, _, _ = select.select([a, b], [], [], 0.1)
                if not self._flowing.is_set():
                    continue
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    trap = None
                    if sock is a:
                        wrote = wrote or any(verb in data for verb in (
                            b'INSERT', b'UPDATE', b'DELETE'))
                        trap = self._trapped(data, wrote)
                        if b'COMMIT' in data or b'ROLLBACK' in data:
                            wrote = False
                    if trap is not None:
                        (sent, held), then = trap
                        if sent:
                            b.sendall(data)
                            b.recv(65536)  # The server's answer, dropped.
                        if not held:
                            a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         _RESET)
                        if then is not None:
                            then()
                        return
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            # Held: both stay open, silent, until the proxy is cut.
            for sock in () if held else (a, b):
                try:
                    sock.close()
                except OSError:
                    pass

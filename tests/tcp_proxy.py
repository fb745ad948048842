"""A TCP proxy on 127.0.0.1 that a test can cut and restore, or freeze.

Cutting it is a database outage as the service sees one: every open
connection is reset and new ones are refused, until it is restored on the
same port. Freezing it is a server that stopped (SIGSTOP, a hung host):
connections stay open and new ones are accepted, but nothing is forwarded
either way until it is thawed. The database server itself, shared with
other tests, is not touched.
"""

import select
import socket
import threading

import fixtures


class TcpProxy(fixtures.Fixture):

    def __init__(self, target_host, target_port):
        super().__init__()
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._connections = []
        self._listener = None
        self._flowing = threading.Event()
        self._flowing.set()

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
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                b'\x01\x00\x00\x00\x00\x00\x00\x00')
                sock.close()
            except OSError:
                pass

    def freeze(self):
        self._flowing.clear()

    def thaw(self):
        self._flowing.set()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
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
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass

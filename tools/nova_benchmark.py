"""What the filter costs and saves inside a real Nova: stock vs filtered.

Starts the Nova tier's cloud (tests/functional/nova: Nova 34 with the fake
virt driver, Placement, Neutron, MariaDB at 127.0.0.1:3306 as root,
RabbitMQ at 127.0.0.1:5672), then times the same requests against the
stock nova-api and the one with the filter, interleaved (each round asks
stock, then filtered), each API on its own servers. Requests are
sequential: these are latencies, not throughput.

Scenarios (/v2.1): attach by port and its detach, attach by network and its
detach (each detach waited for until Neutron shows the port unbound or
gone, so the next attach finds the server idle), list, show; and the
refusals: a port bound to another server, a locked server, a suspended
server, a port that does not exist.

Targets: an attach's p50 within 5 % of stock's, a list's or show's within
10 ms, and every refusal that stock Nova makes only after a round trip to
the compute host (its p50 over 100 ms) at least 10 times faster.

  tox -e bench-nova -- --rounds 20 --output nova.md
"""

import argparse
import os
import statistics
import sys
import time
import unittest
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.functional.nova import fixtures as nova_fixtures  # noqa: E402

APIS = ('stock', 'filtered')
ATTACHES = ('attach by port', 'attach by network')
REFUSALS = ('port in use', 'locked server', 'suspended server',
            'missing port')


def log(message):
    sys.stderr.write('[%s] %s\n' % (time.strftime('%H:%M:%S'), message))


class Bench:

    def __init__(self, cloud, rounds):
        self.cloud = cloud
        self.rounds = rounds
        self.timings = {}
        net_a, _ = cloud.create_network(name='bench-a')
        self.net_b, _ = cloud.create_network(name='bench-b',
                                             cidr='10.2.0.0/24')
        boot = lambda name: cloud.boot_server(  # noqa: E731
            cloud.member_a, name, network_id=net_a['id'], wait=False)
        names = ['attach', 'locked', 'suspended']
        pending = {(api, name): boot('%s-%s' % (api, name))
                   for api in APIS for name in names}
        holder = cloud.wait_for_server(boot('holder')['id'])
        self.servers = {key: cloud.wait_for_server(server['id'])
                        for key, server in pending.items()}
        self.bound_port = self._port_of(holder['id'])
        for api in APIS:
            self._action(self.servers[(api, 'locked')]['id'], 'lock')
            server_id = self.servers[(api, 'suspended')]['id']
            self._action(server_id, 'suspend')
            cloud.wait_for_server(server_id, status='SUSPENDED')

    def _action(self, server_id, action):
        status, _, body = self.cloud.request(
            'stock', 'POST', '/v2.1/servers/%s/action' % server_id,
            {action: None}, token=self.cloud.admin_a)
        if status != 202:
            raise RuntimeError('%s: %s %s' % (action, status, body))

    def _port_of(self, server_id):
        status, _, body = self.cloud.request(
            'stock', 'GET', '/v2.1/servers/%s/os-interface' % server_id)
        return body['interfaceAttachments'][0]['port_id']

    def _timed(self, name, api, method, path, body=None, expect=200):
        started = time.monotonic()
        status, _, answer = self.cloud.request(api, method, path, body,
                                               microversion='2.70')
        took = (time.monotonic() - started) * 1000
        if status != expect:
            raise RuntimeError('%s through %s: %s %s' % (name, api, status,
                                                         answer))
        self.timings.setdefault((name, api), []).append(took)
        return answer

    def _wait(self, port_id, gone):
        def done():
            port = self.cloud.get_port(port_id)
            return port is None if gone else (
                port is not None and not port['device_id'])
        self.cloud.wait_for(done, 60, what='port %s detached' % port_id)

    def run(self):
        for i in range(self.rounds):
            for api in APIS:
                self._round(api)
            log('round %d of %d' % (i + 1, self.rounds))

    def _round(self, api):
        server = self.servers[(api, 'attach')]['id']
        path = '/v2.1/servers/%s/os-interface' % server
        port = self.cloud.create_port(self.net_b['id'])['id']
        self._timed('attach by port', api, 'POST', path,
                    {'interfaceAttachment': {'port_id': port}})
        self._timed('detach (by port)', api, 'DELETE',
                    '%s/%s' % (path, port), expect=202)
        self._wait(port, gone=False)
        self.cloud.neutron.call('DELETE', '/v2.0/ports/%s' % port,
                                expect=(204, 404))
        created = self._timed('attach by network', api, 'POST', path, {
            'interfaceAttachment': {'net_id': self.net_b['id']}})[
                'interfaceAttachment']['port_id']
        self._timed('detach (by network)', api, 'DELETE',
                    '%s/%s' % (path, created), expect=202)
        self._wait(created, gone=True)
        self._timed('list', api, 'GET', path)
        boot_port = self._port_of(server)
        self._timed('show', api, 'GET', '%s/%s' % (path, boot_port))
        self._timed('port in use', api, 'POST', path, {
            'interfaceAttachment': {'port_id': self.bound_port}},
            expect=409)
        for name, key in (('locked server', 'locked'),
                          ('suspended server', 'suspended')):
            self._timed(name, api, 'POST', '/v2.1/servers/%s/os-interface'
                        % self.servers[(api, key)]['id'], {
                            'interfaceAttachment': {
                                'net_id': self.net_b['id']}}, expect=409)
        self._timed('missing port', api, 'POST', path, {
            'interfaceAttachment': {'port_id': str(uuid.uuid4())}},
            expect=404)


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def report(timings, rounds):
    names = []
    for name, _ in timings:
        if name not in names:
            names.append(name)
    lines = ['Stock nova-api against nova-api with the filter, %d rounds, '
             'sequential requests, fake virt driver (ms):' % rounds, '',
             '| request | stock p50 | stock p95 | filtered p50 '
             '| filtered p95 | filtered / stock (p50) |',
             '|---|---:|---:|---:|---:|---:|']
    checks = []
    for name in names:
        stock, ours = timings[(name, 'stock')], timings[(name, 'filtered')]
        s50, o50 = statistics.median(stock), statistics.median(ours)
        lines.append('| %s | %.0f | %.0f | %.0f | %.0f | %.2f |' % (
            name, s50, p(stock, 0.95), o50, p(ours, 0.95), o50 / s50))
        if name in ATTACHES:
            checks.append(('%s p50 within 5 %% of stock' % name,
                           o50 <= 1.05 * s50))
        elif name in ('list', 'show'):
            checks.append(('%s p50 within 10 ms of stock' % name,
                           o50 - s50 < 10))
        elif name in REFUSALS and s50 > 100:
            checks.append(('%s at least 10 times faster (stock %.0f ms '
                           'after its RPC)' % (name, s50), s50 >= 10 * o50))
    lines += ['', 'Targets:', '']
    lines += ['- %s: %s' % (label, 'met' if ok else 'NOT met')
              for label, ok in checks]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=10,
                        help='rounds of every scenario per API (10)')
    parser.add_argument('--output', help='also write the report here')
    args = parser.parse_args(argv)
    try:
        nova_fixtures.skip_unless_available()
    except unittest.SkipTest as e:
        sys.exit('bench-nova: %s' % e)
    started = time.monotonic()
    log('starting the cloud')
    with nova_fixtures.NovaCloud(noattach_compute=False) as cloud:
        bench = Bench(cloud, args.rounds)
        log('cloud ready in %.0f s' % (time.monotonic() - started))
        bench.run()
    text = report(bench.timings, args.rounds)
    sys.stdout.write(text)
    if args.output:
        with open(args.output, 'w') as f:
            f.write(text)
    log('done in %.0f s' % (time.monotonic() - started))


if __name__ == '__main__':
    main()

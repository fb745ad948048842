"""interface-attach-manage: operator CLI for the database and local store."""

import argparse
import datetime
import json
import re
import sys

import netaddr
from oslo_config import cfg
from oslo_db import exception as db_exc
import sqlalchemy as sa

from interface_attach import checker
from interface_attach import cmd
from interface_attach import compute
from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach.db import networks
from interface_attach.db import servers
from interface_attach import demo
from interface_attach import exception
from interface_attach.network import local
from interface_attach import recovery

PROG = 'interface-attach-manage'

VM_STATES = ('active', 'building', 'paused', 'suspended', 'stopped',
             'rescued', 'resized', 'soft-deleted', 'deleted', 'error',
             'shelved', 'shelved_offloaded')

# servers.task_state is a String(32); MySQL in strict mode refuses longer.
_TASK_STATE_MAX = 32

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A bad command line: exit 2."""


class CommandError(Exception):
    """An operation the CLI itself refuses: exit 1."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting.

    argparse prints a usage block before its message; we want exactly one
    line, with the same prefix whichever sub-command failed.
    """

    def error(self, message):
        raise UsageError(message)


# Argument types: argparse turns ArgumentTypeError into a usage error.

def _uuid(value):
    canonical = compute.canonical_uuid(value)
    if canonical is None:
        raise argparse.ArgumentTypeError('%r is not a UUID' % value)
    return canonical


def _non_empty(value):
    if not value.strip():
        raise argparse.ArgumentTypeError('must not be empty')
    return value


def _task_state(value):
    value = _non_empty(value)
    if len(value) > _TASK_STATE_MAX:
        raise argparse.ArgumentTypeError(
            'must be at most %d characters' % _TASK_STATE_MAX)
    return value


def _ip_address(value):
    try:
        return str(netaddr.IPAddress(value))
    except (netaddr.AddrFormatError, ValueError):
        raise argparse.ArgumentTypeError('%r is not an IP address' % value)


def _cidr(value):
    # A bare address would make a one-address subnet: ask for a prefix.
    try:
        if '/' not in value:
            raise ValueError(value)
        return str(netaddr.IPNetwork(value).cidr)
    except (netaddr.AddrFormatError, ValueError):
        raise argparse.ArgumentTypeError(
            '%r is not a CIDR such as 10.0.0.0/24 or 2001:db8::/64' % value)


# Output: a handler returns a Record (key/value lines) or a Table.

class Record:

    def __init__(self, values, formatters=None):
        self.values = values
        self.formatters = formatters or {}


class Table:

    def __init__(self, columns, records, formatters=None, failure=None):
        self.columns = columns
        self.records = records
        self.formatters = formatters or {}
        # Printed, then the command fails with this message.
        self.failure = failure


def _plain(value):
    # '' is how the store says "none" for a free port's device_id.
    if value is None or value == '':
        return '-'
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=' ', timespec='seconds')
    return str(value)


def _json_value(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _cell(output, key, value):
    formatter = output.formatters.get(key, _plain)
    return formatter(value)


def _print_output(output, fmt, stream):
    if output is None:
        return
    if fmt == 'json':
        data = (output.values if isinstance(output, Record)
                else output.records)
        stream.write(json.dumps(data, indent=2, default=_json_value) + '\n')
        return
    if isinstance(output, Record):
        rows = [(key, _cell(output, key, value))
                for key, value in output.values.items()]
    else:
        rows = [tuple(output.columns)] + [
            tuple(_cell(output, key, record[key]) for key in output.columns)
            for record in output.records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = '  '.join(cell.ljust(width)
                         for cell, width in zip(row, widths))
        stream.write(line.rstrip() + '\n')


# Records: the columns of a row, as plain data for both output formats.

def _row_dict(row, exclude=()):
    return {key: value for key, value in row._mapping.items()
            if key not in exclude}


def _server(row):
    return _row_dict(row, exclude=('deleted_at',))


def _port(row, fixed_ips):
    values = _row_dict(row)
    values['fixed_ips'] = fixed_ips
    return values


def _addresses(fixed_ips):
    return ', '.join(ip['ip_address'] for ip in fixed_ips) or '-'


def _addresses_with_subnets(fixed_ips):
    return ', '.join('%(ip_address)s (subnet %(subnet_id)s)' % ip
                     for ip in fixed_ips) or '-'


_PORT_FORMATTERS = {'fixed_ips': _addresses_with_subnets}


class Context:
    """What a handler works with: the configuration and the stores."""

    def __init__(self, conf, database):
        self.conf = conf
        self.database = database
        self.servers = servers.ServerStore(database)
        self.networks = networks.NetworkStore(database)


# db
#
# Alembic (for the db commands) and the web stack (for recover) are
# imported by the commands that use them: together they were most of the
# time of every other command.

def db_sync(ctx, args):
    from interface_attach.db import migration
    migration.db_sync(ctx.database)
    return Record({'revision': migration.db_version(ctx.database)})


def db_version(ctx, args):
    from interface_attach.db import migration
    return Record({'revision': migration.db_version(ctx.database)})


# demo

def demo_create(ctx, args):
    try:
        created = demo.create_demo_data(ctx.database)
    except db_exc.DBDuplicateEntry:
        # create_demo_data only checks the server; the rest may linger.
        raise CommandError(
            'part of the demo data exists without the demo server %s; '
            'delete the demo port, subnet and network first'
            % demo.SERVER_ID)
    return Record({'created': created, 'project_id': demo.PROJECT_ID,
                   'server_id': demo.SERVER_ID,
                   'network_id': demo.NETWORK_ID,
                   'subnet_id': demo.SUBNET_ID, 'port_id': demo.PORT_ID})


# network

def network_create(ctx, args):
    row = ctx.networks.create_network(args.project, args.name,
                                      shared=args.shared,
                                      network_id=args.id)
    return Record(_row_dict(row))


def network_list(ctx, args):
    rows = ctx.networks.list_networks(project_id=args.project)
    return Table(('id', 'name', 'project_id', 'shared'),
                 [_row_dict(row) for row in rows])


def network_delete(ctx, args):
    ctx.networks.delete_network(args.id)


# subnet

def subnet_create(ctx, args):
    row = ctx.networks.create_subnet(args.network, args.cidr,
                                     gateway_ip=args.gateway,
                                     subnet_id=args.id)
    return Record(_row_dict(row))


def subnet_list(ctx, args):
    rows = ctx.networks.list_subnets(network_id=args.network)
    return Table(('id', 'network_id', 'cidr', 'ip_version', 'gateway_ip'),
                 [_row_dict(row) for row in rows])


def subnet_delete(ctx, args):
    ctx.networks.delete_subnet(args.id)


# port

def port_create(ctx, args):
    row, fixed_ips = ctx.networks.create_port(
        args.project, args.network, fixed_ip=args.fixed_ip, port_id=args.id)
    return Record(_port(row, fixed_ips), _PORT_FORMATTERS)


def port_list(ctx, args):
    records = [_port(row, fixed_ips) for row, fixed_ips in
               ctx.networks.list_ports_with_ips(network_id=args.network,
                                                device_id=args.server)]
    return Table(('id', 'network_id', 'fixed_ips', 'mac_address', 'status',
                  'device_id'), records, {'fixed_ips': _addresses})


def port_show(ctx, args):
    return Record(_port(*ctx.networks.get_port(args.id)), _PORT_FORMATTERS)


def port_delete(ctx, args):
    ctx.networks.delete_port(args.id)


# server

def server_create(ctx, args):
    row = ctx.servers.create(
        args.project, args.name, server_id=args.id, user_id=args.user,
        vm_state=args.vm_state, host=args.host,
        availability_zone=args.availability_zone,
        launched=not args.not_launched)
    return Record(_server(row))


def server_list(ctx, args):
    rows = ctx.servers.list(project_id=args.project, name=args.name)
    return Table(('id', 'name', 'project_id', 'vm_state', 'task_state',
                  'locked', 'host'), [_server(row) for row in rows])


def server_show(ctx, args):
    return Record(_server(ctx.servers.get(args.id)))


def server_delete(ctx, args):
    ctx.servers.delete(args.id)


def server_lock(ctx, args):
    ctx.servers.set_locked(args.id, True)
    return server_show(ctx, args)


def server_unlock(ctx, args):
    ctx.servers.set_locked(args.id, False)
    return server_show(ctx, args)


def server_set_state(ctx, args):
    states = {}
    if args.vm_state is not None:
        states['vm_state'] = args.vm_state
    if args.no_task:
        states['task_state'] = None
    elif args.task_state is not None:
        states['task_state'] = args.task_state
    if not states:
        raise UsageError('server set-state needs --vm-state, --task-state '
                         'or --no-task')
    row = ctx.servers.set_state(args.id, **states)
    # Bound ports of the embedded store follow the server (ACTIVE only
    # while it is active), as they do after an attach.
    local.LocalDriver(ctx.conf, ctx.database).server_state_changed(row)
    return Record(_server(row))


# check and recover

def check(ctx, args):
    problems = checker.check(ctx.database,
                             ctx.conf.network.allow_duplicate_networks,
                             ctx.conf.recovery.stale_after)
    if not problems:
        return Record({'violations': 0})
    return Table(('violation',), [{'violation': p} for p in problems],
                 failure='%d violations found' % len(problems))


def recover(ctx, args):
    from interface_attach.api import paste
    services = paste.Services(ctx.conf)
    try:
        return Record({'recovered':
                       recovery.from_conf(ctx.conf, services).run()})
    finally:
        services.database.dispose()


# The parser

def _command(subparsers, name, func, help_text):
    parser = subparsers.add_parser(name, help=help_text,
                                   description=help_text)
    parser.set_defaults(func=func)
    return parser


def _group(subparsers, name, help_text):
    parser = subparsers.add_parser(name, help=help_text,
                                   description=help_text)
    commands = parser.add_subparsers(dest='%s command' % name,
                                     required=True)
    return commands


def _add_id_option(parser, what):
    parser.add_argument('--id', type=_uuid,
                        help='UUID of the new %s (default: generated)' % what)


def _add_db(subparsers):
    commands = _group(subparsers, 'db', 'database schema')
    _command(commands, 'sync', db_sync,
             'upgrade the schema to the latest revision (Alembic head)')
    _command(commands, 'version', db_version,
             'print the current schema revision')


def _add_demo(subparsers):
    commands = _group(subparsers, 'demo', 'demo data')
    _command(commands, 'create', demo_create,
             "create the spec example's project, network, subnet, port and "
             'server if missing')


def _add_network(subparsers):
    commands = _group(subparsers, 'network', 'networks of the local store')
    parser = _command(commands, 'create', network_create, 'create a network')
    parser.add_argument('--project', required=True, type=_non_empty)
    parser.add_argument('--name', required=True, type=_non_empty)
    parser.add_argument('--shared', action='store_true',
                        help='usable by every project')
    _add_id_option(parser, 'network')
    parser = _command(commands, 'list', network_list, 'list networks')
    parser.add_argument('--project', type=_non_empty,
                        help='only networks owned by this project')
    parser = _command(commands, 'delete', network_delete,
                      'delete a network without subnets or ports')
    parser.add_argument('id', type=_uuid, metavar='ID')


def _add_subnet(subparsers):
    commands = _group(subparsers, 'subnet', 'subnets of the local store')
    parser = _command(commands, 'create', subnet_create,
                      'create an IPv4 or IPv6 subnet on a network')
    parser.add_argument('--network', required=True, type=_uuid)
    parser.add_argument('--cidr', required=True, type=_cidr)
    parser.add_argument('--gateway', type=_ip_address,
                        help='gateway address (default: first host)')
    _add_id_option(parser, 'subnet')
    parser = _command(commands, 'list', subnet_list, 'list subnets')
    parser.add_argument('--network', type=_uuid)
    parser = _command(commands, 'delete', subnet_delete,
                      'delete a subnet no port has an address on')
    parser.add_argument('id', type=_uuid, metavar='ID')


def _add_port(subparsers):
    commands = _group(subparsers, 'port', 'ports of the local store')
    parser = _command(commands, 'create', port_create,
                      'create an unbound port with an address from each '
                      'subnet of its network')
    parser.add_argument('--project', required=True, type=_non_empty)
    parser.add_argument('--network', required=True, type=_uuid)
    parser.add_argument('--fixed-ip', type=_ip_address,
                        help='this address instead of the next free one')
    _add_id_option(parser, 'port')
    parser = _command(commands, 'list', port_list, 'list ports')
    parser.add_argument('--network', type=_uuid)
    parser.add_argument('--server', type=_uuid,
                        help='only ports bound to this server')
    parser = _command(commands, 'show', port_show, 'show a port')
    parser.add_argument('id', type=_uuid, metavar='ID')
    parser = _command(commands, 'delete', port_delete,
                      'delete an unbound port')
    parser.add_argument('id', type=_uuid, metavar='ID')


def _add_check_and_recover(subparsers):
    _command(subparsers, 'check', check,
             'verify every invariant from the database; print each '
             'violation and fail if there is any')
    _command(subparsers, 'recover', recover,
             'finish or undo the attaches and detaches that crashed '
             'processes left (as the API does at start and periodically)')


def _add_server(subparsers):
    commands = _group(subparsers, 'server', 'servers')
    parser = _command(commands, 'create', server_create, 'create a server')
    parser.add_argument('--project', required=True, type=_non_empty)
    parser.add_argument('--name', required=True, type=_non_empty)
    _add_id_option(parser, 'server')
    parser.add_argument('--user', type=_non_empty)
    parser.add_argument('--host', type=_non_empty)
    parser.add_argument('--availability-zone', default='nova',
                        type=_non_empty)
    parser.add_argument('--vm-state', default='active', choices=VM_STATES)
    parser.add_argument('--not-launched', action='store_true',
                        help='never launched: attaching is refused')
    parser = _command(commands, 'list', server_list, 'list servers')
    parser.add_argument('--project', type=_non_empty)
    parser.add_argument('--name', type=_non_empty)
    for name, func, help_text in (
            ('show', server_show, 'show a server'),
            ('delete', server_delete,
             'delete a server without attached interfaces'),
            ('lock', server_lock, 'lock a server (non-admins cannot attach)'),
            ('unlock', server_unlock, 'unlock a server')):
        parser = _command(commands, name, func, help_text)
        parser.add_argument('id', type=_uuid, metavar='ID')
    parser = _command(commands, 'set-state', server_set_state,
                      "set a server's vm_state and/or task_state")
    parser.add_argument('id', type=_uuid, metavar='ID')
    parser.add_argument('--vm-state', choices=VM_STATES)
    task = parser.add_mutually_exclusive_group()
    task.add_argument('--task-state', type=_task_state,
                      help='a task in progress (any name)')
    task.add_argument('--no-task', action='store_true',
                      help='clear the task state')


def build_parser():
    parser = _Parser(prog=PROG, description=__doc__)
    parser.add_argument('--config-file', action='append', metavar='PATH',
                        help='configuration file (repeatable; default: '
                             "the project's standard locations)")
    parser.add_argument('--config-dir', action='append', metavar='DIR',
                        help='directory of *.conf files (repeatable)')
    parser.add_argument('--format', choices=('table', 'json'),
                        default='table', help='output format')
    subparsers = parser.add_subparsers(dest='command', required=True)
    for add in (_add_db, _add_demo, _add_network, _add_subnet, _add_port,
                _add_server, _add_check_and_recover):
        add(subparsers)
    return parser


# Errors: one line each, never a traceback.

def _not_migrated(table):
    return ('the database is not migrated (no table %s); run "%s db sync"'
            % (table, PROG))


def _error_message(error, args):
    """The message for an error the CLI expects, else None."""
    if isinstance(error, (exception.InterfaceAttachError, CommandError,
                          cfg.Error)):
        return str(error)
    if isinstance(error, db_exc.DBDuplicateEntry):
        resource = args.command.capitalize()
        new_id = getattr(args, 'id', None)
        return ('%s %s already exists.' % (resource, new_id) if new_id
                else '%s already exists: %s' % (resource,
                                                cmd.first_line(error)))
    if isinstance(error, db_exc.DBNonExistentTable):
        return _not_migrated(error.table)
    if isinstance(error, (db_exc.DBError, sa.exc.SQLAlchemyError)):
        # Not every path goes through oslo.db's filters (Alembic's does
        # not), so a missing table may arrive as SQLAlchemy's own error.
        match = re.search(r'no such table: (\w+)', str(error))
        if match:
            return _not_migrated(match.group(1))
        return 'database error: %s' % cmd.first_line(error)
    if isinstance(error, (netaddr.AddrFormatError, ValueError)):
        return cmd.first_line(error)
    return None


def _fail(message, code, stderr):
    # One line, whatever a library put in its message.
    lines = str(message).strip().splitlines() or ['failed']
    stderr.write('%s: error: %s\n' % (PROG, lines[0]))
    return code


def _execute(args, stdout):
    conf = ia_conf.new_conf(config_files=args.config_file,
                            config_dirs=args.config_dir)
    try:
        # Only "db sync" may create a SQLite file: another command finding
        # none would work on an empty new one.
        database = engine.Database(conf.database,
                                   create=args.func is db_sync)
    except (db_exc.DBNonExistentDatabase, db_exc.DBConnectionError) as e:
        raise CommandError('cannot open the database %s: %s'
                           % (cmd.database_url(conf), cmd.first_line(e)))
    try:
        output = args.func(Context(conf, database), args)
    finally:
        database.dispose()
    _print_output(output, args.format, stdout)
    if getattr(output, 'failure', None):
        raise CommandError(output.failure)


def main(argv=None):
    """Run one command; the exit code is returned, not raised."""
    stdout, stderr = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as e:
        return _fail(e, EXIT_USAGE, stderr)
    except SystemExit as e:  # --help printed; argparse exits 0
        return e.code if isinstance(e.code, int) else EXIT_OK
    try:
        _execute(args, stdout)
    except UsageError as e:
        return _fail(e, EXIT_USAGE, stderr)
    except KeyboardInterrupt:
        return _fail('interrupted', 130, stderr)
    except Exception as e:
        message = _error_message(e, args)
        if message is None:
            # A bug: still one line, but name the class to report it by.
            message = 'unexpected %s: %s' % (type(e).__name__,
                                             cmd.first_line(e))
        return _fail(message, EXIT_FAILED, stderr)
    return EXIT_OK


if __name__ == '__main__':
    sys.exit(main())

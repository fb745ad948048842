"""Options of recovery: undoing what a crashed worker left half-done."""

from oslo_config import cfg

recovery_group = cfg.OptGroup(
    'recovery',
    title='Recovery options',
    help='An attach or detach interrupted by a crash is finished or undone '
         'at start-up, periodically by every API worker, and by '
         '"interface-attach-manage recover".')

recovery_opts = [
    cfg.IntOpt(
        'interval', default=60, min=0,
        help='Seconds between two recovery passes in each API worker; 0 '
             'turns the periodic pass off.'),
    cfg.IntOpt(
        'stale_after', default=300, min=1,
        help="""
Seconds after which an attach or detach still in flight is taken to be
abandoned, whichever host runs it. One whose process is known to be dead
(on this host) is recovered at once. Keep it well above the longest
network driver call.
"""),
]


def register_opts(conf):
    conf.register_group(recovery_group)
    conf.register_opts(recovery_opts, group=recovery_group)


def list_opts():
    return {recovery_group: recovery_opts}

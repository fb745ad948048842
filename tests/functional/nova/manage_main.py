"""The tier's nova-manage steps in one process (Nova is imported once).

``python -m tests.functional.nova.manage_main NOVA_CONF CELL0_URL``: what
``nova-manage api_db sync``, ``cell_v2 map_cell0``, ``cell_v2 create_cell
--name cell1`` (the database and transport of NOVA_CONF) and ``db sync``
(cell1, then cell0 through its mapping) do, each nova-manage call costing
some six seconds of imports on its own.
"""

import sys

from nova.cmd import manage  # noqa: I100 (first: Nova's monkey patching)

from nova import config  # noqa: E402
from nova import objects  # noqa: E402
from oslo_log import log as logging  # noqa: E402


def main(argv):
    conf_file, cell0_url = argv[1:3]
    config.parse_args(['nova-manage', '--config-file', conf_file])
    logging.setup(manage.CONF, 'nova')
    objects.register_all()
    steps = [
        ('api_db sync', manage.ApiDbCommands().sync, {}),
        ('cell_v2 map_cell0', manage.CellV2Commands().map_cell0,
         {'database_connection': cell0_url}),
        ('cell_v2 create_cell', manage.CellV2Commands().create_cell,
         {'name': 'cell1'}),
        ('db sync', manage.DbCommands().sync, {}),
    ]
    for name, step, kwargs in steps:
        result = step(**kwargs)
        if result not in (None, 0):
            print('nova-manage %s failed: %s' % (name, result))
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

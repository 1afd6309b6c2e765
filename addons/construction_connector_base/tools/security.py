from odoo.exceptions import AccessError

MANAGER_GROUP = "construction_connector_base.group_construction_manager"


def check_manager(env, message):
    """Refuse (AccessError with ``message``) unless the user is a Construction
    Manager; code running as superuser passes, as Odoo's own access checks do."""
    if not env.su and not env.user.has_group(MANAGER_GROUP):
        raise AccessError(message)

from . import construction_outbound_send_wizard
from . import construction_event_approval_wizard
from . import construction_binding_relink_wizard

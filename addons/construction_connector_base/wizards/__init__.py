from . import construction_outbound_send_wizard

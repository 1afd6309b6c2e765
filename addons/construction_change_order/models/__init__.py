from . import change_order_status
from . import change_order_reason
from . import project_project
from . import change_event
from . import change_order
from . import change_order_approval
from . import budget_line
from . import change_order_api

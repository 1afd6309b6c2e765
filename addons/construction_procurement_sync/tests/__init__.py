from . import test_procurement_commitments
from . import test_procurement_budget_control
from . import test_procurement_subcontract
from . import test_procurement_match
from . import test_procurement_change_order
from . import test_procurement_events
from . import test_subcontract_pay_application
from . import test_procurement_monitor

from . import test_billing_progress
from . import test_billing_errors
from . import test_billing_milestone
from . import test_billing_rules
from . import test_billing_progress_api
from . import test_billing_change_order
from . import test_pay_application_tour
from . import test_billing_change_order_api

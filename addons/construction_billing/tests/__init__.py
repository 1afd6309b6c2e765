from . import test_billing_progress
from . import test_billing_errors
from . import test_billing_milestone
from . import test_billing_rules

from . import test_budget
from . import test_cost_codes
from . import test_security
from . import test_budget_ui

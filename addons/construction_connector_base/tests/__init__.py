from . import test_budget
from . import test_budget_ui
from . import test_cost_codes
from . import test_security
from . import test_integration_processing
from . import test_integration_api
from . import test_integration_concurrency

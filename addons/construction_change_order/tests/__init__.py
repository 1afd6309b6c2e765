from . import test_change_order_lifecycle
from . import test_change_order_approval
from . import test_change_order_tiers
from . import test_change_order_preview
from . import test_change_order_security
from . import test_change_order_views
from . import test_change_order_integration
from . import test_change_order_concurrency

from . import test_change_order_lifecycle

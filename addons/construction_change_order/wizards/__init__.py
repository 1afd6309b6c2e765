from . import change_order_decision

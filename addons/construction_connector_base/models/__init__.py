from . import account_analytic_plan
from . import account_analytic_account
from . import construction_budget
from . import construction_budget_modification
from . import account_analytic_line
from . import project_project

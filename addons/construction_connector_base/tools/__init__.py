from . import event_types
from . import exceptions
from . import signing
from . import openapi
from . import security

"""One place for Greeter's logger, tracer and metrics.

Every setting (service name, namespace, log level) comes from the POWERTOOLS_* variables that
template.yaml sets in Globals, so functions only import these three objects.
"""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
if os.environ.get("STACK_NAME"):
    # Stores share the Greeter namespace in one account: the stack dimension keeps each store's alarms its own.
    metrics.set_default_dimensions(stack=os.environ["STACK_NAME"])

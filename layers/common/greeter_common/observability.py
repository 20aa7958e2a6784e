"""One place for Greeter's logger, tracer and metrics.

Every setting (service name, namespace, log level) comes from the POWERTOOLS_* variables that
template.yaml sets in Globals, so functions only import these three objects.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

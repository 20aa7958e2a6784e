"""One place for Greeter's logger, tracer and metrics.

Every setting (service name, namespace, log level) comes from the POWERTOOLS_* variables that
template.yaml sets in Globals, so functions only import these three objects.
"""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer


class _PrivateTracer(Tracer):
    """Traces timings and AWS calls, never what a function returns or the text of its exceptions: those carry
    Rekognition's answers, face ids, names and notes (personal data), and X-Ray keeps them for 30 days. Powertools
    records both as trace metadata unless told not to; here that is the default for every decorator."""

    def capture_lambda_handler(self, lambda_handler=None, capture_response=False, capture_error=False):
        return super().capture_lambda_handler(lambda_handler, capture_response, capture_error)

    def capture_method(self, method=None, capture_response=False, capture_error=False):
        return super().capture_method(method, capture_response, capture_error)


logger = Logger()
tracer = _PrivateTracer()
metrics = Metrics()
if os.environ.get("STACK_NAME"):
    # Stores share the Greeter namespace in one account: the stack dimension keeps each store's alarms its own.
    metrics.set_default_dimensions(stack=os.environ["STACK_NAME"])

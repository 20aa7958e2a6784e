"""template.yaml stood up on moto: the code lives in local/stack.py, shared with the local runtime (make local)."""

from local.stack import (  # noqa: F401 - re-exported for the tests
    ACCOUNT,
    REGION,
    ROOT,
    TEMPLATE,
    Stack,
    create_state_machine_on_moto,
    import_function,
    load_template,
)

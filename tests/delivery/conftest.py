from fencun.sandbox.fixtures import make_sandbox, sandbox, sandbox_client  # noqa: F401
from fencun.sandbox.wecom_fixtures import make_wecom_sandbox  # noqa: F401

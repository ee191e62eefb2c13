from fencun.sandbox.fixtures import make_sandbox, sandbox, sandbox_client  # noqa: F401

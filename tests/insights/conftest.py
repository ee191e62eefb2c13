from fencun.sandbox.fixtures import make_sandbox  # noqa: F401

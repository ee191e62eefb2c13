"""A pytest plugin (``-p fencun.testing.environment``) that isolates a test run.

It is imported before Django is configured, so the settings module sees a private data
directory instead of the user's real one.
"""

import os
import tempfile

if not os.environ.get("FENCUN_TEST_KEEP_ENV"):
    os.environ["FENCUN_DATA_DIR"] = tempfile.mkdtemp(prefix="fencun-test-")
    for _name in ("WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TOKEN", "WECHAT_AES_KEY"):
        os.environ.pop(_name, None)

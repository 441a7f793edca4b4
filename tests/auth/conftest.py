"""``lifeline users …`` in a real subprocess against a data directory of the test module's own."""

import os
import subprocess
import sys

import pytest


def run(args, data_dir, stdin=""):
    env = {
        **os.environ,
        "LIFELINE_DATA_DIR": str(data_dir),
        "LIFELINE_DATABASE_URL": "",
        "LIFELINE_ENVIRONMENT": "development",
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")

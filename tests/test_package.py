"""What importing the package does to the process: OpenBLAS gets one thread unless the user chose."""
import os
import subprocess
import sys

import pytest

from analysis.data.paths import PROJECT_ROOT


@pytest.mark.parametrize("chosen, expected", [(None, "1"), ("3", "3")])
def test_one_blas_thread_unless_the_user_chose(chosen, expected):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if chosen is not None:
        env["OPENBLAS_NUM_THREADS"] = chosen
    code = "import analysis, os, numpy; print(os.environ['OPENBLAS_NUM_THREADS'])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            cwd=PROJECT_ROOT, check=True, timeout=60)
    assert result.stdout.split() == [expected]

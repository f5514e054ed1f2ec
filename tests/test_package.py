"""What importing the package does to the process: OpenBLAS gets one thread unless the user chose; glibc
keeps freed memory for the next arrays."""
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


_FAULTS = """
import resource, sys
if sys.argv[1] == "analysis":
    import analysis
import numpy as np
faults = []
for _ in range(6):  # three 10 MB arrays made and dropped, again and again, as the estimators do at 10^6
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(1_250_000) for _ in range(3)]
    del arrays
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[2:]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_arrays_are_reused_not_faulted_in_again():
    """Page faults (first touches of memory from the system) after the first rounds: the package keeps
    freed memory, so repeated arrays of the same size cost none; without it every round faults again."""
    try:
        os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        pytest.skip("not glibc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def faults(*argv, **extra):
        result = subprocess.run([sys.executable, "-c", _FAULTS, *argv], capture_output=True, text=True,
                                env={**env, **extra}, cwd=PROJECT_ROOT, check=True, timeout=60)
        return int(result.stdout)

    alone = faults("numpy")
    assert alone > 1000  # (the test can tell: without the package, each round faults its arrays in)
    assert faults("analysis") < alone / 20
    assert faults("analysis", MALLOC_TRIM_THRESHOLD_="131072") > alone / 5  # the user's own setting kept

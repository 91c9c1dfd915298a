#!/usr/bin/python3
"""Runs the recorder's tests (unittest discovery in this folder) for CTest's PythonRecorder.

Exit status: 0 passed, 1 a test failed, 77 skipped: the interpreter has no torch, or
ATTNSCOPE_BIN (the built attnscope binary) is not set. CTest reports 77 as skipped.
"""
import os
import sys
import unittest

SKIPPED = 77


def main():
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"PythonRecorder skipped: {sys.executable} cannot import torch (Debian: apt-get install python3-torch)")
        return SKIPPED
    if not os.environ.get("ATTNSCOPE_BIN"):
        print("PythonRecorder skipped: ATTNSCOPE_BIN is not set (the path of the built attnscope binary)")
        return SKIPPED
    here = os.path.dirname(os.path.abspath(__file__))
    suite = unittest.defaultTestLoader.discover(here, top_level_dir=here)
    return 0 if unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

"""`python -m student_sync` is the same as the `student-sync` console script."""

from student_sync.cli import main

if __name__ == "__main__":  # worker processes started by "spawn" import this module too
    raise SystemExit(main())

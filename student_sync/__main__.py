"""`python -m student_sync` is the same as the `student-sync` console script."""

from student_sync.cli import main

raise SystemExit(main())

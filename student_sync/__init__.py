"""student_sync: keep a Django SIS in step with the legacy student table."""

__version__ = "0.1.0"

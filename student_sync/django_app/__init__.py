"""student_sync inside a Django project: add ``"student_sync.django_app"`` to INSTALLED_APPS.

It brings ``python manage.py migrate_students_idempotent`` (the guide's command, run by the
same engine as ``student-sync migrate``) and system checks (``python manage.py check``) that
say what the sync needs and does not find in the project's database. Install it with the
``django`` extra: ``pip install "student-sync[django]"``.
"""

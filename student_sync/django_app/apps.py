"""The app's configuration: label ``student_sync``; its checks register when Django is ready."""

from django.apps import AppConfig


class StudentSyncConfig(AppConfig):
    name = "student_sync.django_app"
    label = "student_sync"
    verbose_name = "student_sync (legacy student table sync)"

    def ready(self) -> None:
        from student_sync.django_app import checks  # noqa: F401 - registers the checks

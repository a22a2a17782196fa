"""`manage.py qcluster` as the crash-recovery tests run it (tests/hardening/test_crash_recovery.py).

The same management command and settings, with two test seams set before it starts
(the cluster forks its workers from this process, so they inherit both):

- E-mail goes to Django's file backend, one file per connection named after the
  process, in KONTOR_CRASH_MAIL_DIR: the test process counts what every worker sent,
  also what a worker sent just before it was killed.
- Invoice PDFs are not rendered after a billing chunk (`billing.tasks.render_pdfs`, as
  tests/billing/test_runs_concurrency.py does in process): 2,000 PDFs at ~50 ms each
  would take the test's whole time budget, and rendering is idempotent and tested on
  its own (the portal renders a missing PDF on first download).

Run: `python -m tests.hardening.crash_cluster` with DJANGO_SETTINGS_MODULE and
DATABASE_URL in the environment.
"""

from __future__ import annotations

import os
import uuid

from django.core.mail.backends import filebased


class PerProcessFileBackend(filebased.EmailBackend):
    """Django's file backend with a file name no other process can pick: the stock name
    (time to the second + the backend's id()) repeats across forked workers, whose
    heaps start out identical."""

    def _get_filename(self) -> str:
        if self._fname is None:
            name = f"{os.getpid()}-{uuid.uuid4().hex}.log"
            self._fname = os.path.join(self.file_path, name)
        return self._fname


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.EMAIL_BACKEND = f"{__name__}.PerProcessFileBackend"
    settings.EMAIL_FILE_PATH = os.environ["KONTOR_CRASH_MAIL_DIR"]
    import billing.tasks

    billing.tasks.render_pdfs = lambda invoice_ids: None
    call_command("qcluster")


if __name__ == "__main__":
    main()

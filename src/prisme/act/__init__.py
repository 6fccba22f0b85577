"""Act and comply: knowledge handed to the people and systems that act on it, and the
personal data handled as the law requires.

* :mod:`~prisme.act.targets` — target lists with a control group (``prisme export``) and
  their lift once the campaign has run;
* :mod:`~prisme.act.writeback` — scores and offers upserted into the operational CRM
  (``prisme writeback``);
* :mod:`~prisme.act.report` — the management report, HTML or PDF (``prisme report``);
* :mod:`~prisme.act.erase` and :mod:`~prisme.act.subject_access` — GDPR erasure and the
  right of access (``prisme erase``, ``prisme subject-access``).

Every export, write-back, report, erasure and subject access is recorded in the audit log
(:mod:`prisme.access.audit`).
"""

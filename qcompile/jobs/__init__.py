"""Durable hardware jobs: every submission is recorded before it is sent, every result is
stored exactly once (``store``); submitting and fetching drive a job through
``recorded → submitted → done`` so a crash at any point can be resumed (``submit``)."""

from .store import JobRecord, JobStore, Owner, default_store_path
from .submit import fetch_command, fetch_job, submit_job

__all__ = ["JobRecord", "JobStore", "Owner", "default_store_path", "fetch_command",
           "fetch_job", "submit_job"]

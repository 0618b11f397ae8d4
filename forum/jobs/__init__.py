"""Background jobs: work a write hands on, durably.

A write puts its follow-up work (embedding a story, telling a story's followers, the care check's report to
the moderators) in the jobs table inside its own transaction (forum.jobs.queue.enqueue), so a committed write
always has its jobs waiting and a rolled-back one has none. Workers (`flask --app wsgi jobs work --forever`,
forum.jobs.worker) claim due jobs with a lease (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL, an atomic
conditional UPDATE on SQLite), run them, and retry failures with backoff; a job that keeps failing is kept
as "failed" for an admin to see and retry. With JOBS_INLINE (the tests) a transaction's jobs run right after
its commit, through the same claim-and-run code.
"""

"""Fault injection, run by CI like every other test (``pytest tests/faults`` alone).

What an operator meets: processes killed with SIGKILL at random points of an insert, writers
on several hosts sharing one project (their own homes; one PostgreSQL catalog, offline root
and Redis), and a Redis of the test's own (on a free port, never the shared service) that is
killed, restarted empty or stalled while pipelines write and servers read. Each test checks
the stores against what the writers reported, never only that nothing raised.
"""

"""What instances of a function share through Redis (``REDIS_URL``), when it is set.

``store`` wraps the Redis client and never raises; ``codec`` turns rows into bytes and
back; ``pieces`` splits a time range into bucket-aligned pieces; ``coalesce`` lets one
of several identical requests do the work; ``gcra`` is the account-wide rate limit.
Without ``REDIS_URL`` none of this loads, and every instance works on its own.
"""

"""The Cloud Monitor source: server and application metrics from Tencent Cloud Monitor.

Only ``source.CloudMonitorSource`` is used from outside; it is imported by the
registry when a catalog says ``source: cloudmonitor``, so the business function
never loads the Tencent Cloud SDK. See docs/cloudmonitor.md.
"""

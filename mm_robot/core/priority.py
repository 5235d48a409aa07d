"""Process scheduling priority: the node that owns cmd_vel should not wait behind others for a core.

On a small, busy CPU a stop can sit unread while other processes run (hostile publishers
included). ros2_control raises its control thread's priority for the same reason. Here the
whole process, every thread of it (the middleware's receive threads too), gets a nice value.
"""

from __future__ import annotations

import os
from typing import Optional


def set_niceness(nice: int) -> Optional[str]:
    """Give every thread of this process the nice value ``nice`` (-20 highest .. 19 lowest).

    Returns None on success, else why it was refused (raising priority needs CAP_SYS_NICE, or
    root; ``ulimit -e`` / ``limits.conf`` can allow it for a user). Linux only; elsewhere a no-op.
    """
    tasks = f"/proc/{os.getpid()}/task"
    if not os.path.isdir(tasks):
        return "not supported on this platform"
    try:
        for tid in os.listdir(tasks):
            os.setpriority(os.PRIO_PROCESS, int(tid), nice)
    except PermissionError:
        return f"not permitted to set nice {nice} (needs CAP_SYS_NICE or a raised RLIMIT_NICE)"
    except ProcessLookupError:  # a thread ended meanwhile
        pass
    return None

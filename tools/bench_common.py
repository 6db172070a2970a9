"""What tools/bench and tools/bench_scaling share: the load a run met.

A run's others_busy is the CPU time other processes used per wall second of
the run (from /proc/stat, less the run's own rusage); above BUSY_LIMIT cores
the run is "under load".
"""
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUSY_LIMIT = 0.25  # cores used by other processes above which a run is "under load"


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def busy_seconds():
    """CPU seconds every process of the machine has used (from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(cmd, log):
    """Runs cmd (stdout and stderr to log); returns wall seconds and the
    cores other processes kept busy meanwhile."""
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, t0 = busy_seconds(), time.perf_counter()
    with open(log, "w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT).returncode
    wall = time.perf_counter() - t0
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (own1.ru_utime - own0.ru_utime) + (own1.ru_stime - own0.ru_stime)
    if rc != 0:
        sys.stdout.write(open(log).read()[-3000:])
        sys.exit(f"{os.path.basename(sys.argv[0])}: {' '.join(cmd[:3])} ... failed with exit code {rc} (log above)")
    return wall, max(0.0, (busy_seconds() - busy0 - own) / wall)

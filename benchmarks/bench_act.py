"""AcT latency table (size x threads x batch) vs a matmul peak measured in the same run.

.venv/bin/python benchmarks/bench_act.py [act-ros bench options]
"""

import sys

from act_ros.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
